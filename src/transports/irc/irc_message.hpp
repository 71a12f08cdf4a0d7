// One IRC protocol line (RFC 1459/2812 §2.3, IRCv3 message tags): pure parser
// and serialiser. Shared by the connection (edge) and the session logic (pure).
//
// Parsing never fails on odd input from the server: it returns nullopt only for a
// line with no command. Serialising can never emit more than one line: CR, LF and
// NUL are removed from every part (SPEC §7 "no injection"), a middle parameter that
// is empty, starts with ':' or contains a space is not allowed anywhere but last,
// and the last parameter gets a ':' when it needs one.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::transport::irc {

struct IrcMessage {
  // IRCv3 tags, unescaped values ("time" -> "2026-11-21T10:00:00.000Z"), in order.
  std::vector<std::pair<std::string, std::string>> tags;
  std::string prefix;   // "nick!user@host" or "server.name"; empty when absent
  std::string command;  // upper-cased: "PRIVMSG", "001", ...
  std::vector<std::string> params;  // the trailing one included, without its ':'

  const std::string* tag(std::string_view key) const;  // a repeated key: the last value
  std::string_view nick() const;  // prefix up to '!' or '@' (the whole prefix if neither)
  const std::string& param(std::size_t i) const;  // "" when absent
};

// `line` without the trailing CR LF (a trailing CR or LF is tolerated and dropped).
std::optional<IrcMessage> parse_line(std::string_view line);

// The wire form, without CR LF. Tags are not serialised for commands we send
// (we send no client tags); the prefix is, when set (fake servers in tests).
// Parts are sanitised as described above, and the parameter count is always kept:
// a bad middle parameter loses its spaces and leading ':'s, and becomes "*" if
// nothing is left. Only letters and digits of the command are kept; with none
// left the result is "" (nothing to send).
std::string serialize(const IrcMessage& m);
// Convenience: serialize({command, params}).
std::string make_line(std::string_view command, std::vector<std::string> params);

// Removes CR, LF and NUL: the only bytes that can end an IRC line early.
std::string strip_line_breaks(std::string_view s);

// RFC 1459 case mapping (also the server's CASEMAPPING=rfc1459 default):
// A-Z -> a-z and []\~ -> {}|^. For comparing nicks and channels.
std::string irc_lower(std::string_view s);

}  // namespace sb::transport::irc
