// The Paho edge: see mqtt_client.hpp for the threading contract and DELIVERY.md
// for why a Paho thread waits for the io thread's `ack` before returning.
#include "transports/mqtt/mqtt_client.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mqtt/async_client.h>
#include "common/log.hpp"

namespace sb::transport::mqtt {

namespace asio = boost::asio;

namespace {

// One inbound QoS>0 message waiting on a Paho thread for the io thread's ack.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  void release() {
    { std::lock_guard lk(m); open = true; }
    cv.notify_all();
  }
  bool wait_for(std::chrono::milliseconds d) {
    std::unique_lock lk(m);
    return cv.wait_for(lk, d, [this] { return open; });
  }
};

std::shared_ptr<spdlog::logger> logger() { return sb::log::get("mqtt"); }

}  // namespace

struct MqttClient::Shared {
  asio::any_io_executor ex;
  Handlers handlers;             // io thread only
  MqttClient* owner = nullptr;   // io thread only; null once the client is gone
  std::atomic<bool> connected{false};
  std::chrono::milliseconds ack_timeout{10000};
  std::string client_id;
  std::mutex m;                  // guards closed and gates (Paho threads + io thread)
  bool closed = false;
  std::vector<std::shared_ptr<Gate>> gates;
};

namespace {

// Completion of one Paho operation, handed to the io thread. Paho keeps only a
// reference to the listener, so it owns itself and is deleted after the one call
// Paho makes (on_success or on_failure).
class OneShot final : public ::mqtt::iaction_listener {
 public:
  using Fn = std::function<void(bool, std::string)>;
  OneShot(std::shared_ptr<MqttClient::Shared> s, Fn fn) : s_(std::move(s)), fn_(std::move(fn)) {}
  void on_success(const ::mqtt::token&) override { finish(true, {}); }
  void fail(std::string why) { finish(false, std::move(why)); }  // the call itself threw
  void on_failure(const ::mqtt::token& t) override {
    std::string why = ::mqtt::exception::error_str(t.get_return_code());
    if (t.get_reason_code() >= 0x80) why += " (reason " + std::to_string(int(t.get_reason_code())) + ")";
    finish(false, std::move(why));
  }

 private:
  void finish(bool ok, std::string why) {
    asio::post(s_->ex, [s = s_, fn = std::move(fn_), ok, why = std::move(why)]() mutable {
      if (s->owner && fn) fn(ok, std::move(why));
    });
    delete this;  // last statement: Paho does not touch the listener after calling it
  }
  std::shared_ptr<MqttClient::Shared> s_;
  Fn fn_;
};

// The connect token's listener: Paho C++ 1.2 calls it again on every automatic
// reconnect (async_client::on_connected), so it lives as long as the client.
class ConnectListener final : public ::mqtt::iaction_listener {
 public:
  using Fn = std::function<void(std::string)>;
  ConnectListener(std::shared_ptr<MqttClient::Shared> s, Fn on_fail) : s_(std::move(s)), fn_(std::move(on_fail)) {}
  void on_success(const ::mqtt::token&) override {}  // the connected handler reports it
  void on_failure(const ::mqtt::token& t) override { fail(::mqtt::exception::error_str(t.get_return_code())); }
  void fail(std::string why) {
    asio::post(s_->ex, [s = s_, fn = fn_, why = std::move(why)]() mutable {
      if (s->owner) fn(std::move(why));
    });
  }

 private:
  std::shared_ptr<MqttClient::Shared> s_;
  Fn fn_;
};

// Runs on a Paho thread. Copies the message, posts it, and for QoS > 0 waits for
// the io thread's ack: Paho C sends the PUBACK only after this returns.
void on_paho_message(const std::shared_ptr<MqttClient::Shared>& s, ::mqtt::const_message_ptr msg) {
  if (!msg) return;
  std::string topic = msg->get_topic();
  std::string payload = msg->get_payload_str();
  const int qos = msg->get_qos();
  const bool retained = msg->is_retained();
  std::shared_ptr<Gate> gate;
  if (qos > 0) {
    std::lock_guard lk(s->m);
    if (s->closed) {
      logger()->warn("{}: message on {} arrived while closing; acknowledged without being stored",
                     s->client_id, topic);
      return;
    }
    gate = std::make_shared<Gate>();
    s->gates.push_back(gate);
  }
  asio::post(s->ex, [s, gate, topic, payload = std::move(payload), qos, retained]() mutable {
    MqttClient::Ack ack = [gate] { if (gate) gate->release(); };
    if (!s->owner || !s->handlers.on_message) return ack();
    s->handlers.on_message(std::move(topic), std::move(payload), qos, retained, std::move(ack));
  });
  if (!gate) return;
  if (!gate->wait_for(s->ack_timeout))
    logger()->error("{}: message on {} not stored within {} ms; the broker gets its PUBACK anyway",
                    s->client_id, topic, s->ack_timeout.count());
  std::lock_guard lk(s->m);
  s->gates.erase(std::remove(s->gates.begin(), s->gates.end(), gate), s->gates.end());
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
    props.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL,
                               int32_t(std::max(1, o.session_expiry_s))));
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
  shared_->ack_timeout = opts_.ack_timeout;
  shared_->client_id = opts_.client_id;
}

MqttClient::~MqttClient() {
  {
    std::lock_guard lk(shared_->m);
    shared_->closed = true;
    for (auto& g : shared_->gates) g->release();  // else Paho's destroy waits on them
    shared_->gates.clear();
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
    // No Paho persistence: outbound commands are held durably by the transport, and
    // inbound messages are acked only once stored (DELIVERY.md).
    cli_ = std::make_unique<::mqtt::async_client>(opts_.broker, opts_.client_id, co, nullptr);
  } catch (const std::exception& e) {
    logger()->error("{}: cannot create MQTT client for {}: {}", opts_.client_id, opts_.broker, e.what());
    asio::post(ex_, [s, why = std::string(e.what())] {
      if (s->owner && s->handlers.on_disconnected) s->handlers.on_disconnected(why);
    });
    return;
  }
  worker_ = std::make_unique<asio::thread_pool>(1);
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
  if (shared_->handlers.on_disconnected) shared_->handlers.on_disconnected(std::move(why));
}

void MqttClient::on_connect_failed_io(std::string why) {
  if (stopped_ || shared_->connected) return;
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
  send_subscriptions();
  if (shared_->handlers.on_connected) shared_->handlers.on_connected();
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
    auto* listener = new OneShot(shared_, [id = opts_.client_id, filter = filter](bool ok, std::string why) {
      if (!ok) logger()->error("{}: subscribe to {} failed: {}", id, filter, why);
    });
    asio::post(*worker_, [cli, listener, filter = filter, qos = qos] {
      try {
        cli->subscribe(filter, qos, nullptr, *listener);
      } catch (const ::mqtt::exception& e) {
        listener->fail(e.what());
      }
    });
  }
}

void MqttClient::publish(std::string topic, std::string payload, int qos, bool retain, Done done) {
  if (!cli_ || stopped_ || !shared_->connected) {
    asio::post(ex_, [s = shared_, done = std::move(done)] {
      if (s->owner && done) done(false, "not connected to the broker");
    });
    return;
  }
  auto msg = ::mqtt::make_message(std::move(topic), std::move(payload), qos, retain);
  auto* listener = new OneShot(shared_, std::move(done));
  asio::post(*worker_, [cli = cli_.get(), listener, msg = std::move(msg)] {
    try {
      cli->publish(msg, nullptr, *listener);
    } catch (const ::mqtt::exception& e) {
      // e.g. MQTTASYNC_DISCONNECTED: the link dropped since publish() was called
      listener->fail(e.what());
    }
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
  if (!cli_) {
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  // A DISCONNECT keeps the session: clean session/start stay 0 and, on MQTT 5, the
  // session expiry interval from CONNECT applies.
  auto* listener = new OneShot(shared_, [s = shared_, done = std::move(done)](bool, std::string) {
    s->connected = false;
    if (done) done();
  });
  asio::post(*worker_, [cli = cli_.get(), listener] {
    try {
      cli->disconnect(1000, nullptr, *listener);
    } catch (const ::mqtt::exception& e) {
      listener->fail(e.what());  // e.g. not connected: nothing to close
    }
  });
}

}  // namespace sb::transport::mqtt
