// message_text: the text path gives the same stanza as the document path
// (make_message + append_text + append + str), for any foreign text.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "component/builders.hpp"
#include "component/message_text.hpp"
#include "component/namespaces.hpp"
#include "component/stanza.hpp"
#include "component/xml_text.hpp"

using namespace sb::xmpp;

namespace {

// The document path, as the core built this message before message_text.
std::string via_document(const MessageText& m) {
  auto msg = make_message(m.from, m.to, m.type, m.id);
  if (m.subject) append_text(msg.root(), "subject", *m.subject);
  if (!m.body.empty()) append_text(msg.root(), "body", m.body);
  if (!m.oob_url.empty()) append_text(append(msg.root(), "x", ns::oob), "url", m.oob_url);
  if (!m.invite_jid.empty()) {
    auto x = append(msg.root(), "x", ns::conference);
    x.append_attribute("jid").set_value(sanitize_text(m.invite_jid).c_str());
    if (!m.invite_reason.empty()) x.append_attribute("reason").set_value(sanitize_text(m.invite_reason).c_str());
  }
  if (!m.delay_stamp.empty()) {
    auto d = append(msg.root(), "delay", ns::delay);
    d.append_attribute("from").set_value(std::string(m.delay_from).c_str());
    d.append_attribute("stamp").set_value(std::string(m.delay_stamp).c_str());
  }
  if (!m.origin_id.empty()) {
    auto o = append(msg.root(), "origin-id", ns::sid);
    o.append_attribute("id").set_value(sanitize_text(m.origin_id).c_str());
  }
  if (!m.stanza_id.empty()) {
    auto o = append(msg.root(), "stanza-id", ns::sid);
    o.append_attribute("id").set_value(sanitize_text(m.stanza_id).c_str());
    if (!m.stanza_id_by.empty()) o.append_attribute("by").set_value(sanitize_text(m.stanza_id_by).c_str());
  }
  return msg.str();
}

// Both texts parsed and printed by the same serialiser: equal iff the stanzas are.
void check_same(const MessageText& m) {
  const auto text = message_text(m);
  auto parsed = Stanza::parse(text);
  REQUIRE_MESSAGE(parsed, "not well-formed: " << text);
  CHECK(parsed->str() == via_document(m));
}

}  // namespace

TEST_CASE("a plain groupchat reflection") {
  MessageText m{.from = "#chan%irc.example.org@irc.example.org/alice", .to = "alice@example.org/phone",
                .type = "groupchat", .id = "sb1-7"};
  m.body = "hello everyone";
  m.origin_id = "client-id-1";
  CHECK(message_text(m) ==
        "<message from=\"#chan%irc.example.org@irc.example.org/alice\" to=\"alice@example.org/phone\" "
        "type=\"groupchat\" id=\"sb1-7\"><body>hello everyone</body>"
        "<origin-id xmlns=\"urn:xmpp:sid:0\" id=\"client-id-1\"/></message>");
  check_same(m);
}

TEST_CASE("a room's line carries the archive's stanza-id after the origin-id (XEP-0359)") {
  MessageText m{.from = "#chan%irc.example.org@irc.example.org/bob", .to = "alice@example.org/phone",
                .type = "groupchat", .id = "sb1-8"};
  m.body = "hi";
  m.origin_id = "sb1-8";
  m.stanza_id = "42";
  m.stanza_id_by = "#chan%irc.example.org@irc.example.org";
  CHECK(message_text(m) ==
        "<message from=\"#chan%irc.example.org@irc.example.org/bob\" to=\"alice@example.org/phone\" "
        "type=\"groupchat\" id=\"sb1-8\"><body>hi</body><origin-id xmlns=\"urn:xmpp:sid:0\" id=\"sb1-8\"/>"
        "<stanza-id xmlns=\"urn:xmpp:sid:0\" id=\"42\" by=\"#chan%irc.example.org@irc.example.org\"/></message>");
  check_same(m);
}

TEST_CASE("markup, quotes, controls and broken UTF-8 in every field come out valid and equal") {
  const std::vector<std::string> nasty = {
      "a < b && c > d", "\"double\" and 'single'", "]]> and <![CDATA[", "bell\x07 and nul", std::string("nul\0in", 6),
      "cut \xc3", "overlong \xc0\xaf", "surrogate \xed\xa0\x80", "U+FFFE \xef\xbf\xbe", "emoji \xf0\x9f\x98\x80",
      "tab\tnewline\ncr\r", "&amp; already escaped", "   only spaces   "};
  for (const auto& s : nasty) {
    const std::string subject = s;
    const std::string from = "peer@gw.example.org/" + s;
    MessageText m{.from = from, .to = "alice@example.org", .type = "chat", .id = s};
    m.subject = &subject;
    m.body = s;
    m.oob_url = s;
    m.delay_from = "gw.example.org";
    m.delay_stamp = "2026-11-21T10:00:00.000Z";
    m.origin_id = s;
    m.stanza_id = s;
    m.stanza_id_by = s;
    m.invite_jid = s;
    m.invite_reason = s;
    CAPTURE(s);
    check_same(m);
  }
}

TEST_CASE("optional parts: empty subject kept, empty body and attributes left out") {
  const std::string empty_subject;
  MessageText m{.from = "room@gw.example.org", .to = "alice@example.org", .type = "groupchat"};
  m.subject = &empty_subject;
  const auto text = message_text(m);
  CHECK(text.find("<subject/>") != std::string::npos);
  CHECK(text.find("<body") == std::string::npos);
  CHECK(text.find(" id=") == std::string::npos);
  check_same(m);
}
