#include "transports/mqtt/routes.hpp"

#include <algorithm>

namespace sb::transport::mqtt {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// First position of `needle` in `hay` at or after `from`, ASCII case-insensitive.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::optional<IdTemplate> IdTemplate::parse(std::string_view text, std::string& error) {
  if (text.empty()) {
    error = "empty device id template";
    return std::nullopt;
  }
  IdTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const std::string at = " at column " + std::to_string(i + 1);
    if (c == '}') {
      error = "unbalanced '}'" + at;
      return std::nullopt;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    auto close = text.find('}', i + 1);
    auto next_open = text.find('{', i + 1);
    if (close == std::string_view::npos || next_open < close) {
      error = "unbalanced '{'" + at;
      return std::nullopt;
    }
    std::string_view name = text.substr(i + 1, close - i - 1);
    if (!name.empty() && name.back() == '#') {
      error = "write {" + std::string(name.substr(0, name.size() - 1)) + "}" + at +
              ": '#' belongs in topic patterns, the id template only names variables";
      return std::nullopt;
    }
    if (!valid_var_name(name)) {
      error = (name.empty() ? std::string("empty variable name") : "invalid variable name '" + std::string(name) + "'") + at;
      return std::nullopt;
    }
    if (std::find(t.vars_.begin(), t.vars_.end(), name) != t.vars_.end()) {
      error = "duplicate variable '" + std::string(name) + "'" + at;
      return std::nullopt;
    }
    if (!t.vars_.empty() && literal.empty()) {
      error = "two variables with nothing between them" + at + " cannot be told apart; put a separator like '-'";
      return std::nullopt;
    }
    t.literals_.push_back(std::move(literal));
    literal.clear();
    t.vars_.emplace_back(name);
    i = close;
  }
  t.literals_.push_back(std::move(literal));
  return t;
}

std::optional<std::string> IdTemplate::render(const Vars& vars) const {
  std::string out = literals_.front();
  for (std::size_t k = 0; k < vars_.size(); ++k) {
    auto it = vars.find(vars_[k]);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    out += it->second;
    out += literals_[k + 1];
  }
  return out;
}

std::optional<Vars> IdTemplate::parse_id(std::string_view id) const {
  if (literals_.empty()) return std::nullopt;  // a default-constructed template
  if (vars_.empty()) return iequals(id, literals_.front()) ? std::optional<Vars>(Vars{}) : std::nullopt;
  if (id.size() < literals_.front().size() || !iequals(id.substr(0, literals_.front().size()), literals_.front()))
    return std::nullopt;
  Vars vars;
  std::size_t pos = literals_.front().size();
  for (std::size_t k = 0; k < vars_.size(); ++k) {
    const std::string& next = literals_[k + 1];
    std::size_t end;
    if (k + 1 == vars_.size()) {  // the last value runs up to the trailing literal
      if (id.size() < pos + next.size() || !iequals(id.substr(id.size() - next.size()), next)) return std::nullopt;
      end = id.size() - next.size();
    } else {
      end = ifind(id, next, pos + 1);  // values are non-empty
      if (end == std::string_view::npos) return std::nullopt;
    }
    if (end <= pos) return std::nullopt;
    vars.emplace(vars_[k], std::string(id.substr(pos, end - pos)));
    pos = end + next.size();
  }
  return vars;
}

RouteTable::RouteTable(std::vector<Route> routes, std::size_t max_known_ids)
    : routes_(std::move(routes)), max_known_(max_known_ids) {}

void RouteTable::remember(const std::string& id, std::size_t route, const Vars& vars) const {
  if (max_known_ == 0) return;
  std::string key = ascii_lower(id);
  if (auto it = known_.find(key); it != known_.end()) {
    it->second = Known{id, route, vars};
    return;
  }
  // Bounded: past the cap an arbitrary old id is forgotten (it falls back to the
  // lower-case form until it publishes again).
  if (known_.size() >= max_known_) known_.erase(known_.begin());
  known_.emplace(std::move(key), Known{id, route, vars});
}

const RouteTable::Known* RouteTable::find_known(std::string_view id) const {
  auto it = known_.find(ascii_lower(id));
  return it == known_.end() ? nullptr : &it->second;
}

std::optional<Inbound> RouteTable::classify(std::string_view topic) const {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    for (auto kind : {Inbound::Kind::State, Inbound::Kind::Availability}) {
      const auto& pattern = kind == Inbound::Kind::State ? r.state : r.availability;
      if (!pattern) continue;
      auto vars = pattern->match(topic);
      if (!vars) continue;
      auto id = r.jid.render(*vars);
      if (!id) continue;  // the config ensures the jid's variables are captured
      remember(*id, i, *vars);
      return Inbound{.route = i, .kind = kind, .device = std::move(*id), .vars = std::move(*vars)};
    }
  }
  return std::nullopt;
}

const Route* RouteTable::route_of(std::string_view device_id) const {
  // Exact (variable-free) ids first: a catch-all "{id}" listed earlier must not
  // hide a fixed device.
  for (const Route& r : routes_)
    if (r.jid.variables().empty() && r.jid.parse_id(device_id)) return &r;
  if (auto k = find_known(device_id)) return &routes_[k->route];
  for (const Route& r : routes_)
    if (!r.jid.variables().empty() && r.jid.parse_id(device_id)) return &r;
  return nullptr;
}

std::string RouteTable::original_id(std::string_view device_id) const {
  if (auto k = find_known(device_id)) return k->id;
  return std::string(device_id);
}

std::optional<std::string> RouteTable::command_topic(std::string_view device_id, const Route*& route) const {
  route = nullptr;
  auto expand = [&](const Route& r, std::string_view id) -> std::optional<std::string> {
    if (!r.command) return std::nullopt;
    auto vars = r.jid.parse_id(id);
    if (!vars) return std::nullopt;
    return r.command->expand(*vars);
  };
  // Exact (variable-free) ids first, as in route_of.
  for (const Route& r : routes_) {
    if (!r.jid.variables().empty() || !r.jid.parse_id(device_id)) continue;
    if (!route) route = &r;
    if (auto t = expand(r, device_id)) {
      route = &r;
      return t;
    }
  }
  if (auto k = find_known(device_id)) {
    const Route& r = routes_[k->route];
    if (!route) route = &r;
    if (!r.command) return std::nullopt;
    auto t = r.command->expand(k->vars);
    if (t) route = &r;
    return t;
  }
  // Never published: the first templated route whose id template fits and can
  // form a topic.
  for (const Route& r : routes_) {
    if (r.jid.variables().empty() || !r.jid.parse_id(device_id)) continue;
    if (!route) route = &r;
    if (auto t = expand(r, device_id)) {
      route = &r;
      return t;
    }
  }
  return std::nullopt;
}

std::vector<Subscription> RouteTable::filters() const {
  std::vector<Subscription> out;
  auto add = [&](const std::optional<TopicPattern>& p) {
    if (!p) return;
    std::string f = p->filter();
    for (auto& s : out)
      if (s.filter == f) return;
    // Not the route's qos (routes.hpp): that one is for commands.
    out.push_back(Subscription{std::move(f), 1});
  };
  for (const Route& r : routes_) {
    add(r.state);
    add(r.availability);
  }
  return out;
}

std::string render_state(const Route& route, std::string_view payload, std::string& warning) {
  warning.clear();
  PayloadText raw = payload_text(payload);
  auto deliver_raw = [&](std::string why) {
    warning = std::move(why);
    return raw.text;
  };
  if (raw.binary && route.format == Format::Text) return deliver_raw("binary payload, delivered as base64");
  if (route.format == Format::Text) {
    if (raw.truncated) warning = "payload of " + std::to_string(payload.size()) + " bytes truncated";
    return raw.text;
  }
  // Depth first: nlohmann's dump (and the rendering of a pointer to a deep value)
  // recurse once per level; 100k levels would overflow the io thread's stack.
  if (json_too_deep(payload, kMaxJsonDepth))
    return deliver_raw("payload is not valid JSON (nested deeper than " + std::to_string(kMaxJsonDepth) +
                       " levels), delivered raw");
  nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return deliver_raw("payload is not valid JSON, delivered raw");
  if (!route.body) {
    if (raw.truncated) warning = "payload of " + std::to_string(payload.size()) + " bytes truncated";
    return raw.text;
  }
  std::string missing;
  auto text = route.body->render(doc, missing);
  if (!text) return deliver_raw("JSON pointer " + missing + " not in the payload, delivered raw");
  // JSON strings may carry characters XML cannot ("\u0000"), and may be huge.
  PayloadText out = payload_text(xml_sanitize(*text));
  if (out.truncated) warning = "rendered body truncated";
  return out.text;
}

std::optional<std::string> command_payload(const Route& route, std::string_view body) {
  if (body.empty()) return std::nullopt;
  return route.command_template ? route.command_template->render(body) : std::string(body);
}

std::optional<bool> availability_of(const Route& route, std::string_view payload) {
  std::string p = trim(payload);
  if (p == trim(route.online)) return true;
  if (p == trim(route.offline)) return false;
  return std::nullopt;
}

}  // namespace sb::transport::mqtt
