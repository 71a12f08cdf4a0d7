// Scenarios: what the domain JID answers (SPEC §4) — disco, ping, version,
// XEP-0100, unknown iqs, and the router's drops.
#include <doctest/doctest.h>

#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

TEST_CASE("disco#info on the domain: gateway identity and features, for anyone") {
  CoreHarness h;
  h.tr.features_ = {"urn:example:extra"};
  auto out = h.send(
      "<iq type='get' id='d1' from='stranger@elsewhere.net/x' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  const auto& r = out.only();
  CHECK(r.type() == "result");
  CHECK(r.id() == "d1");
  CHECK(r.to() == "stranger@elsewhere.net/x");
  CHECK(r.from() == "mqtt.example.org");
  auto id = r.child("query", xmpp::ns::disco_info).child("identity");
  CHECK(std::string(id.attribute("category").value()) == "gateway");
  CHECK(std::string(id.attribute("type").value()) == "mqtt");
  CHECK(std::string(id.attribute("name").value()) == "MQTT gateway");
  auto f = disco_features(r);
  for (auto ns : {"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
                  "jabber:iq:register", "http://jabber.org/protocol/commands", "urn:xmpp:ping", "jabber:iq:version",
                  "urn:example:extra"})
    CHECK_MESSAGE(contains(f, ns), ns);
  CHECK_FALSE(contains(f, "jabber:iq:gateway"));  // the transport has no prompt

  h.tr.prompt = "phone number";
  auto again = h.send(
      "<iq type='get' id='d2' from='a@example.org/x' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  CHECK(contains(disco_features(again.only()), "jabber:iq:gateway"));
}

TEST_CASE("disco#items lists the transport's items as JIDs, escaped per XEP-0106") {
  CoreHarness h;
  h.tr.items_ = {{"home kitchen", "Kitchen"}, {"", "The gateway"}};
  h.register_user("alice@example.org");
  auto out = h.send(
      "<iq type='get' id='i1' from='alice@example.org/x' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  auto q = out.only().child("query", xmpp::ns::disco_items);
  std::vector<std::string> jids, names;
  for (auto it : q.children("item")) {
    jids.emplace_back(it.attribute("jid").value());
    names.emplace_back(it.attribute("name").value());
  }
  CHECK(jids == std::vector<std::string>{"home\\20kitchen@mqtt.example.org", "mqtt.example.org"});
  CHECK(names == std::vector<std::string>{"Kitchen", "The gateway"});

  // A device id is foreign text (an MQTT topic level): a control character in it
  // must not make the answer XML the server rejects (SPEC §3).
  h.tr.items_ = {{std::string("odd\x01id"), std::string("bad\x02name")}};
  auto odd = h.send(
      "<iq type='get' id='i3' from='alice@example.org/x' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  const std::string xml = odd.only().str();
  CHECK(xml.find("&#1") == std::string::npos);
  CHECK(xml.find("&#x1") == std::string::npos);
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find("bad") != std::string::npos);

  // Someone the domain does not serve (not allowed, or not registered where
  // registration is needed) sees no devices: the list is only for its users.
  h.tr.items_ = {{"home kitchen", "Kitchen"}};
  for (const char* stranger : {"mallory@evil.example/x", "bob@example.org/x"}) {
    auto none = h.send(std::string("<iq type='get' id='i4' from='") + stranger +
                       "' to='mqtt.example.org'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    auto nq = none.only().child("query", xmpp::ns::disco_items);
    CHECK(nq);
    CHECK_FALSE(nq.child("item"));
  }

  // An unknown node is not something we have.
  auto bad = h.send(
      "<iq type='get' id='i2' from='alice@example.org/x' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items' node='nope'/></iq>");
  CHECK(error_condition(bad.only()) == "item-not-found");
}

TEST_CASE("disco#items on the commands node shows what this requester may run") {
  CoreHarness h;
  h.tr.settings = {{"format", "Format"}};
  auto list = [&](const std::string& from) {
    auto out = h.send("<iq type='get' id='c' from='" + from +
                      "/x' to='mqtt.example.org'><query xmlns='http://jabber.org/protocol/disco#items' "
                      "node='http://jabber.org/protocol/commands'/></iq>");
    std::vector<std::string> nodes;
    for (auto it : out.only().child("query", xmpp::ns::disco_items).children("item"))
      nodes.emplace_back(it.attribute("node").value());
    return nodes;
  };
  CHECK(list("stranger@elsewhere.net").empty());
  CHECK(list("alice@example.org").empty());  // not registered yet: no settings
  h.register_user("alice@example.org");
  CHECK(list("alice@example.org") == std::vector<std::string>{"settings"});
  CHECK(list("root@admin.example") == std::vector<std::string>{"list-users", "stats", "disconnect-user"});
}

TEST_CASE("ping and version are answered for anyone") {
  CoreHarness h;
  auto ping = h.send("<iq type='get' id='p1' from='x@y.net/r' to='mqtt.example.org'><ping xmlns='urn:xmpp:ping'/></iq>");
  CHECK(ping.only().type() == "result");
  CHECK(ping.only().id() == "p1");

  auto ver = h.send(
      "<iq type='get' id='v1' from='x@y.net/r' to='mqtt.example.org'><query xmlns='jabber:iq:version'/></iq>");
  auto q = ver.only().child("query", xmpp::ns::version);
  CHECK(xmpp::child_text(q, "name", xmpp::ns::version) == "switchboard");
  CHECK(xmpp::child_text(q, "version", xmpp::ns::version) == "1.2.3");
}

TEST_CASE("an unknown iq gets service-unavailable; an iq result or error gets nothing") {
  CoreHarness h;
  auto out = h.send(
      "<iq type='get' id='u1' from='alice@example.org/r' to='mqtt.example.org'><query xmlns='urn:example:what'/></iq>");
  CHECK(error_condition(out.only()) == "service-unavailable");
  CHECK(out.only().id() == "u1");
  CHECK(out.only().to() == "alice@example.org/r");
  CHECK(out.only().from() == "mqtt.example.org");

  // A get of a set-only payload is just as unknown.
  auto cmd_get = h.send(
      "<iq type='get' id='u2' from='alice@example.org/r' to='mqtt.example.org'>"
      "<command xmlns='http://jabber.org/protocol/commands' node='stats'/></iq>");
  CHECK(error_condition(cmd_get.only()) == "service-unavailable");

  CHECK(h.send("<iq type='error' id='e1' from='alice@example.org/r' to='mqtt.example.org'>"
               "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
            .stanzas.empty());
  CHECK(h.send("<iq type='result' id='e2' from='alice@example.org/r' to='mqtt.example.org'/>").stanzas.empty());
  // Same for a legacy contact.
  CHECK(h.send("<iq type='error' id='e3' from='alice@example.org/r' to='dev@mqtt.example.org'/>").stanzas.empty());
  CHECK(h.send("<message type='error' id='e4' from='alice@example.org/r' to='mqtt.example.org'><body>x</body></message>")
            .stanzas.empty());
}

TEST_CASE("the router drops what it cannot answer and refuses bad addresses") {
  CoreHarness h;
  // No usable from: nobody to answer.
  CHECK(h.send("<iq type='get' id='1' to='mqtt.example.org'><ping xmlns='urn:xmpp:ping'/></iq>").stanzas.empty());
  CHECK(h.send("<iq type='get' id='2' from='@@bad' to='mqtt.example.org'><ping xmlns='urn:xmpp:ping'/></iq>")
            .stanzas.empty());
  // Another domain: not ours.
  CHECK(h.send("<iq type='get' id='3' from='a@example.org/r' to='irc.example.org'><ping xmlns='urn:xmpp:ping'/></iq>")
            .stanzas.empty());
  // A `to` at our domain that is not a JID: jid-malformed from the domain itself.
  auto out = h.send("<message id='4' from='a@example.org/r' to='a b@mqtt.example.org'><body>hi</body></message>");
  CHECK(error_condition(out.only()) == "jid-malformed");
  CHECK(out.only().from() == "mqtt.example.org");
}

TEST_CASE("XEP-0100: a prompt and its JID, escaped; invalid input is not acceptable") {
  CoreHarness h;
  auto unsupported = h.send(
      "<iq type='get' id='g0' from='alice@example.org/r' to='mqtt.example.org'><query xmlns='jabber:iq:gateway'/></iq>");
  CHECK(error_condition(unsupported.only()) == "service-unavailable");

  h.tr.prompt = "phone number";
  h.tr.resolve = [](std::string_view in) -> std::optional<std::string> {
    if (in.empty() || in[0] != '+') return std::nullopt;
    return "my phone " + std::string(in);
  };
  auto get = h.send(
      "<iq type='get' id='g1' from='alice@example.org/r' to='mqtt.example.org'><query xmlns='jabber:iq:gateway'/></iq>");
  auto q = get.only().child("query", xmpp::ns::gateway);
  CHECK(xmpp::child_text(q, "prompt", xmpp::ns::gateway) == "phone number");
  CHECK_FALSE(xmpp::child_text(q, "desc", xmpp::ns::gateway).empty());

  auto set = h.send(
      "<iq type='set' id='g2' from='alice@example.org/r' to='mqtt.example.org'><query xmlns='jabber:iq:gateway'>"
      "<prompt>+15551234567</prompt></query></iq>");
  CHECK(xmpp::child_text(set.only().child("query", xmpp::ns::gateway), "jid", xmpp::ns::gateway) ==
        "my\\20phone\\20+15551234567@mqtt.example.org");

  auto bad = h.send(
      "<iq type='set' id='g3' from='alice@example.org/r' to='mqtt.example.org'><query xmlns='jabber:iq:gateway'>"
      "<prompt>hello</prompt></query></iq>");
  CHECK(error_condition(bad.only()) == "not-acceptable");

  auto stranger = h.send(
      "<iq type='get' id='g4' from='eve@evil.net/r' to='mqtt.example.org'><query xmlns='jabber:iq:gateway'/></iq>");
  CHECK(error_condition(stranger.only()) == "forbidden");
}
