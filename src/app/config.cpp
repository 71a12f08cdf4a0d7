#include "app/config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "component/jid.hpp"

namespace sb::app {
namespace {

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
// The transports SPEC §2 defines; a block for one not compiled in gets a clear message.
constexpr std::array<std::string_view, 3> kSpecTransports = {"mqtt", "irc", "sms"};
constexpr std::array<std::string_view, 5> kSections = {"xmpp", "storage", "http", "log", "admins"};

bool is_domain_jid(std::string_view s) {
  auto j = sb::xmpp::Jid::parse(s);
  return j && j->is_domain();
}

void read_xmpp(ConfigReader& r, XmppConfig& x) {
  x.host = r.get_string("host", x.host);
  if (x.host.empty()) r.problem("host", "must not be empty");
  x.port = static_cast<int>(r.get_int("port", x.port, 1, 65535));
  x.max_stanza_bytes =
      static_cast<std::size_t>(r.get_int("max_stanza_bytes", static_cast<std::int64_t>(x.max_stanza_bytes), 1024,
                                         64 * 1024 * 1024));
  x.keepalive_seconds = static_cast<int>(r.get_int("keepalive_seconds", x.keepalive_seconds, 1, 86400));
  x.ping_timeout_seconds = static_cast<int>(r.get_int("ping_timeout_seconds", x.ping_timeout_seconds, 1, 3600));
  x.server_domain = r.get_string("server_domain", x.server_domain);
  if (!x.server_domain.empty() && !is_domain_jid(x.server_domain))
    r.problem("server_domain", "'" + x.server_domain + "' is not a valid domain");
  x.max_queue =
      static_cast<std::size_t>(r.get_int("max_queue", static_cast<std::int64_t>(x.max_queue), 1, 100'000'000));
  r.finish();
}

void read_http(ConfigReader& r, HttpConfig& h) {
  h.listen = r.get_string("listen", h.listen);
  if (h.listen.empty()) {  // "" disables the listener
    r.finish();
    return;
  }
  if (!parse_listen(h.listen)) {
    r.problem("listen", "'" + h.listen + "' is not HOST:PORT or [IPV6]:PORT (port 1..65535), or \"\" to disable");
  }
  r.finish();
}

void read_log(ConfigReader& r, LogConfig& l) {
  l.level = r.get_string("level", l.level);
  if (!valid_log_level(l.level))
    r.problem("level", "unknown level '" + l.level + "' (expected one of " + log_levels_text() + ")");
  r.finish();
}

void read_admins(ConfigReader& r, std::vector<std::string>& admins, ConfigProblems& problems) {
  r.mark("jids");
  const toml::array* arr = r.table().get_as<toml::array>("jids");
  admins = r.get_strings("jids");  // type problems reported here
  if (arr) {
    std::vector<std::string> ok;
    for (const auto& e : *arr) {
      auto s = e.as_string();
      if (!s) continue;
      auto j = sb::xmpp::Jid::parse(s->get());
      if (!j || j->local().empty() || !j->is_bare()) {
        problems.add(e.source(), "[admins] jids: '" + s->get() + "' is not a bare JID (user@domain)");
      } else {
        ok.push_back(j->bare_str());
      }
    }
    admins = std::move(ok);
  }
  r.finish();
}

struct BlockRef {
  std::string kind;
  int index;  // 1-based within its kind
  toml::table* table;
};

void read_component(const BlockRef& b, const std::shared_ptr<toml::table>& root, ConfigProblems& problems,
                    ComponentConfig& c) {
  ConfigReader r(*b.table, component_path(b.kind, b.index), problems);
  c.kind = b.kind;
  c.index = b.index;
  c.line = static_cast<int>(b.table->source().begin.line);
  c.column = static_cast<int>(b.table->source().begin.column);
  // Aliasing: shares ownership of the whole document, points at this block, and
  // keeps its source positions (a toml::table copy would drop them).
  c.block = std::shared_ptr<toml::table>(root, b.table);
  c.domain = r.require_string("domain");
  if (!c.domain.empty()) {
    auto j = sb::xmpp::Jid::parse(c.domain);
    if (!j || !j->is_domain()) r.problem("domain", "'" + c.domain + "' is not a valid domain");
    else c.domain = j->domain();  // case-folded, as it will appear in stanzas
  }
  c.secret = r.get_secret("secret", true);
  c.allow = r.get_strings("allow");
  if (c.kind == "irc") {  // the kinds with rooms; elsewhere these keys are unknown
    c.archive_days = static_cast<int>(r.get_int("archive_days", c.archive_days, 0, 36500));
    c.archive_max_lines = static_cast<int>(r.get_int("archive_max_lines", c.archive_max_lines, 1, 10'000'000));
    c.history_on_join = static_cast<int>(r.get_int("history_on_join", c.history_on_join, 0, 500));
  }
  // No finish(): the transport's factory reads the remaining keys and finishes
  // (component_reader()).
}

}  // namespace

bool valid_log_level(std::string_view level) {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

std::string log_levels_text() {
  std::string s;
  for (auto l : kLogLevels) {
    if (!s.empty()) s += ", ";
    s += l;
  }
  return s;
}

std::optional<ListenAddress> parse_listen(std::string_view s) {
  ListenAddress a;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    a.host = std::string(s.substr(1, close - 1));
    if (a.host.find(':') == std::string::npos) return std::nullopt;  // brackets are for IPv6 only
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    a.host = std::string(s.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6 needs brackets
    port = s.substr(colon + 1);
  }
  if (a.host.empty() || a.host.find_first_of(" \t[]") != std::string::npos) return std::nullopt;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return std::nullopt;
  a.port = static_cast<std::uint16_t>(p);
  return a;
}

std::string component_path(const std::string& kind, int index) {
  return "[[" + kind + "]] #" + std::to_string(index);
}

ConfigReader component_reader(const ComponentConfig& c, ConfigProblems& problems) {
  ConfigReader r(*c.block, component_path(c.kind, c.index), problems);
  // Read by parse_config already (factory.hpp: common keys are marked known).
  for (auto k : {"domain", "secret", "secret_file", "allow"}) r.mark(k);
  if (c.kind == "irc")
    for (auto k : {"archive_days", "archive_max_lines", "history_on_join"}) r.mark(k);
  return r;
}

Config parse_config(std::string_view text, const std::string& file_name, const std::vector<std::string>& known_kinds,
                    ConfigProblems& problems) {
  Config cfg;
  cfg.file = file_name;
  try {
    cfg.root = std::make_shared<toml::table>(toml::parse(text, file_name));
  } catch (const toml::parse_error& e) {
    // toml++ stops at the first syntax error; report it in the same form.
    problems.add(e.source(), std::string(e.description()));
    return cfg;
  }
  toml::table& root = *cfg.root;

  std::set<std::string, std::less<>> known_names;
  for (auto s : kSections) known_names.insert(std::string(s));
  for (const auto& k : known_kinds) known_names.insert(k);

  std::vector<BlockRef> blocks;
  bool unbuilt_transport = false;
  for (auto& [key, node] : root) {
    const std::string name(key.str());
    auto section = [&](auto&& read) {
      if (auto t = node.as_table()) {
        ConfigReader r(*t, "[" + name + "]", problems);
        read(r);
      } else {
        problems.add(key.source(), "'" + name + "' must be a table ([" + name + "])");
      }
    };
    if (name == "xmpp") {
      section([&](ConfigReader& r) { read_xmpp(r, cfg.xmpp); });
    } else if (name == "storage") {
      section([&](ConfigReader& r) {
        cfg.storage.path = r.get_string("path", cfg.storage.path);
        if (cfg.storage.path.empty()) r.problem("path", "must not be empty");
        r.finish();
      });
    } else if (name == "http") {
      section([&](ConfigReader& r) { read_http(r, cfg.http); });
    } else if (name == "log") {
      section([&](ConfigReader& r) { read_log(r, cfg.log); });
    } else if (name == "admins") {
      section([&](ConfigReader& r) { read_admins(r, cfg.admins, problems); });
    } else if (std::find(known_kinds.begin(), known_kinds.end(), name) != known_kinds.end()) {
      auto arr = node.as_array();
      if (!arr) {
        problems.add(key.source(), "'" + name + "' must be written [[" + name + "]]: one block per component domain");
        continue;
      }
      int index = 0;
      for (auto& e : *arr) {
        ++index;
        if (auto t = e.as_table()) blocks.push_back(BlockRef{name, index, t});
        else problems.add(e.source(), "'" + name + "' must be written [[" + name + "]]: one block per component domain");
      }
    } else if (std::find(kSpecTransports.begin(), kSpecTransports.end(), name) != kSpecTransports.end()) {
      unbuilt_transport = true;
      problems.add(key.source(), "transport '" + name + "' is not built into this switchboard");
    } else if (name == "loopback") {
      // The test transport (tests/fixtures/loopback), compiled in only on request.
      unbuilt_transport = true;
      problems.add(key.source(), "transport 'loopback' is not built into this switchboard "
                                 "(it is the test transport: configure with -DSB_TEST_TRANSPORT=ON)");
    } else {
      std::string text = "unknown section '" + name + "'";
      if (auto s = did_you_mean(name, known_names); !s.empty()) text += "; did you mean '" + s + "'?";
      problems.add(key.source(), std::move(text));
    }
  }

  // File order, so "duplicate" points at the later block.
  std::sort(blocks.begin(), blocks.end(), [](const BlockRef& a, const BlockRef& b) {
    return std::pair(a.table->source().begin.line, a.table->source().begin.column) <
           std::pair(b.table->source().begin.line, b.table->source().begin.column);
  });
  for (const auto& b : blocks) {
    ComponentConfig c;
    read_component(b, cfg.root, problems, c);
    if (!c.domain.empty()) {
      auto first = std::find_if(cfg.components.begin(), cfg.components.end(),
                                [&](const ComponentConfig& o) { return o.domain == c.domain; });
      if (first != cfg.components.end()) {
        ConfigReader r(*b.table, component_path(b.kind, b.index), problems);
        r.problem("domain", "duplicate domain '" + c.domain + "' (already used by " +
                                component_path(first->kind, first->index) + " at line " +
                                std::to_string(first->line) + ")");
      }
    }
    cfg.components.push_back(std::move(c));
  }
  if (blocks.empty() && !unbuilt_transport)
    problems.add(0, 0, "no component blocks: add at least one [[mqtt]], [[irc]] or [[sms]] block");
  problems.sort();
  return cfg;
}

Config load_config(const std::string& path, const std::vector<std::string>& known_kinds, ConfigProblems& problems) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    problems.add(0, 0, "cannot read the configuration file: it is a directory");
    Config cfg;
    cfg.file = path;
    return cfg;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    problems.add(0, 0, std::string("cannot read the configuration file: ") + std::strerror(err));
    Config cfg;
    cfg.file = path;
    return cfg;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, known_kinds, problems);
}

}  // namespace sb::app
