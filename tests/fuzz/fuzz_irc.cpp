// libFuzzer target: the IRC transport's pure codecs on bytes from an IRC server
// or an XMPP user (SPEC §7: "no injection", text never passed on raw; SPEC §10).
//
// Input layout: byte 0 = split budget (max_bytes for split_for_irc, 0..255); the
// rest is used whole as an IRC line / IRC text / XMPP body / address, and, split
// at 0xFF bytes, as the command and parameters of a message to serialise.
//
// Properties checked (abort on violation, so libFuzzer reports them):
//  - serialize() output never holds CR, LF or NUL;
//  - parse_line(serialize(m)) keeps the command and every parameter of a message
//    that parse_line produced, and the command and parameter count of any message
//    with a command (bad middle parameters are made harmless, never dropped);
//  - irc_to_xmpp_text() / decode_irc_text() output is valid UTF-8, and
//    irc_to_xmpp_text() == strip_formatting(decode_irc_text());
//  - split_for_irc(): no chunk is empty or over the budget or holds CR/LF/NUL;
//    chunks of valid UTF-8 are valid UTF-8; with a budget >= 4 the chunks hold
//    every non-space byte of the input, in order;
//  - parse_peer(to_peer(a)) == a, and IrcCodec from/to_localpart round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.hpp"
#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_message.hpp"
#include "transports/irc/irc_text.hpp"

using namespace sb::transport::irc;

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_irc: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool has_break(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string alnum_only(std::string_view s) {
  std::string out;
  for (char c : s)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
  return out;
}

std::string without_spaces_and_breaks(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\r' && c != '\n' && c != '\0') out += c;
  return out;
}

void check_parse(std::string_view line) {
  auto m = parse_line(line);
  if (!m) return;
  if (m->command.empty()) fail("parsed an empty command", line);
  const std::string once = serialize(*m);
  if (has_break(once)) fail("serialize emitted a line break", once);
  // A message straight from the parser is valid when its parts hold no CR/LF/NUL
  // (a line may carry a lone CR or NUL inside) and its command is alphanumeric:
  // then the wire form must carry it unchanged.
  bool valid = alnum_only(m->command) == m->command && !has_break(m->prefix);
  for (const auto& p : m->params) valid = valid && !has_break(p);
  auto re = parse_line(once);
  if (!valid) return;
  if (!re) fail("serialised message does not parse", once);
  if (re->command != m->command) fail("command changed", once);
  if (re->params != m->params) fail("parameters changed", once);
  if (serialize(*re) != once) fail("serialize is not a fixed point", once);
}

void check_build(std::string_view data) {
  // Command and parameters from 0xFF-separated parts: arbitrary bytes, spaces,
  // leading ':' and empty parameters included.
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto end = data.find('\xFF', start);
    if (end == std::string_view::npos) end = data.size();
    parts.emplace_back(data.substr(start, end - start));
    if (end == data.size()) break;
    start = end + 1;
  }
  IrcMessage m;
  m.command = parts[0];
  m.params.assign(parts.begin() + 1, parts.end());
  const std::string line = serialize(m);
  if (has_break(line)) fail("serialize emitted a line break", line);
  const std::string command = upper(alnum_only(m.command));
  if (command.empty()) {
    if (!line.empty()) fail("no command but a line", line);
    return;
  }
  auto re = parse_line(line);
  if (!re) fail("built message does not parse", line);
  if (re->command != command) fail("built command changed", line);
  if (re->params.size() != m.params.size()) fail("built parameter count changed", line);
  if (!m.params.empty() && re->params.back() != strip_line_breaks(m.params.back()))
    fail("last parameter changed beyond line-break removal", line);
}

void check_text(std::string_view bytes) {
  if (!sb::utf8::valid(decode_irc_text(bytes))) fail("decode_irc_text: invalid UTF-8");
  if (!sb::utf8::valid(irc_to_xmpp_text(bytes))) fail("irc_to_xmpp_text: invalid UTF-8");
  // Its plain-ASCII shortcut changes nothing.
  if (irc_to_xmpp_text(bytes) != strip_formatting(decode_irc_text(bytes))) fail("irc_to_xmpp_text: shortcut differs");
  (void)ctcp_action(bytes);
  (void)ctcp_command(bytes);
  if (auto a = ctcp_action(make_ctcp_action(bytes)); !a) fail("make_ctcp_action is not an action");
}

void check_split(std::string_view body, std::size_t max) {
  const auto chunks = split_for_irc(body, max);
  const std::size_t limit = max == 0 ? 1 : max;
  const bool valid_in = sb::utf8::valid(body);
  std::string joined;
  for (const auto& c : chunks) {
    if (c.empty()) fail("empty chunk");
    if (c.size() > limit) fail("chunk over the budget", c);
    if (has_break(c)) fail("chunk holds a line break", c);
    if (valid_in && !sb::utf8::valid(c)) fail("chunk cuts a character", c);
    joined += c;
  }
  if (max >= 4 && without_spaces_and_breaks(joined) != without_spaces_and_breaks(body))
    fail("chunks lost or changed text");
}

void check_address(std::string_view s) {
  if (auto a = parse_peer(s)) {
    const auto p = to_peer(*a);
    auto b = parse_peer(p);
    if (!b || b->kind != a->kind || b->name != a->name || b->server != a->server) fail("peer round trip", s);
    if (has_break(p) || p.find(' ') != std::string::npos || p.find('@') != std::string::npos) fail("bad peer", p);
  }
  for (const IrcCodec& codec : {IrcCodec(), IrcCodec("irc.example.org")}) {
    if (auto peer = codec.from_localpart(s)) {
      if (!parse_peer(*peer)) fail("codec made a peer that does not parse", *peer);
      auto lp = codec.to_localpart(*peer);
      auto again = codec.from_localpart(lp);
      if (!again || *again != *peer) fail("codec round trip", s);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_parse(rest);
  check_build(rest);
  check_text(rest);
  check_split(rest, max);
  check_address(rest);
  return 0;
}
