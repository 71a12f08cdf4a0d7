#include "transports/mqtt/mqtt_transport.hpp"

#include <random>
#include <set>
#include <unordered_map>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include "common/log.hpp"
#include "transports/mqtt/mqtt_client.hpp"
#include "transports/mqtt/mqtt_config.hpp"
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
        cfg_(std::move(cfg)), routes_(cfg_.routes), flush_timer_(deps.executor), tick_timer_(deps.executor),
        boot_(boot_id()), log_(log::get(deps.domain)) {}

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
            {"held commands", std::to_string(store_.queue_size(domain_, kOutbox))}};
  }

  void start(EventSink& sink) override {
    sink_ = &sink;
    load_state();
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
    o.session_expiry_s = static_cast<int>(cfg_.session_expiry_seconds);
    MqttClient::Handlers h;
    h.on_connected = [this] { on_connected(); };
    h.on_disconnected = [this](std::string why) { on_disconnected(std::move(why)); };
    h.on_message = [this](std::string topic, std::string payload, int qos, bool retained, MqttClient::Ack ack) {
      on_message(std::move(topic), std::move(payload), qos, retained, std::move(ack));
    };
    client_ = std::make_unique<MqttClient>(executor_, o, std::move(h));
    std::vector<std::pair<std::string, int>> filters;
    for (auto& s : routes_.filters()) filters.emplace_back(s.filter, s.qos);
    client_->subscribe(std::move(filters));
    sink_->deliver(LinkState{false, "connecting to " + cfg_.broker.uri});
    client_->start();
    replay_inbox();
    schedule_tick();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    flush_state();
    flush_timer_.cancel();
    tick_timer_.cancel();
    if (client_) client_->stop();
  }

  void delivered(std::uint64_t token) override { store_.ack(domain_, kInbox, static_cast<std::int64_t>(token)); }

  void send(Command cmd) override {
    if (stopped_) return;
    if (auto* m = std::get_if<OutboundMessage>(&cmd)) return on_command(*m);
    if (auto* p = std::get_if<OutboundPresence>(&cmd)) return on_presence(*p);
  }

 private:
  // ---- MQTT -> XMPP -------------------------------------------------------

  void on_message(std::string topic, std::string payload, int qos, bool retained, MqttClient::Ack ack) {
    auto in = routes_.classify(topic);
    if (!in) {
      ack();
      return log_->debug("publish on {} matches no route", topic);
    }
    // Durable before the broker hears PUBACK (the Paho thread waits for ack()).
    std::int64_t id = 0;
    if (qos > 0) {
      id = store_.enqueue(domain_, kInbox, pack_inbound(topic, payload));
      if (id == 0) log_->error("could not store the publish on {}: delivering it without a durable copy", topic);
    }
    ack();
    process(topic, payload, *in, id, retained);
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
        store_.put_state(domain_, key(kAvail, device), *up ? "1" : "0");  // rare: written at once
        sink_->deliver(PresenceUpdate{.peer = device, .available = *up, .also_to = route.subscribers});
      }
      if (inbox_id) store_.ack(domain_, kInbox, inbox_id);
      return;
    }
    std::string warning;
    std::string body = render_state(route, payload, warning);
    // The broker re-sends retained messages on every (re)subscription: they seed
    // the state (SPEC §6) and are not delivered again when nothing changed.
    if (retained && last_state(device) == body) {
      if (inbox_id) store_.ack(domain_, kInbox, inbox_id);
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
    flush_timer_.expires_after(std::chrono::milliseconds(500));
    flush_timer_.async_wait([this](const boost::system::error_code& ec) {
      flush_scheduled_ = false;
      if (!ec) flush_state();
    });
  }

  void flush_state() {
    if (dirty_.empty()) return;
    std::vector<std::pair<std::string, std::string>> kv(dirty_.begin(), dirty_.end());
    dirty_.clear();
    store_.put_states(domain_, kv);
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
    std::string payload = route->command_template ? route->command_template->render(m.body) : m.body;
    const auto held = store_.queue_size(domain_, kOutbox);
    if (!client_->connected() && held >= cfg_.max_held_commands)
      return fail(m.ref, Failure::Unavailable,
                  "the MQTT broker is unreachable and " + std::to_string(held) + " commands are already waiting");
    nlohmann::json j = {{"topic", *topic}, {"payload", payload}, {"qos", route->qos}, {"retain", route->retain},
                        {"ref", m.ref},    {"boot", boot_},      {"want", m.want_outcome}};
    auto id = store_.enqueue(domain_, kOutbox, j.dump());
    if (id == 0) return fail(m.ref, Failure::Internal, "the gateway could not store the command");
    if (client_->connected()) publish(id, j);
    else log_->info("broker unreachable: holding a command for {}", device);
  }

  void publish(std::int64_t id, const nlohmann::json& j) {
    if (!in_flight_.insert(id).second) return;
    client_->publish(j.value("topic", ""), j.value("payload", ""), j.value("qos", 1), j.value("retain", false),
                     [this, id, ref = j.value("ref", std::uint64_t{0}), want = j.value("want", false),
                      ours = j.value("boot", "") == boot_](bool ok, std::string error) {
                       in_flight_.erase(id);
                       if (!ok) {
                         // Still in the outbox: published again when the broker is back.
                         log_->warn("publish not confirmed ({}); kept for the next connection", error);
                         return;
                       }
                       store_.ack(domain_, kOutbox, id);
                       // XEP-0184: the receipt after the broker's PUBACK (SPEC §6).
                       if (ours && want) sink_->deliver(SendOutcome{.ref = ref, .ok = true, .delivered = true});
                     });
  }

  // Held commands: in order when connected; past max_held_seconds an error.
  void drain_outbox() {
    const auto now = clock_.unix_ms();
    for (auto& item : store_.peek(domain_, kOutbox, 10000)) {
      auto j = nlohmann::json::parse(item.payload, nullptr, false);
      if (j.is_discarded()) {
        store_.ack(domain_, kOutbox, item.id);
        continue;
      }
      if (now - item.enqueued_ms > std::int64_t{cfg_.max_held_seconds} * 1000) {
        store_.ack(domain_, kOutbox, item.id);
        if (j.value("boot", "") == boot_)
          fail(j.value("ref", std::uint64_t{0}), Failure::Unavailable,
               "the MQTT broker was unreachable for " + std::to_string(cfg_.max_held_seconds) +
                   " s; the command was not sent");
        continue;
      }
      if (client_->connected()) publish(item.id, j);
    }
  }

  void schedule_tick() {
    tick_timer_.expires_after(std::chrono::seconds(1));
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      if (!client_->connected() && store_.queue_size(domain_, kOutbox) > 0) drain_outbox();  // expiry only
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
    drain_outbox();
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
  std::set<std::int64_t> in_flight_;               // outbox ids published, PUBACK pending
  boost::asio::steady_timer flush_timer_, tick_timer_;
  bool flush_scheduled_ = false;
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
