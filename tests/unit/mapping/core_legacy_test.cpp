// Scenarios: a user talking to legacy contacts through the core — checks,
// Commands to the transport, outcomes back as errors or receipts, and what the
// legacy side sends in.
#include <doctest/doctest.h>

#include <algorithm>

#include "component/xml_text.hpp"
#include "fakes/core_harness.hpp"
#include "mapping/core_state.hpp"

using namespace sb;
using namespace sb::test;

namespace {
std::string msg(const std::string& from, const std::string& to, const std::string& extra = "<body>hi</body>") {
  return "<message type='chat' id='m1' from='" + from + "' to='" + to + "'>" + extra + "</message>";
}
}  // namespace

TEST_CASE("a message to a legacy contact: forbidden, registration-required, then an OutboundMessage") {
  CoreHarness h;
  auto stranger = h.send(msg("eve@evil.net/r", "kitchen@mqtt.example.org"));
  CHECK(error_condition(stranger.only()) == "forbidden");
  CHECK(stranger.only().from() == "kitchen@mqtt.example.org");

  auto unregistered = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org"));
  CHECK(error_condition(unregistered.only()) == "registration-required");
  CHECK(unregistered.only().to() == "alice@example.org/phone");
  CHECK(unregistered.commands.empty());

  h.register_user("alice@example.org");
  auto ok = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org/lamp",
                       "<subject>topic</subject><body>on</body>"));
  CHECK(ok.stanzas.empty());
  auto sent = commands_of<transport::OutboundMessage>(ok);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].user == "alice@example.org");
  CHECK(sent[0].user_resource == "phone");
  CHECK(sent[0].peer == "kitchen");
  CHECK(sent[0].peer_resource == "lamp");
  CHECK(sent[0].body == "on");
  CHECK(sent[0].subject == "topic");
  CHECK(sent[0].kind == transport::MessageKind::Chat);
  CHECK_FALSE(sent[0].want_outcome);
}

TEST_CASE("legacy addresses: XEP-0106 escapes are decoded; a bad localpart is jid-malformed") {
  CoreHarness h;
  h.tr.needs_registration = false;  // allowed users may talk without registering
  auto out = h.send(msg("alice@example.org/r", "home\\2fliving\\20room@mqtt.example.org"));
  auto sent = commands_of<transport::OutboundMessage>(out);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].peer == "home/living room");

  auto bad = h.send(msg("alice@example.org/r", "no!such@mqtt.example.org"));
  CHECK(error_condition(bad.only()) == "jid-malformed");
  CHECK(bad.commands.empty());

  // Body-less messages (chat states) go nowhere, and are not answered.
  auto state = h.send(msg("alice@example.org/r", "kitchen@mqtt.example.org",
                          "<composing xmlns='http://jabber.org/protocol/chatstates'/>"));
  CHECK(state.stanzas.empty());
  CHECK(state.commands.empty());

  // iqs to a contact are not supported (yet).
  auto iq = h.send(
      "<iq type='get' id='p' from='alice@example.org/r' to='kitchen@mqtt.example.org'><ping xmlns='urn:xmpp:ping'/></iq>");
  CHECK(error_condition(iq.only()) == "service-unavailable");
}

TEST_CASE("a failed send comes back to the sender as the mapped stanza error with its text") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto out = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org"));
  auto ref = commands_of<transport::OutboundMessage>(out).at(0).ref;

  auto err = h.event(transport::SendOutcome{ref, false, transport::Failure::Unavailable, "The broker is down.", false});
  const auto& e = err.only();
  CHECK(e.name() == "message");
  CHECK(error_condition(e) == "recipient-unavailable");
  CHECK(error_text(e) == "The broker is down.");
  CHECK(e.to() == "alice@example.org/phone");
  CHECK(e.from() == "kitchen@mqtt.example.org");
  CHECK(e.id() == "m1");

  // The ref is answered once; unknown refs are ignored.
  CHECK(h.event(transport::SendOutcome{ref, false, transport::Failure::Internal, "again", false}).stanzas.empty());
  CHECK(h.event(transport::SendOutcome{9999, false, transport::Failure::Internal, "?", false}).stanzas.empty());

  auto out2 = h.send(msg("alice@example.org/phone", "nobody@mqtt.example.org"));
  auto ref2 = commands_of<transport::OutboundMessage>(out2).at(0).ref;
  CHECK(ref2 != ref);
  auto nf = h.event(transport::SendOutcome{ref2, false, transport::Failure::NotFound, "No such device.", false});
  CHECK(error_condition(nf.only()) == "item-not-found");
}

TEST_CASE("XEP-0184: a receipt request is passed on and answered once the transport confirms delivery") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto out = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org",
                        "<body>on</body><request xmlns='urn:xmpp:receipts'/>"));
  auto m = commands_of<transport::OutboundMessage>(out).at(0);
  CHECK(m.want_outcome);

  // Accepted, not yet delivered: nothing yet.
  CHECK(h.event(transport::SendOutcome{m.ref, true, transport::Failure::Internal, "", false}).stanzas.empty());
  auto rcpt = h.event(transport::SendOutcome{m.ref, true, transport::Failure::Internal, "", true});
  const auto& r = rcpt.only();
  CHECK(r.name() == "message");
  CHECK(r.from() == "kitchen@mqtt.example.org");
  CHECK(r.to() == "alice@example.org/phone");
  CHECK_FALSE(r.id().empty());
  CHECK(r.id() != "m1");
  CHECK(std::string(r.child("received", xmpp::ns::receipts).attribute("id").value()) == "m1");
  // Delivered without a request: no receipt.
  auto out2 = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org"));
  auto ref2 = commands_of<transport::OutboundMessage>(out2).at(0).ref;
  CHECK(h.event(transport::SendOutcome{ref2, true, transport::Failure::Internal, "", true}).stanzas.empty());
}

TEST_CASE("inbound messages: sanitised body, OOB, delay, origin-id, to one user or to subscribers") {
  CoreHarness h;
  transport::InboundMessage in;
  in.user = "alice@example.org";
  in.peer = "home/kitchen";
  in.body = std::string("temp \xff\xfe 21\x01\x02 \xe2\x82 ok <&>");
  in.id = "legacy-42";
  in.oob_url = "https://media.example/x.jpg";
  in.timestamp_ms = 1'700'000'000'123;
  auto out = h.event(in);
  const auto& m = out.only();
  CHECK(m.from() == "home\\2fkitchen@mqtt.example.org");
  CHECK(m.to() == "alice@example.org");
  CHECK(m.type() == "chat");
  CHECK_FALSE(m.id().empty());
  auto body = xmpp::child_text(m.root(), "body", xmpp::ns::component);
  CHECK(xmpp::is_valid_utf8(body));
  CHECK(body.find('\x01') == std::string::npos);
  CHECK(body.find("ok <&>") != std::string::npos);
  // What goes on the wire parses back as XML.
  auto reparsed = xmpp::Stanza::parse(m.str());
  REQUIRE(reparsed);
  CHECK(xmpp::child_text(reparsed->root(), "body", xmpp::ns::component) == body);
  CHECK(xmpp::child_text(m.child("x", xmpp::ns::oob), "url", xmpp::ns::oob) == "https://media.example/x.jpg");
  CHECK(std::string(m.child("delay", xmpp::ns::delay).attribute("stamp").value()) == "2023-11-14T22:13:20.123Z");
  CHECK(std::string(m.child("origin-id", xmpp::ns::sid).attribute("id").value()) == "legacy-42");

  // No user: every allowed subscriber of the peer gets it.
  h.reg.set_subscribed("mqtt.example.org", "bob@example.org", "home/kitchen", true);
  h.reg.set_subscribed("mqtt.example.org", "carol@example.org", "home/kitchen", true);
  h.reg.set_subscribed("mqtt.example.org", "eve@evil.net", "home/kitchen", true);  // no longer allowed
  h.reg.set_subscribed("mqtt.example.org", "dave@example.org", "other", true);
  transport::InboundMessage all;
  all.peer = "home/kitchen";
  all.peer_resource = "sensor";
  all.body = "22";
  all.kind = transport::MessageKind::Headline;
  auto fan = h.event(all);
  REQUIRE(fan.stanzas.size() == 2);
  std::vector<std::string> to;
  for (auto& s : fan.stanzas) {
    to.emplace_back(s.to());
    CHECK(s.from() == "home\\2fkitchen@mqtt.example.org/sensor");
    CHECK(s.type() == "headline");
  }
  CHECK(fan.stanzas[0].id() != fan.stanzas[1].id());
  CHECK(to == std::vector<std::string>{"bob@example.org", "carol@example.org"});
}

TEST_CASE("presence to a contact: subscribe is approved and remembered; others are passed on") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto sub = h.send("<presence type='subscribe' from='alice@example.org' to='kitchen@mqtt.example.org'/>");
  CHECK(h.reg.is_subscribed("mqtt.example.org", "alice@example.org", "kitchen"));
  CHECK(sub.only().type() == "subscribed");
  CHECK(sub.only().from() == "kitchen@mqtt.example.org");
  auto op = commands_of<transport::OutboundPresence>(sub);
  REQUIRE(op.size() == 1);
  CHECK(op[0].type == "subscribe");
  CHECK(op[0].peer == "kitchen");

  auto probe = h.send("<presence type='probe' from='alice@example.org/r' to='kitchen@mqtt.example.org'/>");
  CHECK(probe.stanzas.empty());
  CHECK(commands_of<transport::OutboundPresence>(probe).at(0).type == "probe");

  auto avail = h.send(
      "<presence from='alice@example.org/r' to='kitchen@mqtt.example.org'><show>dnd</show><status>busy</status></presence>");
  auto a = commands_of<transport::OutboundPresence>(avail).at(0);
  CHECK(a.available);
  CHECK(a.show == "dnd");
  CHECK(a.status == "busy");
  CHECK(a.user_resource == "r");

  auto unsub = h.send("<presence type='unsubscribe' from='alice@example.org' to='kitchen@mqtt.example.org'/>");
  CHECK_FALSE(h.reg.is_subscribed("mqtt.example.org", "alice@example.org", "kitchen"));
  CHECK(unsub.only().type() == "unsubscribed");

  // A stranger's subscribe is refused with an error; nothing reaches the transport.
  auto eve = h.send("<presence type='subscribe' from='eve@evil.net' to='kitchen@mqtt.example.org'/>");
  CHECK(error_condition(eve.only()) == "forbidden");
  CHECK(eve.commands.empty());
}

TEST_CASE("contact presence: to subscribers, re-announced on reconnect, unavailable on shutdown") {
  CoreHarness h;
  h.reg.set_subscribed("mqtt.example.org", "alice@example.org", "kitchen", true);
  h.reg.set_subscribed("mqtt.example.org", "alice@example.org", "", true);
  h.reg.set_subscribed("mqtt.example.org", "bob@example.org", "kitchen", true);
  auto up = h.event(transport::PresenceUpdate{"", "kitchen", "", true, "away", "idle"});
  REQUIRE(up.stanzas.size() == 2);
  CHECK(up.stanzas[0].type().empty());
  CHECK(xmpp::child_text(up.stanzas[0].root(), "show", xmpp::ns::component) == "away");
  CHECK(xmpp::child_text(up.stanzas[0].root(), "status", xmpp::ns::component) == "idle");
  h.event(transport::PresenceUpdate{"alice@example.org", "hall", "", true, "", ""});
  // bob's kitchen goes away again.
  auto down = h.event(transport::PresenceUpdate{"bob@example.org", "kitchen", "", false, "", "gone"});
  CHECK(down.only().type() == "unavailable");

  // Reconnect: the domain's presence to its subscribers, then each contact still available.
  auto again = h.connected();
  std::vector<std::string> seen;
  for (auto& s : again.stanzas)
    seen.push_back(std::string(s.from()) + ">" + std::string(s.to()) + ":" + std::string(s.type()));
  CHECK(seen == std::vector<std::string>{"mqtt.example.org>alice@example.org:unavailable",
                                         "hall@mqtt.example.org>alice@example.org:",
                                         "kitchen@mqtt.example.org>alice@example.org:"});

  auto bye = h.shutdown();
  seen.clear();
  for (auto& s : bye.stanzas)
    seen.push_back(std::string(s.from()) + ">" + std::string(s.to()) + ":" + std::string(s.type()));
  CHECK(seen == std::vector<std::string>{"hall@mqtt.example.org>alice@example.org:unavailable",
                                         "kitchen@mqtt.example.org>alice@example.org:unavailable",
                                         "mqtt.example.org>alice@example.org:unavailable"});
}

TEST_CASE("a command kept by its transport across a restart is answered from its origin") {
  std::string origin;
  {
    CoreHarness before;  // the run that accepted the command
    before.register_user("alice@example.org");
    auto out = before.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org",
                               "<body>on</body><request xmlns='urn:xmpp:receipts'/>"));
    origin = commands_of<transport::OutboundMessage>(out).at(0).origin;
    REQUIRE_FALSE(origin.empty());
  }
  CoreHarness after;  // a new process: its pending map knows nothing of ref 1
  after.register_user("alice@example.org");
  auto rcpt = after.event(transport::SendOutcome{.ref = 0, .ok = true, .delivered = true, .origin = origin});
  const auto& r = rcpt.only();
  CHECK(r.from() == "kitchen@mqtt.example.org");
  CHECK(r.to() == "alice@example.org/phone");
  CHECK(std::string(r.child("received", xmpp::ns::receipts).attribute("id").value()) == "m1");

  auto err = after.event(transport::SendOutcome{.ref = 0, .ok = false, .failure = transport::Failure::Unavailable,
                                                .text = "held too long", .origin = origin});
  CHECK(err.only().type() == "error");
  CHECK(err.only().to() == "alice@example.org/phone");
  CHECK(error_condition(err.only()) == "recipient-unavailable");

  // Anything that is not an origin the core made is ignored.
  // Well-formed but addressed outside this domain: ignored too.
  for (std::string bad : {"", "x", "7:message", "999999999:a", "5:iq-xx0:0:0:0:0", "7:message1:a1:b1:c4:chat1",
                          "7:message17:alice@example.org24:kitchen@elsewhere.example2:m14:chat1"})
    CHECK(after.event(transport::SendOutcome{.ref = 0, .ok = true, .delivered = true, .origin = bad}).stanzas.empty());
}

TEST_CASE("also_to (e.g. MQTT config subscribers): each user once, JIDs case-folded, non-JIDs skipped") {
  CoreHarness h;
  h.reg.set_subscribed("mqtt.example.org", "alice@example.org", "kitchen", true);  // also in the roster
  auto out = h.event(transport::InboundMessage{
      .peer = "kitchen",
      .body = "21.5",
      .also_to = {"Alice@Example.org", "bob@example.org", "bob@example.org", "not a jid", "example.org"}});
  std::vector<std::string> to;
  for (const auto& s : out.stanzas) to.emplace_back(s.to());
  std::sort(to.begin(), to.end());
  CHECK(to == std::vector<std::string>{"alice@example.org", "bob@example.org"});
}

TEST_CASE("a transport that keeps nothing across a restart gets no origin, and still its outcomes") {
  CoreHarness h;
  h.tr.durable = false;  // e.g. IRC
  h.register_user("alice@example.org");
  auto out = h.send(msg("alice@example.org/phone", "kitchen@mqtt.example.org",
                        "<body>on</body><request xmlns='urn:xmpp:receipts'/>"));
  const auto cmd = commands_of<transport::OutboundMessage>(out).at(0);
  CHECK(cmd.origin.empty());
  // Answered within the run by its ref, as before.
  auto rcpt = h.event(transport::SendOutcome{.ref = cmd.ref, .ok = true, .delivered = true});
  const auto& r = rcpt.only();
  CHECK(r.name() == "message");
  CHECK(r.child("received", "urn:xmpp:receipts"));
}

TEST_CASE("a command's outcome is answered within kPendingMaxAgeMs; older ones are forgotten once more traffic comes") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto ref_of = [&](std::string_view id) {
    auto out = h.send("<message from='alice@example.org/phone' to='kitchen@mqtt.example.org' type='chat' id='" +
                      std::string(id) + "'><body>on</body></message>");
    return commands_of<transport::OutboundMessage>(out).at(0).ref;
  };
  const auto old_ref = ref_of("old");
  h.clock.advance(std::chrono::milliseconds(mapping::detail::kPendingMaxAgeMs - 60'000));
  const auto recent_ref = ref_of("recent");  // 29 minutes later: "old" is still kept
  auto err = h.event(transport::SendOutcome{old_ref, false, transport::Failure::Unavailable, "late", false});
  CHECK(err.only().id() == "old");

  const auto older_ref = ref_of("older");
  h.clock.advance(std::chrono::milliseconds(mapping::detail::kPendingMaxAgeMs));
  ref_of("later");  // this put forgets what is 30 minutes old
  CHECK(h.event(transport::SendOutcome{older_ref, false, transport::Failure::Unavailable, "too late", false})
            .stanzas.empty());
  CHECK(h.event(transport::SendOutcome{recent_ref, false, transport::Failure::Unavailable, "too late", false})
            .stanzas.empty());
}

TEST_CASE("presences wait for their outcome without an age limit (an IRC join can wait for a long reconnect)") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto out = h.send("<presence from='alice@example.org/phone' to='kitchen@mqtt.example.org/alice' id='p1'>"
                    "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  const auto ref = commands_of<transport::OutboundPresence>(out).at(0).ref;
  h.clock.advance(std::chrono::milliseconds(3 * mapping::detail::kPendingMaxAgeMs));
  // The presence a server sends each contact at every login (to a bare JID, no
  // MUC <x/>) gets no answer from any transport: not kept, so a burst of them does
  // not push the join out.
  for (std::size_t i = 0; i <= mapping::detail::kMaxPending; ++i)
    h.send("<presence from='alice@example.org/phone' to='dev" + std::to_string(i) + "@mqtt.example.org'/>");
  h.send("<message from='alice@example.org/phone' to='kitchen@mqtt.example.org' type='chat' id='m9'><body>x</body>"
         "</message>");  // a put: ages out what is old in the messages' map
  auto err = h.event(transport::SendOutcome{ref, false, transport::Failure::Unavailable, "reconnect failed", false});
  const auto& e = err.only();
  CHECK(e.name() == "presence");
  CHECK(e.type() == "error");
  CHECK(e.id() == "p1");
}
