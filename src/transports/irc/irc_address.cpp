// Biboumi-compatible IRC addresses (SPEC §7). See irc_address.hpp.
//
// Decisions beyond Biboumi's documentation:
//  - the name and the server are split at the FIRST '%': a server name never
//    contains one, so a channel name cannot either ("#a%b%irc.x" is rejected);
//    this keeps every address unambiguous, also with a fixed_server;
//  - the server is a host name (labels of letters, digits, '-', '_'), an IPv4
//    literal, or a bare IPv6 literal ("::1", no brackets) — Biboumi has no IPv6
//    literals; allowing them costs nothing since ':' is XEP-0106-escaped in the
//    JID, and lets a gateway reach a server that has only an address;
//  - the server is ASCII-lower-cased (DNS names are case-insensitive), the name is
//    kept as given (IRC compares with irc_lower, and shows nicks as typed);
//  - nicks follow RFC 2812 (letters, digits, []\`_^{|}-; not starting with a digit
//    or '-') but may be up to 64 bytes, as many servers allow more than 9;
//  - channel names: up to 200 bytes, no space, ',', BEL; and, being part of a JID,
//    no control characters at all.
#include "transports/irc/irc_address.hpp"

namespace sb::transport::irc {
namespace {

constexpr std::size_t kMaxNick = 64;
constexpr std::size_t kMaxChannel = 200;
constexpr std::size_t kMaxHost = 253;

bool letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool special(char c) { return std::string_view("[]\\`_^{|}").find(c) != std::string_view::npos; }
bool control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool valid_nick(std::string_view s) {
  if (s.empty() || s.size() > kMaxNick) return false;
  if (!letter(s[0]) && !special(s[0])) return false;
  for (char c : s)
    if (!letter(c) && !digit(c) && !special(c) && c != '-') return false;
  return true;
}

bool valid_channel(std::string_view s) {
  if (!is_channel_name(s) || s.size() > kMaxChannel) return false;
  for (char c : s)
    if (control(c) || c == '@' || c == '/' || c == '%') return false;
  return true;
}

bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > kMaxHost) return false;
  std::size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;  // empty label: ".x", "a..b", and "x." too (below)
      label = 0;
    } else if (letter(c) || digit(c) || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool valid_ipv6_literal(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;  // "::" .. full form with embedded IPv4
  std::size_t colons = 0;
  for (char c : s) {
    if (c == ':') ++colons;
    else if (!hex(c) && c != '.') return false;
  }
  return colons >= 2;
}

bool valid_server(std::string_view s) { return valid_hostname(s) || valid_ipv6_literal(s); }

bool iequal(std::string_view a, std::string_view b) { return a.size() == b.size() && ascii_lower(a) == ascii_lower(b); }

}  // namespace

bool is_channel_name(std::string_view s) {
  if (s.empty() || std::string_view("#&+!").find(s[0]) == std::string_view::npos) return false;
  for (char c : s)
    if (c == ' ' || c == ',' || c == '\x07' || c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

std::optional<IrcAddress> parse_peer(std::string_view peer) {
  const auto pct = peer.find('%');
  if (pct == std::string_view::npos) {
    if (!valid_server(peer)) return std::nullopt;
    return IrcAddress{IrcAddress::Kind::Server, {}, ascii_lower(peer)};
  }
  const auto name = peer.substr(0, pct);
  const auto server = peer.substr(pct + 1);
  if (!valid_server(server)) return std::nullopt;  // also rejects a second '%'
  if (valid_channel(name)) return IrcAddress{IrcAddress::Kind::Channel, std::string(name), ascii_lower(server)};
  if (valid_nick(name)) return IrcAddress{IrcAddress::Kind::Nick, std::string(name), ascii_lower(server)};
  return std::nullopt;
}

std::string to_peer(const IrcAddress& a) {
  if (a.kind == IrcAddress::Kind::Server) return a.server;
  return std::string(a.name).append("%").append(a.server);
}

std::optional<std::string> IrcCodec::from_localpart(std::string_view localpart) const {
  if (fixed_.empty()) {
    auto a = parse_peer(localpart);
    if (!a) return std::nullopt;
    return to_peer(*a);
  }
  // The domain itself is the fixed server (to_localpart maps it to "").
  if (localpart.empty()) {
    auto a = parse_peer(fixed_);
    if (!a) return std::nullopt;
    return to_peer(*a);
  }
  // The full form is accepted too, but only for the fixed server: this domain
  // reaches no other.
  if (localpart.find('%') != std::string_view::npos) {
    auto a = parse_peer(localpart);
    if (!a || a->kind == IrcAddress::Kind::Server || !iequal(a->server, fixed_)) return std::nullopt;
    return to_peer(*a);
  }
  auto a = parse_peer(std::string(localpart).append("%").append(fixed_));
  if (!a) return std::nullopt;
  return to_peer(*a);
}

std::string IrcCodec::to_localpart(std::string_view peer) const {
  if (fixed_.empty()) return std::string(peer);
  if (iequal(peer, fixed_)) return {};  // the server: the domain JID itself
  const auto pct = peer.find('%');
  if (pct != std::string_view::npos && iequal(peer.substr(pct + 1), fixed_)) return std::string(peer.substr(0, pct));
  return std::string(peer);  // another server: keep the full form (from_localpart refuses it)
}

}  // namespace sb::transport::irc
