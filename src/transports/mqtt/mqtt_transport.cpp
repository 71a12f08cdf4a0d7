#include "transports/mqtt/mqtt_transport.hpp"

#include <algorithm>
#include <cassert>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <boost/asio/steady_timer.hpp>
#include "common/log.hpp"
#include "transports/mqtt/mqtt_client.hpp"
#include "transports/mqtt/mqtt_config.hpp"
#include "transports/mqtt/outbox_record.hpp"
#include "transports/mqtt/publish_status.hpp"
#include "transports/mqtt/routes.hpp"

namespace sb::transport::mqtt {
namespace {

constexpr std::string_view kInbox = "inbox";
constexpr std::string_view kOutbox = "outbox";
constexpr std::string_view kAvail = "avail/";  // + device -> "1" | "0"
constexpr std::string_view kState = "state/";  // + device -> last state body
constexpr std::string_view kSeen = "seen/";    // + device -> a topic it published on

std::string key(std::string_view prefix, std::string_view device) {
  std::string k(prefix);
  k.append(device);
  return k;
}

// Inbox items: the topic, a NUL (never in a topic), the payload bytes.
std::string pack_inbound(std::string_view topic, std::string_view payload) {
  std::string s(topic);
  s.push_back('\0');
  s.append(payload);
  return s;
}

std::string boot_id() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

class MqttTransport final : public Transport {
 public:
  MqttTransport(Deps& deps, MqttConfig cfg)
      : executor_(deps.executor), clock_(deps.clock), store_(deps.store), domain_(deps.domain),
        cfg_(std::move(cfg)), routes_(cfg_.routes), flush_timer_(deps.executor), tick_timer_(deps.executor), retry_timer_(deps.executor),
        boot_(boot_id()), log_(log::get(deps.domain)) {
    // Inbound publishes are stored on Paho's thread (MqttClient::Handlers::persist).
    assert(store_.thread_safe());
  }

  std::string_view kind() const override { return "mqtt"; }
  std::string_view display_name() const override { return "MQTT gateway"; }
  const AddressCodec& addresses() const override { return codec_; }
  std::string registration_instructions() const override {
    return "Register to talk to the devices of this MQTT gateway. No fields are needed.";
  }

  std::vector<Item> items(std::string_view) const override {
    std::vector<Item> v;
    for (const auto& d : known_) {
      const Route* r = routes_.route_of(d);
      v.push_back(Item{d, r && !r->name.empty() ? r->name + " (" + routes_.original_id(d) + ")" : routes_.original_id(d)});
    }
    return v;
  }

  // SPEC §6 / issue 3: an ad-hoc command listing the devices with their last state.
  std::vector<CommandInfo> commands() const override {
    return {CommandInfo{"devices", "List devices with their last state"}};
  }
  std::optional<CommandReport> run_command(std::string_view node, std::string_view) const override {
    if (node != "devices") return std::nullopt;
    CommandReport r;
    r.title = "Devices on " + domain_;
    for (const auto& d : known_) {
      std::string value;
      if (auto a = avail_.find(d); a != avail_.end()) value = a->second ? "online" : "offline";
      if (auto last = last_state(d)) value += (value.empty() ? "" : ", ") + std::string("last state: ") + *last;
      if (value.empty()) value = "no state yet";
      r.lines.emplace_back(routes_.original_id(d), value);
    }
    r.note = std::to_string(known_.size()) + (known_.size() == 1 ? " device" : " devices");
    return r;
  }

  std::vector<std::pair<std::string, std::string>> stats() const override {
    return {{"devices", std::to_string(known_.size())},
            {"broker", client_ && client_->connected() ? "connected" : "unreachable"},
            {"inbox", std::to_string(store_.queue_size(domain_, kInbox))},
            {"held commands", std::to_string(held_.size())}};
  }

  void start(EventSink& sink) override {
    sink_ = &sink;
    load_state();
    load_outbox();
    ClientOptions o;
    o.broker = cfg_.broker.uri;
    o.client_id = cfg_.client_id;
    o.username = cfg_.username;
    o.password = cfg_.password;
    o.ca_file = cfg_.ca_file;
    o.cert_file = cfg_.cert_file;
    o.key_file = cfg_.key_file;
    o.protocol = cfg_.mqtt_version;
    o.keepalive_s = cfg_.keepalive_seconds;
    o.session_expiry_s = cfg_.session_expiry_seconds;  // uint32 end to end: 4294967295 is "never"
    MqttClient::Handlers h;
    h.on_connected = [this] { on_connected(); };
    h.on_disconnected = [this](std::string why) { on_disconnected(std::move(why)); };
    // On Paho's thread, before the PUBACK (DELIVERY.md): the store is thread-safe,
    // and domain_ is never written after construction.
    h.persist = [this](const std::string& topic, const std::string& payload) {
      const auto id = store_.enqueue_hot(domain_, kInbox, pack_inbound(topic, payload));
      if (id == 0) log_->error("could not store the publish on {}: delivering it without a durable copy", topic);
      return id;
    };
    h.on_message = [this](std::string topic, std::string payload, int qos, bool retained, std::int64_t stored) {
      on_message(std::move(topic), std::move(payload), qos, retained, stored);
    };
    client_ = std::make_unique<MqttClient>(executor_, o, std::move(h));
    std::vector<std::pair<std::string, int>> filters;
    for (auto& s : routes_.filters()) filters.emplace_back(s.filter, s.qos);
    client_->subscribe(std::move(filters));
    sink_->deliver(LinkState{false, "connecting to " + cfg_.broker.uri});
    // Before the client starts: from then on Paho's thread adds to the inbox, and
    // those items come through on_message, not through this replay.
    replay_inbox();
    client_->start();
    schedule_tick();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    flush_state();
    flush_timer_.cancel();
    tick_timer_.cancel();
    retry_timer_.cancel();
    if (client_) client_->stop();
  }

  // Proven delivered: removed from the inbox in the next batch (a crash before
  // then only means a replay, with the same XEP-0359 origin-id).
  void delivered(std::uint64_t token) override {
    inbox_done_.push_back(static_cast<std::int64_t>(token));
    schedule_flush();
  }

  void send(Command cmd) override {
    if (stopped_) return;
    if (auto* m = std::get_if<OutboundMessage>(&cmd)) return on_command(*m);
    if (auto* p = std::get_if<OutboundPresence>(&cmd)) return on_presence(*p);
  }

 private:
  // ---- MQTT -> XMPP -------------------------------------------------------

  // `stored`: the inbox id Paho's thread gave the publish before its PUBACK (0 for
  // QoS 0 or when it could not be stored).
  void on_message(std::string topic, std::string payload, int, bool retained, std::int64_t stored) {
    auto in = routes_.classify(topic);
    if (!in) {
      if (stored) {
        inbox_done_.push_back(stored);
        schedule_flush();
      }
      return log_->debug("publish on {} matches no route", topic);
    }
    process(topic, payload, *in, stored, retained);
  }

  void process(const std::string& topic, std::string_view payload, const Inbound& in, std::int64_t inbox_id,
               bool retained) {
    const Route& route = routes_.routes()[in.route];
    const std::string device = ascii_lower(in.device);
    if (known_.insert(device).second) dirty_[key(kSeen, device)] = topic;
    if (in.kind == Inbound::Kind::Availability) {
      auto up = availability_of(route, payload);
      if (!up) {
        log_->warn("{}: availability payload '{}' is neither '{}' nor '{}'; ignored", device,
                   std::string(payload.substr(0, 64)), route.online, route.offline);
      } else {
        avail_[device] = *up;
        dirty_[key(kAvail, device)] = *up ? "1" : "0";
        sink_->deliver(PresenceUpdate{.peer = device, .available = *up, .also_to = route.subscribers});
      }
      // Done once its state is written: same batch as the state itself.
      if (inbox_id) inbox_done_.push_back(inbox_id);
      schedule_flush();
      return;
    }
    std::string warning;
    std::string body = render_state(route, payload, warning);
    // The broker re-sends retained messages on every (re)subscription: they seed
    // the state (SPEC §6) and are not delivered again when nothing changed.
    if (retained && last_state(device) == body) {
      if (inbox_id) inbox_done_.push_back(inbox_id);
      schedule_flush();
      return;
    }
    if (!warning.empty()) log_->warn("{} on {}: {}; delivered raw", device, topic, warning);
    dirty_[key(kState, device)] = body;
    schedule_flush();
    sink_->deliver(InboundMessage{.peer = device,
                                  .body = std::move(body),
                                  .id = inbox_id ? "mqtt-" + std::to_string(inbox_id) : std::string(),
                                  .also_to = route.subscribers,
                                  .delivery_token = static_cast<std::uint64_t>(inbox_id)});
  }

  std::optional<std::string> last_state(const std::string& device) const {
    if (auto it = dirty_.find(key(kState, device)); it != dirty_.end()) return it->second;
    return store_.get_state(domain_, key(kState, device));
  }

  // Publishes stored before a crash (not proven delivered) are delivered again.
  void replay_inbox() {
    auto items = store_.peek(domain_, kInbox, 100000);
    if (!items.empty()) log_->info("delivering {} publishes kept from the previous run", items.size());
    for (auto& item : items) {
      auto nul = item.payload.find('\0');
      if (nul == std::string::npos) {
        store_.ack(domain_, kInbox, item.id);
        continue;
      }
      std::string topic = item.payload.substr(0, nul);
      auto in = routes_.classify(topic);
      if (!in) {
        store_.ack(domain_, kInbox, item.id);  // the routes changed since
        continue;
      }
      process(topic, std::string_view(item.payload).substr(nul + 1), *in, item.id, false);
    }
  }

  void load_state() {
    for (auto& [k, topic] : store_.states(domain_, kSeen)) {
      if (auto in = routes_.classify(topic)) known_.insert(ascii_lower(in->device));
    }
    for (auto& [k, v] : store_.states(domain_, kAvail)) avail_[k.substr(kAvail.size())] = v == "1";
  }

  // Last states: batched, one transaction per flush (SPEC §6 hot path).
  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(100));
    flush_timer_.async_wait([this](const boost::system::error_code& ec) {
      flush_scheduled_ = false;
      if (!ec) flush_state();
    });
  }

  void flush_state() {
    if (!dirty_.empty()) {
      std::vector<std::pair<std::string, std::string>> kv(dirty_.begin(), dirty_.end());
      dirty_.clear();
      store_.put_states(domain_, kv);
    }
    // State first: an availability leaves the inbox only once its state is stored.
    store_.ack_many(domain_, kInbox, std::exchange(inbox_done_, {}));
    store_.ack_many(domain_, kOutbox, std::vector<std::int64_t>(outbox_done_.begin(), outbox_done_.end()));
    outbox_done_.clear();
  }

  // ---- XMPP -> MQTT -------------------------------------------------------

  void fail(std::uint64_t ref, Failure f, std::string text) {
    sink_->deliver(SendOutcome{.ref = ref, .ok = false, .failure = f, .text = std::move(text)});
  }

  void on_command(const OutboundMessage& m) {
    const std::string device = ascii_lower(m.peer);
    const Route* route = routes_.route_of(device);
    // A device behind a route with variables exists once it has published.
    if (!route || (!route->jid.variables().empty() && !known_.count(device)))
      return fail(m.ref, Failure::NotFound, "no device '" + m.peer + "' on this gateway");
    auto topic = routes_.command_topic(device, route);
    if (!topic) return fail(m.ref, Failure::NotFound, "device '" + m.peer + "' takes no commands");
    // No body (subject only, empty <body/>): nothing to publish (routes.hpp
    // command_payload); an empty payload would also clear a retained command.
    auto payload = command_payload(*route, m.body);
    if (!payload)
      return fail(m.ref, Failure::NotAcceptable,
                  "the message has no text to send to '" + m.peer + "': only a message body is published as a command");
    const auto held = held_.size() + in_flight_.size();
    if (!client_->connected() && held >= cfg_.max_held_commands)
      return fail(m.ref, Failure::Unavailable,
                  "the MQTT broker is unreachable and " + std::to_string(held) + " commands are already waiting");
    Held h{0, OutboxRecord{std::move(*topic), std::move(*payload), route->qos, route->retain, m.ref, boot_,
                           m.want_outcome, m.origin},
           clock_.unix_ms()};
    h.id = store_.enqueue_hot(domain_, kOutbox, encode_outbox_record(h.r));
    if (h.id == 0) return fail(m.ref, Failure::Internal, "the gateway could not store the command");
    held_.push_back(std::move(h));
    if (client_->connected()) pump();
    else log_->info("broker unreachable: holding a command for {}", device);
  }

  // Publishes the oldest waiting commands, at most kMaxInFlight handed to the client
  // and not yet answered: enough to keep the link busy, while the rest stay here
  // (where they expire) until their turn. MqttClient takes any number and queues
  // what Paho cannot take yet (DELIVERY.md "Outbound publishes"). The durable
  // outbox is mirrored in held_ (oldest first), so pumping reads no SQL.
  static constexpr std::size_t kMaxInFlight = 64;

  // A waiting command: its outbox id, what was stored (outbox_record.hpp), when, and
  // how many of its publishes failed in a row for want of room (retry_delay()).
  struct Held {
    std::int64_t id;
    OutboxRecord r;
    std::int64_t enqueued_ms;
    int failures = 0;
  };

  void pump() {
    // After a Busy failure nothing new goes out before the retry timer: the failed
    // command keeps its place in line, and a broker out of room gets a pause.
    if (retry_paused_) return;
    const auto now = clock_.unix_ms();
    while (client_->connected() && in_flight_.size() < kMaxInFlight && !held_.empty()) {
      Held h = std::move(held_.front());
      held_.pop_front();
      if (expired(h, now)) continue;
      publish(std::move(h));
    }
  }

  // The core's ref, valid only within the run that stored the command.
  std::uint64_t ref_of(const Held& h) const { return h.r.boot == boot_ ? h.r.ref : 0; }

  // Past max_held_seconds a held command is dropped with an error to its sender.
  bool expired(const Held& h, std::int64_t now) {
    if (now - h.enqueued_ms <= std::int64_t{cfg_.max_held_seconds} * 1000) return false;
    outbox_done_.insert(h.id);
    schedule_flush();
    sink_->deliver(SendOutcome{.ref = ref_of(h),
                               .ok = false,
                               .failure = Failure::Unavailable,
                               .text = "the MQTT broker was unreachable for " + std::to_string(cfg_.max_held_seconds) +
                                       " s; the command was not sent",
                               .origin = h.r.origin});
    return true;
  }

  void publish(Held h) {
    const auto id = h.id;
    // Copies: the held command stays whole until the broker's PUBACK.
    auto topic = h.r.topic;
    auto payload = h.r.payload;
    const int qos = h.r.qos;
    const bool retain = h.r.retain;
    in_flight_.emplace(id, std::move(h));
    client_->publish(std::move(topic), std::move(payload), qos, retain, [this, id](PublishStatus st, std::string error) {
      auto it = in_flight_.find(id);
      if (it == in_flight_.end()) return;
      Held h = std::move(it->second);
      in_flight_.erase(it);
      if (st != PublishStatus::Ok) return on_publish_failed(std::move(h), st, error);
      outbox_done_.insert(id);
      schedule_flush();
      // XEP-0184: the receipt after the broker's PUBACK (SPEC §6); for a command
      // held across a restart, the core answers from its origin.
      if (h.r.want) sink_->deliver(SendOutcome{.ref = ref_of(h), .ok = true, .delivered = true, .origin = h.r.origin});
      pump();
    });
  }

  // A failed publish (publish_status.hpp): back in line to be retried, or -- refused
  // by the broker, or out of tries -- dropped with an error to its sender. Nothing
  // waits for a reconnect unless the link is what failed.
  void on_publish_failed(Held h, PublishStatus st, const std::string& error) {
    if (st != PublishStatus::NotConnected) ++h.failures;
    const auto delay = retry_delay(st, h.failures);
    if (!delay) {
      const bool refused = st == PublishStatus::Refused || st == PublishStatus::NotAuthorized;
      log_->warn("command on {} dropped: {}", h.r.topic, error);
      outbox_done_.insert(h.id);
      schedule_flush();
      sink_->deliver(SendOutcome{
          .ref = ref_of(h),
          .ok = false,
          .failure = st == PublishStatus::NotAuthorized ? Failure::Forbidden
                     : refused                          ? Failure::NotAcceptable
                                                        : Failure::Unavailable,
          .text = refused ? "the command was not published: " + error
                          : "the command was not published after " + std::to_string(h.failures) +
                                " attempts: " + error,
          .origin = h.r.origin});
      pump();
      return;
    }
    if (st == PublishStatus::NotConnected)
      log_->debug("publish on {} not confirmed ({}); held for the link", h.r.topic, error);
    else
      log_->warn("publish on {} not confirmed ({}); retrying in {} ms", h.r.topic, error, delay->count());
    // Back in line, in id order.
    auto pos = std::find_if(held_.begin(), held_.end(), [&](const Held& x) { return x.id > h.id; });
    held_.insert(pos, std::move(h));
    if (st == PublishStatus::Busy) retry_paused_ = true;
    schedule_retry(*delay);
  }

  void schedule_retry(std::chrono::milliseconds delay) {
    if (retry_scheduled_) return;
    retry_scheduled_ = true;
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      retry_scheduled_ = false;
      retry_paused_ = false;
      if (!ec && !stopped_) pump();
    });
  }

  // While the broker is down: drop what waited too long, with an error to its sender.
  void expire_held() {
    const auto now = clock_.unix_ms();
    std::erase_if(held_, [&](const Held& h) { return expired(h, now); });
  }

  // Commands held by the previous run (not yet acknowledged by the broker).
  void load_outbox() {
    for (auto& item : store_.peek(domain_, kOutbox, 1'000'000)) {
      auto r = decode_outbox_record(item.payload);
      if (!r) {
        log_->warn("held command {} is not readable; dropped", item.id);
        outbox_done_.insert(item.id);
        continue;
      }
      held_.push_back(Held{item.id, std::move(*r), item.enqueued_ms});
    }
    if (!held_.empty()) log_->info("{} commands held from the previous run", held_.size());
  }

  void schedule_tick() {
    tick_timer_.expires_after(std::chrono::seconds(1));
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      if (!client_->connected() && !held_.empty()) expire_held();
      schedule_tick();
    });
  }

  void on_presence(const OutboundPresence& p) {
    if (p.type != "probe" && p.type != "subscribe" && !p.type.empty()) return;
    const std::string device = ascii_lower(p.peer);
    if (!routes_.route_of(device)) return;
    auto it = avail_.find(device);
    // A device that never said otherwise is shown as available once it has published.
    bool up = it != avail_.end() ? it->second : known_.count(device) > 0;
    PresenceUpdate u{.user = p.user, .peer = device, .available = up};
    if (auto state = last_state(device); state && up) u.status = *state;
    sink_->deliver(std::move(u));
  }

  // ---- broker link ----------------------------------------------------------

  void on_connected() {
    log_->info("connected to the MQTT broker {}", cfg_.broker.uri);
    sink_->deliver(LinkState{true, "connected to " + cfg_.broker.uri});
    pump();
  }

  void on_disconnected(std::string why) {
    sink_->deliver(LinkState{false, "MQTT broker unreachable: " + why});
  }

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  Store& store_;
  std::string domain_;
  MqttConfig cfg_;
  RouteTable routes_;
  IdentityCodec codec_;
  std::unique_ptr<MqttClient> client_;
  EventSink* sink_ = nullptr;
  std::set<std::string> known_;                    // devices (lower case) seen on an inbound topic
  std::unordered_map<std::string, bool> avail_;    // last availability per device
  std::unordered_map<std::string, std::string> dirty_;  // state keys waiting for the batch write
  std::deque<Held> held_;                          // waiting commands, oldest first (mirrors the outbox)
  std::map<std::int64_t, Held> in_flight_;         // published, PUBACK pending
  std::set<std::int64_t> outbox_done_;             // acknowledged, removed at the next flush
  std::vector<std::int64_t> inbox_done_;           // delivered, removed at the next flush
  boost::asio::steady_timer flush_timer_, tick_timer_, retry_timer_;
  bool flush_scheduled_ = false;
  bool retry_scheduled_ = false;
  bool retry_paused_ = false;  // a Busy failure: pump() waits for the retry timer
  bool stopped_ = false;
  std::string boot_;  // refs in the outbox are only meaningful within one run
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

FactoryEntry factory() {
  return FactoryEntry{"mqtt", [](ConfigReader& block, Deps& deps) -> std::unique_ptr<Transport> {
                        auto cfg = parse_mqtt_config(block);
                        if (!cfg) return nullptr;
                        return std::make_unique<MqttTransport>(deps, std::move(*cfg));
                      }};
}

}  // namespace sb::transport::mqtt
