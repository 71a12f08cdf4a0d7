// Scenarios: the domain JID's presence follows the backend (LinkState), and
// subscriptions to the domain (SPEC §4 "Presence").
#include <doctest/doctest.h>

#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

TEST_CASE("subscribe to the domain: registered users get subscribed and the current presence") {
  CoreHarness h;
  // Not registered: refused without leaking presence.
  auto early = h.send("<presence type='subscribe' from='alice@example.org' to='mqtt.example.org'/>");
  CHECK(early.only().type() == "unsubscribed");
  CHECK_FALSE(h.reg.is_subscribed("mqtt.example.org", "alice@example.org", ""));

  h.register_user("alice@example.org");
  auto sub = h.send("<presence type='subscribe' id='s1' from='alice@example.org' to='mqtt.example.org'/>");
  REQUIRE(sub.stanzas.size() == 2);
  CHECK(sub.stanzas[0].type() == "subscribed");
  CHECK(sub.stanzas[0].from() == "mqtt.example.org");
  CHECK(sub.stanzas[0].to() == "alice@example.org");
  // The backend has not reported yet: the domain is unavailable, with a reason.
  CHECK(sub.stanzas[1].type() == "unavailable");
  CHECK_FALSE(xmpp::child_text(sub.stanzas[1].root(), "status", xmpp::ns::component).empty());
  CHECK(h.reg.is_subscribed("mqtt.example.org", "alice@example.org", ""));
  CHECK_FALSE(h.core().backend_up());

  auto unsub = h.send("<presence type='unsubscribe' from='alice@example.org' to='mqtt.example.org'/>");
  CHECK(unsub.only().type() == "unsubscribed");
  CHECK_FALSE(h.reg.is_subscribed("mqtt.example.org", "alice@example.org", ""));

  auto stranger = h.send("<presence type='subscribe' from='eve@evil.net' to='mqtt.example.org'/>");
  CHECK(stranger.only().type() == "unsubscribed");
}

TEST_CASE("LinkState up/down becomes the domain's presence to its subscribers; probes see it") {
  CoreHarness h;
  h.register_user("alice@example.org");
  h.register_user("bob@example.org");
  h.send("<presence type='subscribe' from='alice@example.org' to='mqtt.example.org'/>");
  h.send("<presence type='subscribe' from='bob@example.org' to='mqtt.example.org'/>");

  auto up = h.event(transport::LinkState{true, ""});
  REQUIRE(up.stanzas.size() == 2);
  for (auto& p : up.stanzas) {
    CHECK(p.name() == "presence");
    CHECK(p.type().empty());
    CHECK(p.from() == "mqtt.example.org");
  }
  CHECK(h.core().backend_up());
  // The same state again is not news.
  CHECK(h.event(transport::LinkState{true, ""}).stanzas.empty());

  auto probe = h.send("<presence type='probe' from='alice@example.org/r' to='mqtt.example.org'/>");
  CHECK(probe.only().type().empty());
  CHECK(probe.only().to() == "alice@example.org/r");

  auto down = h.event(transport::LinkState{false, "Broker refused the connection: not authorized"});
  REQUIRE(down.stanzas.size() == 2);
  CHECK(down.stanzas[0].type() == "unavailable");
  CHECK(xmpp::child_text(down.stanzas[0].root(), "status", xmpp::ns::component) ==
        "Broker refused the connection: not authorized");

  auto probe2 = h.send("<presence type='probe' from='alice@example.org/r' to='mqtt.example.org'/>");
  CHECK(probe2.only().type() == "unavailable");

  // A stranger's probe learns nothing.
  auto eve = h.send("<presence type='probe' from='eve@evil.net/r' to='mqtt.example.org'/>");
  CHECK(eve.only().type() == "unsubscribed");
}

TEST_CASE("a message with a body to the domain itself is refused; a chat state is ignored") {
  CoreHarness h;
  auto out = h.send("<message id='x' from='alice@example.org/r' to='mqtt.example.org'><body>hello?</body></message>");
  CHECK(error_condition(out.only()) == "service-unavailable");
  CHECK(h.send("<message from='alice@example.org/r' to='mqtt.example.org'>"
               "<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
            .stanzas.empty());
}
