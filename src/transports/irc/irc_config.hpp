// The [[irc]] block's own keys (SPEC §2, §7), read through the ConfigReader with
// FILE:LINE:COL problems; no I/O. Example:
//
//   [[irc]]
//   domain = "irc.example.org"       # common keys (domain, secret, allow) read by the app
//   secret = "s3cret"
//   allow  = ["*@example.org"]
//   fixed_server = "irc.libera.chat" # optional: "#chan@domain" (must be a listed server)
//   other_servers = false            # may users reach servers not listed below? (default false)
//   realname = "switchboard user"    # default realname / username
//   grace_seconds = 30               # QUIT this long after the user left every room
//   flood_burst = 5                  # token bucket: lines sent at once ...
//   flood_per_second = 2.0           # ... then this many per second; 0 = flood control off
//   reconnect_max_seconds = 60       # backoff 1 s doubling up to this
//     [irc.servers."irc.libera.chat"]
//     host = "irc.libera.chat"       # where to connect (default: the table's name)
//     port = 6697                    # default 6697 with tls, 6667 without
//     tls = true                     # default true
//     verify = true                  # verify the certificate (and name, SNI) — default true
//     ca_file = ""                   # extra CA bundle (PEM), default: the system's
//     password = ""                  # server password (PASS), or password_file
//     flood_burst / flood_per_second # override the block's values for this server
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include "common/config_reader.hpp"

namespace sb::transport::irc {

struct FloodConfig {
  int burst = 5;
  double per_second = 2.0;  // 0 = off
  bool enabled() const { return per_second > 0; }
};

struct ServerConfig {
  std::string name;  // the address part: "irc.libera.chat"
  std::string host;
  std::uint16_t port = 6697;
  bool tls = true;
  bool verify = true;
  std::string ca_file;
  std::string password;
  FloodConfig flood;
};

struct IrcConfig {
  std::string fixed_server;  // irc_lower'd; empty: none
  bool other_servers = false;
  std::string realname = "switchboard user";
  int grace_seconds = 30;
  int reconnect_max_seconds = 60;
  FloodConfig flood;
  std::map<std::string, ServerConfig> servers;  // key: irc_lower(name)

  // The settings for `server`, compared case-insensitively (irc_lower): a listed
  // server, or — only when other_servers — the defaults (host = the name, port
  // 6697, TLS, verified, the block's flood values). nullopt when the user may not
  // reach it (or the name could not be part of an address).
  std::optional<ServerConfig> server(const std::string& name) const;
};

// Reads the block's irc keys and every [irc.servers."name"] table, then finish()es
// them all (unknown keys are problems, with their line). Problems are reported to
// `r`; the caller compares the problem count to know whether the result is usable.
// ServerConfig::name is irc_lower(table name); host defaults to the name as written.
IrcConfig read_irc_config(ConfigReader& r);

}  // namespace sb::transport::irc
