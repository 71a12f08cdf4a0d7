#include "transports/mqtt/mqtt_config.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace sb::transport::mqtt {
namespace {

// A problem at the key's value (where the user must edit), like ConfigReader's own
// value problems: "PATH KEY: text".
void value_problem(ConfigReader& r, std::string_view key, const std::string& text) {
  const toml::node* n = r.table().get(key);
  r.problems().add(n ? n->source() : r.where(key), r.path() + " " + std::string(key) + ": " + text);
}

std::string line_of(const toml::source_region& s) { return "line " + std::to_string(s.begin.line); }

// One route as read, with where its patterns are, for overlap messages.
struct ReadRoute {
  Route route;
  std::optional<toml::source_region> state_at, availability_at;
};

std::optional<TopicPattern> read_pattern(ConfigReader& d, std::string_view key) {
  if (!d.has(key)) {
    d.mark(key);
    return std::nullopt;
  }
  std::string text = d.get_string(key);
  if (!d.table().get(key)->is_string()) return std::nullopt;  // type problem reported
  std::string error;
  auto p = TopicPattern::parse(text, error);
  if (!p) value_problem(d, key, error);
  return p;
}

void read_subscribers(ConfigReader& d, Route& r) {
  r.subscribers = d.get_strings("subscribers");
  const toml::array* arr = d.table().get_as<toml::array>("subscribers");
  if (!arr) return;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    auto s = e.as_string();
    if (s && !looks_like_bare_jid(s->get()))
      d.problems().add(e.source(), d.path() + " subscribers[" + std::to_string(i) + "]: '" + s->get() +
                                       "' is not a bare JID like alice@example.org");
  }
}

ReadRoute read_route(ConfigReader& d, int index, const toml::table& t) {
  ReadRoute rr;
  Route& r = rr.route;
  r.index = index;
  r.line = static_cast<int>(t.source().begin.line);
  r.column = static_cast<int>(t.source().begin.column);
  std::string error;

  bool jid_ok = false;
  if (std::string jid = d.require_string("jid"); !jid.empty()) {
    if (auto j = IdTemplate::parse(jid, error)) {
      r.jid = std::move(*j);
      jid_ok = true;
    } else {
      value_problem(d, "jid", error);
    }
  }
  r.state = read_pattern(d, "state");
  r.command = read_pattern(d, "command");
  r.availability = read_pattern(d, "availability");
  if (r.state) rr.state_at = d.table().get("state")->source();
  if (r.availability) rr.availability_at = d.table().get("availability")->source();
  if (!d.has("state") && !d.has("command") && !d.has("availability"))
    d.problem({}, "a device route needs at least one of 'state', 'command', 'availability'");

  r.online = d.get_string("online", "online");
  r.offline = d.get_string("offline", "offline");
  for (auto key : {"online", "offline"})
    if (d.has(key) && !d.has("availability")) value_problem(d, key, "only applies with 'availability'");
  if (r.online == r.offline) value_problem(d, "offline", "must differ from 'online' ('" + r.online + "')");

  std::string format = d.get_string("format", "text");
  if (format == "json") r.format = Format::Json;
  else if (format != "text") value_problem(d, "format", "'" + format + "' is not a format; use \"text\" or \"json\"");

  if (d.has("body")) {
    std::string body = d.get_string("body");
    if (r.format != Format::Json)
      value_problem(d, "body", "a body template reads JSON pointers and needs format = \"json\"");
    else if (auto b = BodyTemplate::parse(body, error))
      r.body = std::move(*b);
    else
      value_problem(d, "body", error);
  }
  if (d.has("command_template")) {
    std::string ct = d.get_string("command_template");
    if (!d.has("command")) value_problem(d, "command_template", "only applies with 'command'");
    if (auto c = CommandTemplate::parse(ct, error)) r.command_template = std::move(*c);
    else value_problem(d, "command_template", error);
  }
  read_subscribers(d, r);
  r.qos = static_cast<int>(d.get_int("qos", 1, 0, 2));
  r.retain = d.get_bool("retain", false);
  r.name = d.get_string("name");

  // Every topic must yield the device id, and a device id must yield its command topic.
  if (jid_ok) {
    for (auto [key, p] : {std::pair{"state", &r.state}, {"availability", &r.availability}, {"command", &r.command}}) {
      if (!*p) continue;
      for (const auto& v : r.jid.variables())
        if (!(*p)->has_variable(v))
          value_problem(d, key, "does not capture {" + v + "}, which jid = \"" + r.jid.text() + "\" uses");
    }
    if (r.command) {
      const auto& jv = r.jid.variables();
      for (const auto& v : r.command->variables())
        if (std::find(jv.begin(), jv.end(), v) == jv.end())
          value_problem(d, "command", "{" + v + "} cannot be derived from the device id (jid = \"" + r.jid.text() +
                                          "\"); a command topic may only use the jid's variables");
    }
  }
  if (r.state && r.availability && TopicPattern::may_overlap(*r.state, *r.availability))
    value_problem(d, "availability", "overlaps 'state' (\"" + r.state->text() + "\"): a topic must be one or the other");
  return rr;
}

void check_overlaps(ConfigReader& block, const std::vector<ReadRoute>& routes) {
  auto entries = [](const ReadRoute& rr) {
    std::vector<std::tuple<const char*, const TopicPattern*, toml::source_region>> v;
    if (rr.route.state) v.emplace_back("state", &*rr.route.state, *rr.state_at);
    if (rr.route.availability) v.emplace_back("availability", &*rr.route.availability, *rr.availability_at);
    return v;
  };
  for (std::size_t j = 1; j < routes.size(); ++j) {
    for (auto& [key_j, pj, at_j] : entries(routes[j])) {
      bool reported = false;
      for (std::size_t i = 0; i < j && !reported; ++i) {
        for (auto& [key_i, pi, at_i] : entries(routes[i])) {
          if (!TopicPattern::may_overlap(*pj, *pi)) continue;
          block.problems().add(at_j, block.path() + " device #" + std::to_string(j + 1) + " " + key_j + ": \"" +
                                         pj->text() + "\" overlaps device #" + std::to_string(i + 1) + " " + key_i +
                                         " \"" + pi->text() + "\" (" + line_of(at_i) +
                                         "); a topic must belong to one route");
          reported = true;
          break;
        }
      }
    }
  }
}

bool readable(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

std::optional<BrokerAddress> parse_broker(std::string_view url, std::string& error) {
  BrokerAddress b;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    error = "'" + std::string(url) + "' is not a broker URL like tcp://127.0.0.1:1883";
    return std::nullopt;
  }
  std::string scheme = ascii_lower(url.substr(0, sep));
  if (scheme == "ssl" || scheme == "mqtts") b.tls = true;
  else if (scheme != "tcp" && scheme != "mqtt") {
    error = "unsupported scheme '" + scheme + "://'; use tcp:// or mqtt://, ssl:// or mqtts:// for TLS";
    return std::nullopt;
  }
  std::string_view rest = url.substr(sep + 3);
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unbalanced '[' in the broker address";
      return std::nullopt;
    }
    b.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = "expected ':port' after ']'";
      return std::nullopt;
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    auto colon = rest.find(':');
    b.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (b.host.empty() || b.host.find_first_of("/ \t@?#") != std::string::npos) {
    error = "'" + std::string(url) + "' needs a host, like " + scheme + "://127.0.0.1:1883 (no path or user info)";
    return std::nullopt;
  }
  if (port.empty() && rest.back() == ':') port = ":";  // "host:" has an empty port
  b.port = b.tls ? 8883 : 1883;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      error = "bad port '" + std::string(port) + "' (1 to 65535)";
      return std::nullopt;
    }
    b.port = p;
  }
  const bool v6 = b.host.find(':') != std::string::npos;
  b.uri = std::string(b.tls ? "ssl://" : "tcp://") + (v6 ? "[" + b.host + "]" : b.host) + ":" + std::to_string(b.port);
  return b;
}

bool looks_like_bare_jid(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  return s.find_first_of("/ \t\r\n") == std::string_view::npos;
}

std::optional<MqttConfig> parse_mqtt_config(ConfigReader& block) {
  const std::size_t problems_before = block.problems().all().size();
  MqttConfig c;
  std::string error;

  if (std::string url = block.require_string("broker"); !url.empty()) {
    if (auto b = parse_broker(url, error)) c.broker = std::move(*b);
    else value_problem(block, "broker", error);
  }
  c.client_id = block.require_string("client_id");

  if (const toml::node* n = block.table().get("protocol"); n && !n->is_string()) {
    block.mark("protocol");
    value_problem(block, "protocol", "write the version as a string: \"3.1.1\" or \"5\"");
  } else {
    std::string protocol = block.get_string("protocol", "3.1.1");
    if (protocol == "5") c.mqtt_version = 5;
    else if (protocol != "3.1.1") value_problem(block, "protocol", "'" + protocol + "' is not supported; use \"3.1.1\" or \"5\"");
  }

  c.username = block.get_string("username");
  c.password = block.get_secret("password", false);
  if ((block.has("password") || block.has("password_file")) && c.username.empty())
    block.problem(block.has("password") ? "password" : "password_file", "a password needs a 'username'");

  for (auto [key, field] : {std::pair{"ca_file", &c.ca_file}, {"cert_file", &c.cert_file}, {"key_file", &c.key_file}}) {
    *field = block.get_string(key);
    if (!block.has(key) || !block.table().get(key)->is_string()) continue;
    if (!c.broker.host.empty() && !c.broker.tls)
      value_problem(block, key, "only applies to a TLS broker (ssl:// or mqtts://)");
    else if (!readable(*field))
      value_problem(block, key, "cannot read '" + *field + "'");
  }
  if (block.has("key_file") && !block.has("cert_file")) block.problem("key_file", "a key_file needs a 'cert_file'");

  c.keepalive_seconds = static_cast<int>(block.get_int("keepalive_seconds", 30, 1, 65535));
  c.session_expiry_seconds = static_cast<std::uint32_t>(block.get_int("session_expiry_seconds", 86400, 1, 4294967295LL));
  // MQTT 3.1.1 has no expiry: clean session off keeps the session until the broker drops it.
  if (block.has("session_expiry_seconds") && c.mqtt_version != 5)
    block.problem("session_expiry_seconds", "only applies to protocol = \"5\"");
  c.max_held_commands = static_cast<std::size_t>(block.get_int("max_held_commands", 1000, 0, 1000000));
  c.max_held_seconds = static_cast<int>(block.get_int("max_held_seconds", 300, 0, 7 * 86400));

  std::vector<ReadRoute> routes;
  auto tables = block.get_tables("device");
  if (tables.empty() && !block.has("device"))
    block.problem({}, "no [[mqtt.device]] routes: add at least one (jid, and state/command/availability topics)");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    ConfigReader d(*tables[i], block.path() + " device #" + std::to_string(i + 1), block.problems());
    routes.push_back(read_route(d, static_cast<int>(i + 1), *tables[i]));
    d.finish();
  }
  check_overlaps(block, routes);
  for (auto& rr : routes) c.routes.push_back(std::move(rr.route));
  block.finish();

  if (block.problems().all().size() != problems_before) return std::nullopt;
  return c;
}

}  // namespace sb::transport::mqtt
