// The configuration file (SPEC §2), loaded into typed structs.
// Every problem is reported as FILE:LINE:COL: text, all at once; unknown keys are
// problems. Transport blocks ([[mqtt]], [[irc]], [[sms]], …) keep their table so
// the transport's factory reads its own keys (transports/api/factory.hpp).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <toml++/toml.h>
#include "common/config_reader.hpp"

namespace sb::app {

struct XmppConfig {
  std::string host = "127.0.0.1";
  int port = 5347;
  std::size_t max_stanza_bytes = 512 * 1024;
  int keepalive_seconds = 60;         // whitespace keepalive + ping to detect a dead link
  int ping_timeout_seconds = 30;      // no answer to a ping within this -> reconnect
  std::string server_domain;          // whom pings go to; default: the component domain minus its first label
  std::size_t max_queue = 100000;     // stanzas held while disconnected / unproven
};

struct StorageConfig { std::string path = "var/switchboard.sqlite"; };
struct HttpConfig { std::string listen = "127.0.0.1:8080"; };  // "" = no HTTP listener
struct LogConfig { std::string level = "info"; };

// One [[mqtt]] / [[irc]] / [[sms]] block.
struct ComponentConfig {
  std::string kind;                 // "mqtt"
  std::string domain;
  std::string secret;               // never logged
  std::vector<std::string> allow;   // JID globs
  // The rooms' archive (kinds with rooms: [[irc]]; README "Room archive"):
  // kept this many days (0 = no archive), at most this many lines per user and
  // room; this many lines given to a joining resource that asks for no other number.
  int archive_days = 30;
  int archive_max_lines = 10000;
  int history_on_join = 20;
  bool keeps_room_archive() const { return kind == "irc" && archive_days > 0; }
  int line = 0, column = 0;         // of the block, for messages
  int index = 0;                    // 1-based among blocks of its kind: "[[mqtt]] #2"
  // The whole block, for the transport factory. Shares ownership of Config::root
  // (aliasing), so source positions survive for the factory's problems.
  std::shared_ptr<toml::table> block;
};

struct Config {
  std::string file;
  XmppConfig xmpp;
  StorageConfig storage;
  HttpConfig http;
  LogConfig log;
  std::vector<std::string> admins;
  std::vector<ComponentConfig> components;
  std::shared_ptr<toml::table> root;  // keeps the parsed document alive
};

// Parses and validates the file's own keys (not the transports' keys: those are
// checked when the transports are constructed, which --check-config also does).
// Problems go to `problems`; the returned Config is meaningful only when none.
// Checks: TOML syntax, types, ranges, unknown keys, required keys, duplicate
// domains, secret vs secret_file, readable secret files, host:port syntax.
// `known_kinds` are the transport block names compiled in.
// Problems go to `problems`, sorted by position.
Config load_config(const std::string& path, const std::vector<std::string>& known_kinds, ConfigProblems& problems);
Config parse_config(std::string_view text, const std::string& file_name, const std::vector<std::string>& known_kinds,
                    ConfigProblems& problems);

// A reader over a component block for its transport's factory, with the common keys
// (domain, secret, secret_file, allow) already marked known; the factory reads its
// own keys and calls finish(). Borrows *c.block: keep the Config alive meanwhile.
ConfigReader component_reader(const ComponentConfig& c, ConfigProblems& problems);
std::string component_path(const std::string& kind, int index);  // "[[mqtt]] #1"

// [log] level / --log-level names: trace, debug, info, warn, error, critical, off.
bool valid_log_level(std::string_view level);
std::string log_levels_text();  // "trace, debug, …, off"

// [http] listen: "127.0.0.1:8080", "localhost:8080", "[::1]:8080". nullopt if malformed.
struct ListenAddress {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen(std::string_view s);

}  // namespace sb::app
