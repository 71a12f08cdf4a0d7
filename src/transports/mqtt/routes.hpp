// MQTT routes: topics <-> device ids (SPEC §6).
//
// A route ([[mqtt.device]]) has an id template (`jid`, the device JID's localpart
// before XEP-0106 escaping, e.g. "{id}" or "{room}-{id}") rendered from the
// variables of its topic patterns. Inbound publishes are classified by the state
// and availability patterns; outbound commands find the route whose id template
// matches the device id and expand its command pattern.
//
// Device ids compare case-insensitively (ASCII), because the core case-folds JIDs
// (component/jid.hpp) and hands back "kitchen" for a device published as "Kitchen".
// The table therefore remembers ids seen on inbound topics (bounded) and expands
// command topics with their original case; an id never seen is used as given.
// Not thread-safe: use one table from one thread (the io thread).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include "transports/mqtt/body_template.hpp"
#include "transports/mqtt/payload.hpp"
#include "transports/mqtt/topic_pattern.hpp"

namespace sb::transport::mqtt {

// "{room}-{id}": literal text and `{var}` placeholders (no '#', no literal braces),
// with literal text between any two placeholders so an id parses back unambiguously
// enough (values are split at the first occurrence of the next literal). No
// placeholder at all is fine: one fixed device ("thermostat").
class IdTemplate {
 public:
  IdTemplate() = default;
  static std::optional<IdTemplate> parse(std::string_view text, std::string& error);
  // nullopt when a variable is missing or empty.
  std::optional<std::string> render(const Vars& vars) const;
  // The variables of an id rendered by this template (literals compare ASCII
  // case-insensitively; values keep the id's case). nullopt when it does not fit.
  std::optional<Vars> parse_id(std::string_view id) const;
  const std::vector<std::string>& variables() const { return vars_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> literals_;  // vars_.size() + 1
  std::vector<std::string> vars_;
};

enum class Format { Text, Json };

struct Route {
  std::string name;  // display name (optional)
  IdTemplate jid;
  std::optional<TopicPattern> state, command, availability;
  std::string online = "online", offline = "offline";
  Format format = Format::Text;
  std::optional<BodyTemplate> body;                 // only with Format::Json
  std::optional<CommandTemplate> command_template;  // none: the body is the payload
  std::vector<std::string> subscribers;             // bare JIDs
  int qos = 1;  // for the commands published on `command`; subscriptions are QoS 1
  bool retain = false;
  int index = 0;             // 1-based position among the block's routes
  int line = 0, column = 0;  // of the [[mqtt.device]] table
};

struct Inbound {
  enum class Kind { State, Availability };
  std::size_t route = 0;  // index into RouteTable::routes()
  Kind kind = Kind::State;
  std::string device;  // the rendered id template, original case
  Vars vars;
};

struct Subscription {
  std::string filter;
  int qos = 1;
  bool operator==(const Subscription&) const = default;
};

class RouteTable {
 public:
  explicit RouteTable(std::vector<Route> routes, std::size_t max_known_ids = 100000);

  const std::vector<Route>& routes() const { return routes_; }
  // The route and device for a published topic (first route in config order; the
  // config rejects overlapping routes). Remembers the device id's case.
  std::optional<Inbound> classify(std::string_view topic) const;
  // Device ids to routes (route_of, command_topic): a route whose id template has
  // no variable ("garage-door") names its device exactly and wins over templated
  // routes ("{id}") wherever they are in the config; then the route an id was seen
  // on; then the templated routes in config order.
  //
  // The command topic for a device id (any case); `route` is set to its route.
  // nullopt when no route's id template fits the id or the fitting route has no
  // command pattern (or its values cannot form a topic).
  std::optional<std::string> command_topic(std::string_view device_id, const Route*& route) const;
  // The route a device id belongs to (for presence, vCards, items), or nullptr.
  const Route* route_of(std::string_view device_id) const;
  // The device id with the case it was published with (or as given when never seen).
  std::string original_id(std::string_view device_id) const;
  // Every state/availability filter once, always at QoS 1 (SPEC §6 "QoS 1
  // subscriptions"): the route's `qos` is for the commands we publish. A QoS 0
  // subscription would leave nothing queued in the session while we are down, and
  // QoS 2 over MQTT 3.1.1 with Paho (no Paho persistence) loses a message on a
  // kill -9 between PUBREC and PUBREL.
  std::vector<Subscription> filters() const;
  std::size_t known_ids() const { return known_.size(); }

 private:
  struct Known {
    std::string id;
    std::size_t route;
    Vars vars;  // as captured: an id like "a-b-c" from "{x}-{y}" need not parse back
  };
  void remember(const std::string& id, std::size_t route, const Vars& vars) const;
  const Known* find_known(std::string_view id) const;

  std::vector<Route> routes_;
  std::size_t max_known_;
  mutable std::unordered_map<std::string, Known> known_;  // ASCII-lowercased id -> as seen
};

std::string ascii_lower(std::string_view s);

// The chat message body for a state publish on `route`: the payload as text
// (payload_text), or with Format::Json the rendered body template. A payload that
// is not valid for the format is delivered raw and `warning` says why (SPEC §6:
// never dropped silently); `warning` is empty otherwise. JSON nested deeper than
// kMaxJsonDepth counts as invalid JSON (json_too_deep): it is never parsed, so it
// cannot exhaust the io thread's stack (and crash again on every inbox replay).
inline constexpr std::size_t kMaxJsonDepth = 256;
std::string render_state(const Route& route, std::string_view payload, std::string& warning);

// The payload a command message publishes on `route`'s command topic: the body, or
// the command template rendered with it. nullopt when the body is empty (a
// subject-only message, an empty <body/>): SPEC §6 publishes "a message with a
// body", and an empty payload on a retain route would delete the broker's retained
// command. A template does not change this: every command template contains
// {body} (CommandTemplate::parse requires it), so its output with no body is a
// command with its one variable part missing, not a command of its own.
std::optional<std::string> command_payload(const Route& route, std::string_view body);

// Availability payload -> available (true) / unavailable (false); nullopt when it
// is neither configured payload (surrounding whitespace ignored).
std::optional<bool> availability_of(const Route& route, std::string_view payload);

}  // namespace sb::transport::mqtt
