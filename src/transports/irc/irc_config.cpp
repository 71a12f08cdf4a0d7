#include "transports/irc/irc_config.hpp"

#include <cmath>
#include <fstream>
#include "transports/irc/irc_message.hpp"

namespace sb::transport::irc {
namespace {

// Concatenation without `"lit" + std::string` (GCC 12 -O2 warns falsely on it).
template <class... A>
std::string cat(const A&... a) {
  std::string s;
  (s.append(a), ...);
  return s;
}

// A problem at the key's value (where the user must edit): "PATH KEY: text".
void value_problem(ConfigReader& r, std::string_view key, const std::string& text) {
  const toml::node* n = r.table().get(key);
  r.problems().add(n ? n->source() : r.where(key), cat(r.path(), " ", key, ": ", text));
}

// A number that may be written 2 or 2.0; nullopt (problem reported) when it is
// neither or outside [min, max].
double get_number(ConfigReader& r, std::string_view key, double def, double min, double max) {
  r.mark(key);
  const toml::node* n = r.table().get(key);
  if (!n) return def;
  double v = 0;
  if (auto f = n->as_floating_point()) v = f->get();
  else if (auto i = n->as_integer()) v = static_cast<double>(i->get());
  else {
    value_problem(r, key, "expected a number, like 2 or 0.5");
    return def;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    value_problem(r, key, cat("out of range: must be between ", std::to_string(static_cast<long long>(min)), " and ",
                              std::to_string(static_cast<long long>(max))));
    return def;
  }
  return v;
}

FloodConfig read_flood(ConfigReader& r, const FloodConfig& def) {
  FloodConfig f = def;
  f.burst = static_cast<int>(r.get_int("flood_burst", def.burst, 1, 10000));
  f.per_second = get_number(r, "flood_per_second", def.per_second, 0, 10000);
  return f;
}

// Server names appear in addresses ("#chan%NAME@domain"): a JID localpart
// cannot hold these, and '%' separates the name from the channel.
bool usable_server_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f || std::string_view("@/%\"&'<>:\\").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  return true;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

ServerConfig read_server(ConfigReader& s, const std::string& name, const FloodConfig& block_flood) {
  ServerConfig c;
  c.name = irc_lower(name);
  c.host = s.get_string("host", name);
  if (s.has("host") && (c.host.empty() || c.host.find_first_of(" \t\r\n/") != std::string::npos))
    value_problem(s, "host", cat("'", c.host, "' is not a host name or address"));
  // "[::1]" is accepted as written in URLs; the resolver wants it bare.
  if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']') c.host = c.host.substr(1, c.host.size() - 2);
  c.tls = s.get_bool("tls", true);
  c.port = static_cast<std::uint16_t>(s.get_int("port", c.tls ? 6697 : 6667, 1, 65535));
  c.verify = s.get_bool("verify", true);
  if (s.has("verify") && !c.tls) value_problem(s, "verify", "only applies with tls = true");
  c.ca_file = s.get_string("ca_file");
  if (s.has("ca_file") && s.table().get("ca_file")->is_string() && !c.ca_file.empty()) {
    if (!c.tls) value_problem(s, "ca_file", "only applies with tls = true");
    else if (!std::ifstream(c.ca_file).good()) value_problem(s, "ca_file", cat("cannot read '", c.ca_file, "'"));
  }
  c.password = s.get_secret("password", false);
  if (has_line_break(c.password))
    value_problem(s, s.has("password") ? "password" : "password_file", "must be one line");
  c.flood = read_flood(s, block_flood);
  return c;
}

}  // namespace

std::optional<ServerConfig> IrcConfig::server(const std::string& name) const {
  const std::string key = irc_lower(name);
  if (auto it = servers.find(key); it != servers.end()) return it->second;
  if (!other_servers || !usable_server_name(key)) return std::nullopt;
  // An unlisted server: the safe defaults (TLS, verified), the block's flood control.
  ServerConfig c;
  c.name = key;
  c.host = key;
  c.flood = flood;
  return c;
}

IrcConfig read_irc_config(ConfigReader& r) {
  IrcConfig c;
  c.fixed_server = r.get_string("fixed_server");
  c.other_servers = r.get_bool("other_servers", false);
  c.realname = r.get_string("realname", c.realname);
  if (c.realname.empty() || has_line_break(c.realname)) value_problem(r, "realname", "must be one line, not empty");
  c.grace_seconds = static_cast<int>(r.get_int("grace_seconds", c.grace_seconds, 0, 86400));
  c.reconnect_max_seconds = static_cast<int>(r.get_int("reconnect_max_seconds", c.reconnect_max_seconds, 1, 86400));
  c.flood = read_flood(r, c.flood);

  if (const toml::table* servers = r.get_table("servers")) {
    for (const auto& [key, node] : *servers) {
      const std::string name(key.str());
      const std::string path = cat(r.path(), " servers.\"", name, "\"");
      const toml::table* t = node.as_table();
      if (!t) {
        r.problems().add(key.source(), cat(path, ": must be a table ([irc.servers.\"", name, "\"])"));
        continue;
      }
      if (!usable_server_name(name)) {
        r.problems().add(key.source(), cat(path, ": '", name,
                                           "' cannot be part of an address (#chan%server@domain); name the table "
                                           "after the server and give its address as host = \"...\""));
        continue;
      }
      ConfigReader s(*t, path, r.problems());
      ServerConfig sc = read_server(s, name, c.flood);
      s.finish();
      if (auto it = c.servers.find(sc.name); it != c.servers.end()) {
        r.problems().add(key.source(), cat(path, ": the same server as \"", it->second.name,
                                           "\" (names are compared case-insensitively)"));
        continue;
      }
      c.servers.emplace(sc.name, std::move(sc));
    }
  }

  if (r.has("fixed_server") && r.table().get("fixed_server")->is_string()) {
    if (c.fixed_server.empty()) value_problem(r, "fixed_server", "must not be empty (leave it out instead)");
    else if (!c.servers.count(irc_lower(c.fixed_server)))
      value_problem(r, "fixed_server", cat("'", c.fixed_server, "' is not a listed server; add [irc.servers.\"",
                                           c.fixed_server, "\"]"));
    else c.fixed_server = irc_lower(c.fixed_server);
  }
  if (c.servers.empty() && !c.other_servers)
    r.problem({}, "no server can be reached: add [irc.servers.\"NAME\"] tables or other_servers = true");
  r.finish();
  return c;
}

}  // namespace sb::transport::irc
