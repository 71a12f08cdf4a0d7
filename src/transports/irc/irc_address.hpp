// Biboumi-compatible addresses (SPEC §7), pure:
//   room    "#chan%irc.server"  (also &chan, +chan, !chan)
//   person  "nick%irc.server"
//   server  "irc.server"
// With a per-domain fixed_server the server part is implied: "#chan", "nick",
// and the domain itself stands for the server.
// The legacy id (peer) used across the transport interface is always the full
// form with '%server' — the codec adds/removes it for fixed_server domains.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include "transports/api/address_codec.hpp"

namespace sb::transport::irc {

struct IrcAddress {
  enum class Kind { Channel, Nick, Server };
  Kind kind = Kind::Server;
  std::string name;    // "#chan" or "nick"; empty for Server
  std::string server;  // "irc.libera.chat"
};

// starts with # & + ! and has no space, comma, ^G (nor CR, LF, NUL)
bool is_channel_name(std::string_view s);

// peer -> address; nullopt if malformed (empty server, bad nick/channel characters,
// spaces, CR/LF/NUL, ...). Split at the first '%'; the server (host name, IPv4 or
// bare IPv6 literal) is ASCII-lower-cased. The rules: irc_address.cpp.
std::optional<IrcAddress> parse_peer(std::string_view peer);
std::string to_peer(const IrcAddress& a);

class IrcCodec final : public AddressCodec {
 public:
  explicit IrcCodec(std::string fixed_server = {}) : fixed_(std::move(fixed_server)) {}
  // With fixed_server: "" (the domain) -> the server; "#chan"/"nick" -> "...%server";
  // the full form only for that server.
  std::optional<std::string> from_localpart(std::string_view localpart) const override;
  // With fixed_server: "...%server" -> the name, the server itself -> "".
  std::string to_localpart(std::string_view peer) const override;
  const std::string& fixed_server() const { return fixed_; }

 private:
  std::string fixed_;
};

}  // namespace sb::transport::irc
