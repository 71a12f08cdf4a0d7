// libFuzzer target: bytes from the XMPP server, in chunks whose sizes come from
// the input, through StreamFramer, Stanza and Jid (SPEC §3: "Never crash").
//
// Input layout: byte 0 = largest chunk (1..256), bytes 1-2 = seed of the chunk
// sizes, byte 3 = max element size in 256-byte units (+1); the rest is the stream.
//
// Properties checked (abort on violation, so libFuzzer reports them):
//  - the events do not depend on how the input is split;
//  - every framed element parses, serialises, and the serialisation re-parses
//    to the same bytes (fixed point);
//  - an Element never exceeds the configured maximum;
//  - a JID that parses prints to a string that parses to the same JID;
//    XEP-0106 unescape(escape(x)) == x;
//  - parse_owned (in place) gives the same stanza as parse;
//  - is_clean_text(x) says exactly whether sanitize_text(x) == x;
//  - message_text with foreign text in every field parses, and reads back as the
//    sanitised text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "component/jid.hpp"
#include "component/message_text.hpp"
#include "component/stanza.hpp"
#include "component/stream_framer.hpp"
#include "component/xml_text.hpp"

using namespace sb::xmpp;

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_stream: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool same(const std::vector<FramerEvent>& a, const std::vector<FramerEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].data != b[i].data || a[i].attributes != b[i].attributes) return false;
  }
  return true;
}

void check_jid(std::string_view s) {
  if (s.empty()) return;
  auto j = Jid::parse(s);
  if (!j) return;
  auto again = Jid::parse(j->str());
  if (!again || !(*again == *j)) fail("jid does not round-trip", s);
  if (unescape_localpart(escape_localpart(j->local())) != j->local()) fail("xep-0106 round trip", j->local());
  if (!j->bare().is_bare()) fail("bare() has a resource", s);
}

void check_element(const std::string& xml, std::size_t max) {
  if (xml.size() > max) fail("element over the limit");
  auto st = Stanza::parse(xml);
  if (!st) fail("framed element does not parse", xml);
  const std::string once = st->str();
  auto owned = Stanza::parse_owned(std::string(xml));
  if (!owned || owned->str() != once) fail("parse_owned differs from parse", xml);
  auto re = Stanza::parse(once);
  if (!re) fail("serialisation does not re-parse", once);
  if (re->str() != once) fail("serialisation is not a fixed point", once);
  check_jid(st->to());
  check_jid(st->from());
  (void)st->child("body", "jabber:component:accept");
  const std::string clean = sanitize_text(child_text(st->root(), "body", "jabber:component:accept"));
  if (!is_valid_utf8(clean)) fail("sanitize_text output is not UTF-8");
}

void check_clean(std::string_view s) {
  if (is_clean_text(s) != (sanitize_text(s) == s)) fail("is_clean_text disagrees with sanitize_text", s);
  const std::string subject(s.substr(0, 64));
  MessageText m{.from = s.substr(0, 40), .to = "alice@example.org", .type = "chat", .id = s.substr(0, 30)};
  m.subject = &subject;
  m.body = s;
  m.origin_id = s.substr(0, 20);
  const auto text = message_text(m);
  auto st = Stanza::parse(text);
  if (!st) fail("message_text is not well-formed", text);
  if (st->id() != sanitize_text(m.id)) fail("message_text id differs", text);
  if (!m.from.empty() && st->from() != sanitize_text(m.from)) fail("message_text from differs", text);
  if (!s.empty() && child_text(st->root(), "body", "jabber:component:accept") != sanitize_text(s))
    fail("message_text body differs", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t max_chunk = std::size_t(data[0]) + 1;
  std::uint32_t seed = (std::uint32_t(data[1]) << 8 | data[2]) | 1u;
  const std::size_t max = (std::size_t(data[3]) + 1) * 256;
  const std::string_view in(reinterpret_cast<const char*>(data + 4), size - 4);

  check_clean(in);  // raw bytes: any mix of controls, broken and valid UTF-8

  std::vector<FramerEvent> whole;
  {
    StreamFramer f(max);
    f.feed(in, whole);
  }

  std::vector<FramerEvent> chunked;
  StreamFramer f(max);
  std::size_t at = 0;
  while (at < in.size()) {
    seed ^= seed << 13;  // xorshift32: chunk sizes from the input's seed
    seed ^= seed >> 17;
    seed ^= seed << 5;
    const std::size_t n = 1 + seed % max_chunk;
    f.feed(in.substr(at, n), chunked);
    at += n;
  }
  if (!same(whole, chunked)) fail("events depend on the split");

  for (const auto& e : whole) {
    if (e.kind == FramerEvent::Kind::Element) check_element(e.data, max);
    if (e.kind == FramerEvent::Kind::StreamOpen) {
      for (const auto& [k, v] : e.attributes)
        if (!is_valid_utf8(v)) fail("header attribute is not UTF-8", v);
    }
  }
  return 0;
}
