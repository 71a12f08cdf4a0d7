// Stanza: parse/serialise round trips from XEP examples and namespace helpers.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "component/namespaces.hpp"
#include "component/stanza.hpp"

using namespace sb::xmpp;

namespace {

// XEP-0030 §3.1 Example 2.
const char* kDiscoInfo = R"(<iq type='result' from='plays.shakespeare.lit' to='romeo@montague.net/orchard' id='info1'>
  <query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='conference' type='text' name='Play-Specific Chatrooms'/>
    <identity category='directory' type='chatroom' name='Play-Specific Chatrooms'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='http://jabber.org/protocol/muc'/>
    <feature var='jabber:iq:register'/>
    <feature var='jabber:iq:search'/>
    <feature var='jabber:iq:time'/>
    <feature var='jabber:iq:version'/>
  </query>
</iq>)";

// XEP-0077 §3.4 Example 8 (registration with a data form).
const char* kRegisterForm = R"(<iq type='result' from='contests.shakespeare.lit' id='reg3'>
  <query xmlns='jabber:iq:register'>
    <instructions>
      Use the enclosed form to register. If your Jabber client does not
      support Data Forms, visit http://www.shakespeare.lit/contests.php
    </instructions>
    <x xmlns='jabber:x:data' type='form'>
      <title>Contest Registration</title>
      <field type='hidden' var='FORM_TYPE'>
        <value>jabber:iq:register</value>
      </field>
      <field type='text-single' label='Given Name' var='first'><required/></field>
      <field type='list-single' label='Gender' var='x-gender'>
        <option label='Male'><value>M</value></option>
        <option label='Female'><value>F</value></option>
      </field>
    </x>
  </query>
</iq>)";

// parse -> str -> parse -> str is a fixed point.
std::string round_trip(const std::string& xml) {
  auto a = Stanza::parse(xml);
  REQUIRE(a);
  const std::string once = a->str();
  auto b = Stanza::parse(once);
  REQUIRE(b);
  CHECK(b->str() == once);
  return once;
}

}  // namespace

TEST_CASE("XEP-0030 disco#info result round-trips") {
  round_trip(kDiscoInfo);
  auto s = Stanza::parse(round_trip(kDiscoInfo));
  REQUIRE(s);
  CHECK(s->name() == "iq");
  CHECK(s->type() == "result");
  CHECK(s->from() == "plays.shakespeare.lit");
  CHECK(s->to() == "romeo@montague.net/orchard");
  CHECK(s->id() == "info1");
  auto q = s->child("query", ns::disco_info);
  REQUIRE(q);
  CHECK_FALSE(s->child("query", ns::disco_items));
  CHECK(std::string_view(child(q, "identity", ns::disco_info).attribute("category").value()) == "conference");
  int features = 0;
  for (auto f : q.children("feature")) {
    CHECK(ns_of(f) == ns::disco_info);  // inherited default namespace
    ++features;
  }
  CHECK(features == 7);
}

TEST_CASE("XEP-0077 registration form round-trips") {
  auto s = Stanza::parse(round_trip(kRegisterForm));
  REQUIRE(s);
  auto q = s->child("query", ns::register_);
  REQUIRE(q);
  CHECK(child_text(q, "instructions", ns::register_).find("Data Forms, visit") != std::string::npos);
  auto x = child(q, "x", ns::data_forms);
  REQUIRE(x);
  CHECK(child_text(x, "title", ns::data_forms) == "Contest Registration");
  CHECK_FALSE(child(x, "title", ns::register_));
  auto field = child(x, "field", ns::data_forms);
  CHECK(child_text(field, "value", ns::data_forms) == "jabber:iq:register");
  // Whitespace-only content survives (it may be what a user typed).
  auto m = Stanza::parse("<message><body>   </body></message>");
  REQUIRE(m);
  CHECK(child_text(m->root(), "body", ns::component) == "   ");
}

TEST_CASE("message body with markup characters and emoji") {
  const std::string text = "a & b < c > d \"q\" 'a' \xF0\x9F\x98\x80 ]]>";
  Stanza m = Stanza::make("message");
  m.set_attr("to", "alice@example.org").set_attr("type", "chat");
  append_text(m.root(), "body", text);
  const std::string xml = m.str();
  CHECK(xml.find("a &amp; b &lt; c &gt; d") != std::string::npos);
  CHECK(xml.find("<body>") != std::string::npos);
  auto back = Stanza::parse(xml);
  REQUIRE(back);
  CHECK(child_text(back->root(), "body", ns::component) == text);
  CHECK(back->to() == "alice@example.org");

  auto parsed = Stanza::parse("<message><body>a &amp; b &lt; c &gt; d &#x1F600;<![CDATA[<x>&]]></body></message>");
  REQUIRE(parsed);
  CHECK(child_text(parsed->root(), "body", ns::component) == "a & b < c > d \xF0\x9F\x98\x80<x>&");
}

TEST_CASE("set_text and set_attr sanitize foreign text") {
  Stanza m = Stanza::make("message");
  auto body = append_text(m.root(), "body", "old");
  set_text(body, std::string("x\x01y\0z\xFF", 6));
  CHECK(std::string(body.child_value()) == "xyz\xEF\xBF\xBD");
  m.set_attr("from", "a\x02" "b");
  CHECK(m.from() == "ab");
  m.set_attr("from", "");
  CHECK_FALSE(m.root().attribute("from"));
  auto again = Stanza::parse(m.str());
  REQUIRE(again);
}

TEST_CASE("namespaces: prefixed, default, undeclared") {
  auto e = Stanza::parse(
      "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  REQUIRE(e);
  CHECK(e->name() == "error");
  CHECK(ns_of(e->root()) == ns::stream);  // stream: resolves without the header
  CHECK(child(e->root(), "not-authorized", ns::streams_error));

  auto m = Stanza::parse(
      "<message xmlns:p='urn:a'><p:foo><p:bar/><baz/><q xmlns='urn:b'><r/></q><s xmlns=''/></p:foo>"
      "<x:y/></message>");
  REQUIRE(m);
  CHECK(ns_of(m->root()) == ns::component);
  auto foo = m->child("foo", "urn:a");
  REQUIRE(foo);
  CHECK(local_name(foo) == "foo");
  CHECK(child(foo, "bar", "urn:a"));
  CHECK_FALSE(child(foo, "bar", ns::component));
  CHECK(child(foo, "baz", ns::component));  // unprefixed: the default namespace, not p
  auto q = child(foo, "q", "urn:b");
  REQUIRE(q);
  CHECK(child(q, "r", "urn:b"));
  CHECK(child(foo, "s", ""));
  CHECK(ns_of(m->root().child("x:y")).empty());  // undeclared prefix
  CHECK(ns_of(m->root(), "jabber:client") == "jabber:client");

  // append() omits xmlns when the parent already has it.
  Stanza iq = Stanza::make("iq");
  auto query = append(iq.root(), "query", ns::disco_info);
  auto ident = append(query, "identity", ns::disco_info);
  append(query, "x", ns::data_forms);
  CHECK(iq.str() ==
        "<iq><query xmlns=\"http://jabber.org/protocol/disco#info\"><identity/>"
        "<x xmlns=\"jabber:x:data\"/></query></iq>");
  CHECK(ns_of(ident) == ns::disco_info);
}

TEST_CASE("Stanza::parse rejects what is not one element") {
  CHECK_FALSE(Stanza::parse(""));
  CHECK_FALSE(Stanza::parse("<a>"));
  CHECK_FALSE(Stanza::parse("<a></b>"));
  CHECK_FALSE(Stanza::parse("<a/><b/>"));
  CHECK_FALSE(Stanza::parse("text"));
  CHECK(Stanza::parse(" <a/> "));
}

TEST_CASE("clone is independent; moves keep the document") {
  auto a = Stanza::parse("<message id='1'><body>x</body></message>");
  REQUIRE(a);
  Stanza b = a->clone();
  b.set_attr("id", "2");
  CHECK(a->id() == "1");
  CHECK(b.id() == "2");
  Stanza c = std::move(b);
  CHECK(c.str() == "<message id=\"2\"><body>x</body></message>");
}

TEST_CASE("parse_owned: the same tree as parse, and it survives moves of the stanza") {
  // Long enough to be parsed in place (the receive path), with escapes that the
  // in-place parser rewrites inside the buffer.
  const std::string xml =
      "<message from='alice@example.org/phone' to='bob@gw.example.org' type='chat' id='m1'>"
      "<body>fish &amp; chips &lt;3 — ☕</body><request xmlns='urn:xmpp:receipts'/></message>";
  auto expected = Stanza::parse(xml);
  REQUIRE(expected);
  auto owned = Stanza::parse_owned(std::string(xml));
  REQUIRE(owned);
  CHECK(owned->str() == expected->str());
  // Moved many times (into containers, across reallocation): strings point into
  // the stanza's own buffer, which must move with it.
  std::vector<Stanza> v;
  for (int i = 0; i < 40; ++i) v.push_back(*Stanza::parse_owned(std::string(xml)));
  Stanza moved = std::move(v[17]);
  CHECK(moved.attr("from") == "alice@example.org/phone");
  CHECK(child_text(moved.root(), "body", "jabber:component:accept") == "fish & chips <3 — ☕");
  CHECK(moved.child("request", "urn:xmpp:receipts"));
  CHECK(moved.clone().str() == expected->str());
  // Changed after parsing: new text lives in pugixml's pages beside the buffer.
  moved.set_attr("to", "carol@example.org");
  CHECK(moved.attr("to") == "carol@example.org");
  CHECK(moved.str().find("carol@example.org") != std::string::npos);
}

TEST_CASE("parse_owned: short and malformed input") {
  auto s = Stanza::parse_owned(std::string("<iq/>"));  // short: copied, not in place
  REQUIRE(s);
  CHECK(s->name() == "iq");
  CHECK_FALSE(Stanza::parse_owned(std::string("<message><body>no end</body>") + std::string(80, ' ')));
  CHECK_FALSE(Stanza::parse_owned(std::string(100, ' ') + "<a/><b/>"));
  // Whatever parse() makes of an input, parse_owned() makes the same.
  const std::string tail = std::string("<a/>") + std::string(100, ' ') + "text";
  CHECK(Stanza::parse_owned(std::string(tail)).has_value() == Stanza::parse(tail).has_value());
}
