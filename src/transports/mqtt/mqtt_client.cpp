// The Paho edge: see mqtt_client.hpp for the threading contract and DELIVERY.md
// for why a Paho thread stores an inbound QoS 1 publish before returning.
#include "transports/mqtt/mqtt_client.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <pthread.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mqtt/async_client.h>
#include "common/log.hpp"

namespace sb::transport::mqtt {

namespace asio = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> logger() { return sb::log::get("mqtt"); }

}  // namespace

struct MqttClient::Shared {
  asio::any_io_executor ex;
  Handlers handlers;             // set before start, then read-only (persist: Paho threads)
  MqttClient* owner = nullptr;   // io thread only; null once the client is gone
  std::atomic<bool> connected{false};
  std::atomic<int> receive_maximum{0};  // the broker's MQTT 5 Receive Maximum; 0 = none said
  std::string client_id;
  // Held by a Paho thread around persist, and by the destructor to set `closed`:
  // once the MqttClient is gone, persist (which may reach the transport) is not
  // called again.
  std::mutex m;
  bool closed = false;

  // Hand-offs between threads, batched (issue 3: a wake-up of the io thread or the
  // worker per message cost more than the message itself): the producer appends
  // under `q`, and posts one drain only when none is pending; the drain takes
  // everything queued by then. Order is kept within each queue.
  struct Inbound {
    std::string topic, payload;
    int qos;
    bool retained;
    std::int64_t stored;
  };
  struct Completion {
    std::function<void(bool, int, int, std::string)> fn;
    bool ok;
    int rc, reason;
    std::string why;
  };
  struct Outbound {
    ::mqtt::message_ptr msg;
    ::mqtt::iaction_listener* listener;  // a OneShot, deleted after its call
  };
  std::mutex q;
  std::vector<Inbound> inbound;           // Paho threads -> io thread
  std::vector<Completion> completions;    // Paho threads -> io thread
  bool io_drain_posted = false;
  std::vector<Outbound> outbound;         // io thread -> worker (Paho publish calls)
  bool worker_drain_posted = false;
  ::mqtt::async_client* cli = nullptr;    // for the worker's drain; set before any publish
};

namespace {

void drain_to_io(const std::shared_ptr<MqttClient::Shared>& s) {
  std::vector<MqttClient::Shared::Inbound> in;
  std::vector<MqttClient::Shared::Completion> done;
  {
    std::lock_guard lk(s->q);
    in.swap(s->inbound);
    done.swap(s->completions);
    s->io_drain_posted = false;
  }
  for (auto& c : done)
    if (s->owner && c.fn) c.fn(c.ok, c.rc, c.reason, std::move(c.why));
  for (auto& m : in)
    if (s->owner && s->handlers.on_message)
      s->handlers.on_message(std::move(m.topic), std::move(m.payload), m.qos, m.retained, m.stored);
}

// Any thread: `add` appends to a queue under s->q; one drain per batch.
template <class Add>
void hand_to_io(const std::shared_ptr<MqttClient::Shared>& s, Add&& add) {
  bool post;
  {
    std::lock_guard lk(s->q);
    add(*s);
    post = !std::exchange(s->io_drain_posted, true);
  }
  if (post) asio::post(s->ex, [s] { drain_to_io(s); });
}

// Paho C's return code and the MQTT 5 reason code of a failed operation, in words.
// Paho C++ reports 255 as the reason code of every MQTT 3.1.1 failure.
std::string failure_text(int rc, int reason) {
  if (reason >= 0x80 && reason < 0xFF) {
    std::string what = reason_code_text(reason);
    return std::string("refused by the broker: ")
        .append(what.empty() ? "error" : what)
        .append(" (MQTT reason code ")
        .append(std::to_string(reason))
        .append(")");
  }
  return ::mqtt::exception::error_str(rc);
}

// Completion of one Paho operation, handed to the io thread. Paho keeps only a
// reference to the listener, so it owns itself and is deleted after the one call
// Paho makes (on_success or on_failure).
class OneShot final : public ::mqtt::iaction_listener {
 public:
  // ok, Paho C return code, MQTT 5 reason code, the failure in words
  using Fn = std::function<void(bool, int, int, std::string)>;
  OneShot(std::shared_ptr<MqttClient::Shared> s, Fn fn) : s_(std::move(s)), fn_(std::move(fn)) {}
  void on_success(const ::mqtt::token&) override { finish(true, 0, 0, {}); }
  // The call itself threw (e.g. MQTTASYNC_DISCONNECTED).
  void fail(const ::mqtt::exception& e) {
    const int reason = e.get_reason_code() >= 0x80 ? e.get_reason_code() : 0;
    finish(false, e.get_return_code(), reason, failure_text(e.get_return_code(), reason));
  }
  void on_failure(const ::mqtt::token& t) override {
    const int rc = t.get_return_code(), reason = int(t.get_reason_code());
    finish(false, rc, reason, failure_text(rc, reason));
  }

 private:
  void finish(bool ok, int rc, int reason, std::string why) {
    hand_to_io(s_, [&](MqttClient::Shared& sh) {
      sh.completions.push_back({std::move(fn_), ok, rc, reason, std::move(why)});
    });
    delete this;  // last statement: Paho does not touch the listener after calling it
  }
  std::shared_ptr<MqttClient::Shared> s_;
  Fn fn_;
};

// Why a connect failed, in words: the broker's CONNACK refusal (MQTT 3.1.1
// §3.2.2.3 return codes 1–5, which Paho passes on as the token's return code;
// MQTT 5 §3.2.2.2 reason codes), else Paho's own error text.
std::string connect_failure_text(const ::mqtt::token& t) {
  switch (t.get_return_code()) {
    case 1: return "the broker refused the protocol version";
    case 2: return "the broker rejected the client id";
    case 3: return "the broker is unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorized";
    default: break;
  }
  switch (static_cast<int>(t.get_reason_code())) {
    case 0x84: return "the broker refused the protocol version";
    case 0x85: return "the broker rejected the client id";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "the broker is unavailable";
    case 0x8A: return "banned by the broker";
    default: break;
  }
  std::string why = ::mqtt::exception::error_str(t.get_return_code());
  if (t.get_reason_code() >= 0x80) why += " (reason " + std::to_string(int(t.get_reason_code())) + ")";
  return why;
}

// The connect token's listener: Paho C++ 1.2 calls it again on every automatic
// reconnect (async_client::on_connected), so it lives as long as the client.
class ConnectListener final : public ::mqtt::iaction_listener {
 public:
  using Fn = std::function<void(std::string)>;
  ConnectListener(std::shared_ptr<MqttClient::Shared> s, Fn on_fail) : s_(std::move(s)), fn_(std::move(on_fail)) {}
  // The connected handler reports the connect; this only keeps the broker's MQTT 5
  // Receive Maximum (§3.2.2.3.3), which bounds MqttClient's publish window. Paho C
  // calls it before the connected handler. The token is complete here, so
  // get_connect_response() does not wait.
  void on_success(const ::mqtt::token& t) override {
    try {
      const auto rsp = t.get_connect_response();
      const auto& props = rsp.get_properties();
      if (props.contains(::mqtt::property::RECEIVE_MAXIMUM))
        s_->receive_maximum = int(::mqtt::get<uint16_t>(props, ::mqtt::property::RECEIVE_MAXIMUM));
    } catch (const std::exception&) {
      // no response kept (e.g. an automatic reconnect): the last value stands
    }
  }
  void on_failure(const ::mqtt::token& t) override { fail(connect_failure_text(t)); }
  void fail(std::string why) {
    asio::post(s_->ex, [s = s_, fn = fn_, why = std::move(why)]() mutable {
      if (s->owner) fn(std::move(why));
    });
  }

 private:
  std::shared_ptr<MqttClient::Shared> s_;
  Fn fn_;
};

// Runs on a Paho thread. Copies the message, stores a QoS > 0 one (persist), posts
// it to the io thread and returns: Paho C sends the PUBACK only after this returns,
// so the PUBACK never precedes the durable copy (DELIVERY.md).
void on_paho_message(const std::shared_ptr<MqttClient::Shared>& s, ::mqtt::const_message_ptr msg) {
  if (!msg) return;
  std::string topic = msg->get_topic();
  std::string payload = msg->get_payload_str();
  const int qos = msg->get_qos();
  const bool retained = msg->is_retained();
  std::int64_t stored = 0;
  if (qos > 0) {
    std::lock_guard lk(s->m);
    if (s->closed) {
      logger()->warn("{}: message on {} arrived while closing; acknowledged without being stored",
                     s->client_id, topic);
      return;
    }
    if (s->handlers.persist) stored = s->handlers.persist(topic, payload);
  }
  hand_to_io(s, [&](MqttClient::Shared& sh) {
    sh.inbound.push_back({std::move(topic), std::move(payload), qos, retained, stored});
  });
}

::mqtt::connect_options make_connect_options(const ClientOptions& o) {
  ::mqtt::connect_options co;
  // SPEC §6: persistent session. MQTT 3.1.1 §3.1.2.4 clean session = 0; MQTT 5
  // §3.1.2.4 clean start = 0 plus §3.1.2.11.2 session expiry interval > 0 (0 would
  // end the session at disconnect). Paho C rejects cleansession=1 with v5.
  co.set_mqtt_version(o.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
  co.set_clean_session(false);
  co.set_clean_start(false);
  if (o.protocol == 5) {
    ::mqtt::properties props;
    // Paho C++ takes an int32_t and stores its bits in the unsigned integer4: the
    // C++20 conversion is modular, so 4294967295 ("never expires") goes out as is.
    const std::uint32_t expiry = std::max<std::uint32_t>(1, o.session_expiry_s);
    props.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<std::int32_t>(expiry)));
    co.set_properties(props);
  }
  co.set_keep_alive_interval(o.keepalive_s);
  co.set_connect_timeout(o.connect_timeout_s);
  co.set_automatic_reconnect(o.min_retry_s, o.max_retry_s);
  if (!o.username.empty()) co.set_user_name(o.username);
  if (!o.password.empty()) co.set_password(o.password);
  const bool tls = o.broker.rfind("ssl://", 0) == 0 || o.broker.rfind("mqtts://", 0) == 0;
  if (tls || !o.ca_file.empty() || !o.cert_file.empty()) {
    ::mqtt::ssl_options ssl;
    if (!o.ca_file.empty()) ssl.set_trust_store(o.ca_file);
    if (!o.cert_file.empty()) ssl.set_key_store(o.cert_file);
    if (!o.key_file.empty()) ssl.set_private_key(o.key_file);
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(true);  // host name check too
    co.set_ssl(ssl);
  }
  return co;
}

}  // namespace

std::string normalize_broker_uri(const std::string& uri) {
  if (uri.rfind("mqtt://", 0) == 0) return "tcp://" + uri.substr(7);
  if (uri.rfind("mqtts://", 0) == 0) return "ssl://" + uri.substr(8);
  return uri;
}

MqttClient::MqttClient(asio::any_io_executor ex, ClientOptions opts, Handlers handlers)
    : ex_(ex), opts_(std::move(opts)), shared_(std::make_shared<Shared>()) {
  opts_.broker = normalize_broker_uri(opts_.broker);
  shared_->ex = ex_;
  shared_->handlers = std::move(handlers);
  shared_->owner = this;
  shared_->client_id = opts_.client_id;
}

MqttClient::~MqttClient() {
  {
    std::lock_guard lk(shared_->m);  // waits for a persist in progress
    shared_->closed = true;
  }
  shared_->owner = nullptr;
  if (retry_timer_) retry_timer_->cancel();
  if (worker_) worker_->join();  // queued Paho calls finish before the client goes
  cli_.reset();                  // MQTTAsync_destroy
}

void MqttClient::start() {
  if (started_ || stopped_) return;
  started_ = true;
  auto s = shared_;
  try {
    ::mqtt::create_options co(opts_.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // Paho refuses a publish once this many wait in its command queue, connected or
    // not (MQTTASYNC_MAX_BUFFERED_MESSAGES); the window keeps fewer there (DELIVERY.md).
    // Offline buffering stays off: publishing while disconnected fails at once.
    static_assert(kPahoMaxBuffered > int(kPahoWindow));
    co.set_max_buffered_messages(kPahoMaxBuffered);
    // No Paho persistence: outbound commands are held durably by the transport, and
    // inbound messages are stored (persist) before their PUBACK (DELIVERY.md).
    cli_ = std::make_unique<::mqtt::async_client>(opts_.broker, opts_.client_id, co, nullptr);
  } catch (const std::exception& e) {
    logger()->error("{}: cannot create MQTT client for {}: {}", opts_.client_id, opts_.broker, e.what());
    asio::post(ex_, [s, why = std::string(e.what())] {
      if (s->owner && s->handlers.on_disconnected) s->handlers.on_disconnected(why);
    });
    return;
  }
  worker_ = std::make_unique<asio::thread_pool>(1);
  // Named, so per-thread CPU (bench_mqtt.py, top -H) tells it from the io thread.
  asio::post(*worker_, [] { pthread_setname_np(pthread_self(), "mqtt-worker"); });
  s->cli = cli_.get();
  cli_->set_connected_handler([s](const std::string&) {
    s->connected = true;
    asio::post(s->ex, [s] { if (s->owner) s->owner->on_connected_io(); });
  });
  cli_->set_connection_lost_handler([s](const std::string& cause) {
    s->connected = false;
    asio::post(s->ex, [s, why = cause.empty() ? std::string("connection lost") : cause] {
      if (s->owner) s->owner->on_link_down_io(why);
    });
  });
  cli_->set_disconnected_handler([s](const ::mqtt::properties&, ::mqtt::ReasonCode rc) {
    // MQTT 5 §3.14: the broker closed the connection with a reason code.
    s->connected = false;
    asio::post(s->ex, [s, rc] {
      if (s->owner) s->owner->on_link_down_io("disconnected by broker (reason " + std::to_string(int(rc)) + ")");
    });
  });
  cli_->set_message_callback([s](::mqtt::const_message_ptr msg) { on_paho_message(s, std::move(msg)); });
  connect_listener_ = std::make_unique<ConnectListener>(s, [this](std::string why) {
    on_connect_failed_io(std::move(why));
  });
  do_connect();
}

void MqttClient::do_connect() {
  if (stopped_ || !cli_) return;
  auto* cli = cli_.get();
  auto* listener = static_cast<ConnectListener*>(connect_listener_.get());
  asio::post(*worker_, [cli, listener, o = opts_] {
    try {
      // Built here and never moved: Paho C++ 1.2's connect_options keeps raw pointers
      // into itself (properties), which a move leaves dangling.
      const ::mqtt::connect_options co = make_connect_options(o);
      cli->connect(co, nullptr, *listener);
    } catch (const ::mqtt::exception& e) {
      listener->fail(e.what());
    }
  });
}

void MqttClient::on_link_down_io(std::string why) {
  // Reported once per outage: Paho may report one loss twice (MQTT 5 DISCONNECT and
  // connection lost) and every failed reconnect attempt.
  if (stopped_ || (!link_up_ && down_reported_)) return;
  link_up_ = false;
  down_reported_ = true;
  logger()->warn("{}: link to {} down: {}", opts_.client_id, opts_.broker, why);
  // Publishes not yet handed to Paho go back to their callers, who hold them; those
  // Paho has stay with it (the session resends them after the reconnect).
  fail_waiting("not connected to the broker (" + why + ")");
  if (shared_->handlers.on_disconnected) shared_->handlers.on_disconnected(std::move(why));
}

void MqttClient::on_connect_failed_io(std::string why) {
  if (stopped_ || shared_->connected) return;
  // Paho says only "Failure" when the TLS handshake fails (an unknown CA, a name
  // mismatch): say where to look.
  if (why.rfind("Failure", 0) == 0 && opts_.broker.rfind("ssl://", 0) == 0)
    why += " (TLS handshake: is the broker's certificate signed by ca_file and issued for its host name?)";
  on_link_down_io("cannot connect: " + why);
  // Paho's automatic reconnect covers connections that were up once; a first
  // connect that fails is ours to retry (same doubling backoff).
  if (ever_connected_) return;
  const int delay = std::min(opts_.max_retry_s, opts_.min_retry_s << std::min(connect_attempt_++, 6));
  if (!retry_timer_) retry_timer_ = std::make_unique<asio::steady_timer>(ex_);
  retry_timer_->expires_after(std::chrono::seconds(delay));
  retry_timer_->async_wait([s = shared_](const boost::system::error_code& ec) {
    if (!ec && s->owner && !s->connected) s->owner->do_connect();
  });
}

void MqttClient::on_connected_io() {
  if (stopped_) return;
  connect_attempt_ = 0;
  link_up_ = ever_connected_ = true;
  down_reported_ = false;
  logger()->info("{}: connected to {}", opts_.client_id, opts_.broker);
  if (const int rm = shared_->receive_maximum; rm > 0) {
    window_.set_limit(std::min<std::size_t>(kPahoWindow, std::size_t(rm)));
    logger()->debug("{}: the broker takes {} unacknowledged publishes; window {}", opts_.client_id, rm,
                    window_.limit());
  }
  send_subscriptions();
  if (shared_->handlers.on_connected) shared_->handlers.on_connected();
  pump_paho();
}

void MqttClient::subscribe(std::vector<std::pair<std::string, int>> filters) {
  for (auto& f : filters) {
    auto it = std::find_if(filters_.begin(), filters_.end(), [&](auto& e) { return e.first == f.first; });
    if (it != filters_.end()) it->second = f.second; else filters_.push_back(std::move(f));
  }
  if (shared_->connected) send_subscriptions();
}

void MqttClient::send_subscriptions() {
  if (filters_.empty() || !cli_) return;
  auto* cli = cli_.get();
  for (const auto& [filter, qos] : filters_) {
    auto* listener = new OneShot(shared_, [id = opts_.client_id, filter = filter](bool ok, int, int, std::string why) {
      if (!ok) logger()->error("{}: subscribe to {} failed: {}", id, filter, why);
    });
    asio::post(*worker_, [cli, listener, filter = filter, qos = qos] {
      try {
        cli->subscribe(filter, qos, nullptr, *listener);
      } catch (const ::mqtt::exception& e) {
        listener->fail(e);
      }
    });
  }
}

void MqttClient::publish(std::string topic, std::string payload, int qos, bool retain, Done done) {
  if (!cli_ || stopped_ || !shared_->connected) {
    asio::post(ex_, [s = shared_, done = std::move(done)] {
      if (s->owner && done) done(PublishStatus::NotConnected, "not connected to the broker");
    });
    return;
  }
  window_.push({std::move(topic), std::move(payload), qos, retain, std::move(done)});
  pump_paho();
}

// Hands Paho what the window allows, in order, through the worker.
void MqttClient::pump_paho() {
  if (!cli_ || stopped_ || !shared_->connected) return;
  auto ready = window_.take();
  if (ready.empty()) return;
  bool post;
  {
    std::lock_guard lk(shared_->q);
    for (auto& p : ready) {
      auto* listener = new OneShot(shared_, [s = shared_, done = std::move(p.done)](bool ok, int rc, int reason,
                                                                                 std::string why) {
        // The slot is free first: the next publishes go to Paho before the caller
        // hears of this one (and perhaps publishes more).
        if (s->owner) s->owner->on_publish_completed_io();
        if (done) done(ok ? PublishStatus::Ok : classify_publish_failure(rc, reason), std::move(why));
      });
      shared_->outbound.push_back(
          {::mqtt::make_message(std::move(p.topic), std::move(p.payload), p.qos, p.retain), listener});
    }
    post = !std::exchange(shared_->worker_drain_posted, true);
  }
  if (!post) return;
  // On the worker, in order: everything queued by the time it runs.
  asio::post(*worker_, [s = shared_] {
    std::vector<Shared::Outbound> batch;
    {
      std::lock_guard lk(s->q);
      batch.swap(s->outbound);
      s->worker_drain_posted = false;
    }
    for (auto& o : batch) {
      try {
        s->cli->publish(o.msg, nullptr, *o.listener);
      } catch (const ::mqtt::exception& e) {
        // e.g. MQTTASYNC_DISCONNECTED: the link dropped since publish() was called
        static_cast<OneShot*>(o.listener)->fail(e);
      }
    }
  });
}

void MqttClient::on_publish_completed_io() {
  window_.completed();
  pump_paho();
}

void MqttClient::fail_waiting(const std::string& why) {
  for (auto& p : window_.take_waiting())
    asio::post(ex_, [s = shared_, done = std::move(p.done), why] {
      if (s->owner && done) done(PublishStatus::NotConnected, why);
    });
}

bool MqttClient::connected() const { return shared_->connected; }

void MqttClient::stop(std::function<void()> done) {
  if (stopped_) {
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  stopped_ = true;
  if (retry_timer_) retry_timer_->cancel();
  fail_waiting("the MQTT client is stopping");
  if (!cli_) {
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  // A DISCONNECT keeps the session: clean session/start stay 0 and, on MQTT 5, the
  // session expiry interval from CONNECT applies.
  auto* listener = new OneShot(shared_, [s = shared_, done = std::move(done)](bool, int, int, std::string) {
    s->connected = false;
    if (done) done();
  });
  asio::post(*worker_, [cli = cli_.get(), listener] {
    try {
      cli->disconnect(1000, nullptr, *listener);
    } catch (const ::mqtt::exception& e) {
      listener->fail(e);  // e.g. not connected: nothing to close
    }
  });
}

}  // namespace sb::transport::mqtt
