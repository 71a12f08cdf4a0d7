// The XEP-0114 session against a scripted server (SPEC §3): handshake, stream
// errors with hints, framing errors, queueing while disconnected, ping-proven
// delivery and replay with stable origin-ids, keepalive and timeouts.
#include <doctest/doctest.h>

#include "component/component_session.hpp"
#include "component/handshake.hpp"
#include "component/namespaces.hpp"

using namespace sb;
using namespace sb::xmpp;

namespace {

const char* kServerHeader =
    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='jabber:component:accept' from='gw.example.org' id='3BF96D32'>";

SessionConfig config() {
  SessionConfig c;
  c.domain = "gw.example.org";
  c.secret = "s3cret";
  c.ping_target = "example.org";
  return c;
}

Stanza msg(const std::string& body) {
  auto s = Stanza::parse("<message from='gw.example.org' to='alice@example.org' type='chat'><body>" + body +
                         "</body></message>");
  REQUIRE(s);
  return std::move(*s);
}

// Connects and completes the handshake; returns what the session wrote.
std::string authenticate(ComponentSession& s) {
  s.on_connected();
  std::string out = s.take_output();
  s.on_bytes(kServerHeader);
  out += s.take_output();
  s.on_bytes("<handshake/>");
  out += s.take_output();
  return out;
}

std::string ping_id_in(const std::string& out) {
  auto p = out.rfind("id='sb-ack-");
  REQUIRE(p != std::string::npos);
  auto start = p + 4;
  return out.substr(start, out.find('\'', start) - start);
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("handshake: stream header to the domain, SHA-1(id + secret), then ready") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  s.on_connected();
  auto header = s.take_output();
  CHECK(header.find("<stream:stream") != std::string::npos);
  CHECK(header.find("xmlns='jabber:component:accept'") != std::string::npos);
  CHECK(header.find("to='gw.example.org'") != std::string::npos);
  CHECK(s.state() == SessionState::Opening);

  s.on_bytes(kServerHeader);
  CHECK(s.take_output() == "<handshake>" + handshake_digest("3BF96D32", "s3cret") + "</handshake>");
  CHECK_FALSE(s.ready());
  s.on_bytes("<handshake/>");
  CHECK(s.ready());
  CHECK(s.take_authenticated());
  CHECK_FALSE(s.take_authenticated());  // once per handshake
}

TEST_CASE("a refused handshake is a failure naming the condition and a hint") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  s.on_connected();
  s.on_bytes(kServerHeader);
  s.on_bytes("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
  auto f = s.take_failure();
  REQUIRE(f);
  CHECK(f->condition == "not-authorized");
  CHECK(f->text.find("check the secret") != std::string::npos);
  CHECK(f->by_peer);
  CHECK_FALSE(s.ready());
}

TEST_CASE("conflict and host-unknown carry their hints") {
  CHECK(stream_error_hint("conflict").find("another instance") != std::string_view::npos);
  CHECK(stream_error_hint("host-unknown").find("no such component") != std::string_view::npos);
}

TEST_CASE("stanzas sent while disconnected wait, then go out in order after the handshake") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  s.send(msg("one"));
  s.send(msg("two"));
  CHECK(s.take_output().empty());
  CHECK(s.waiting() == 2);
  auto out = authenticate(s);
  auto p1 = out.find("<body>one</body>");
  auto p2 = out.find("<body>two</body>");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(s.waiting() == 0);
  CHECK(s.unproven() == 2);
  // A ping to the server follows the batch: its answer proves delivery.
  CHECK(out.find("to='example.org'><ping xmlns='urn:xmpp:ping'/>") > p2);
}

TEST_CASE("an answered ping proves the stanzas before it; tokens are reported") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("a"), 11);
  s.send(msg("b"), 12);
  auto out = s.take_output();
  auto id = ping_id_in(out);
  CHECK(s.unproven() == 2);
  s.on_bytes("<iq type='result' from='example.org' to='gw.example.org' id='" + id + "'/>");
  CHECK(s.unproven() == 0);
  CHECK(s.take_proven() == std::vector<std::uint64_t>{11, 12});
  CHECK(s.take_received().empty());  // our ping answer is not the core's business
  // An error answer proves delivery just the same (the server read the ping).
  clock.advance(std::chrono::milliseconds(10));  // the next proof is due
  s.send(msg("c"), 13);
  id = ping_id_in(s.take_output());
  s.on_bytes("<iq type='error' from='example.org' id='" + id + "'><error type='cancel'/></iq>");
  CHECK(s.take_proven() == std::vector<std::uint64_t>{13});
}

TEST_CASE("only the pinged server's answer proves delivery: a user's forged result does not") {
  // SPEC §3: a proof releases the spool; a forged one would lose what a dropped
  // link then takes with it. The server stamps `from`; the id is not guessable.
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("a"), 21);
  const auto id = ping_id_in(s.take_output());
  CHECK(id.find("sb-ack-1") == std::string::npos);  // not a counter alone
  s.on_bytes("<iq type='result' from='mallory@example.org/x' id='" + id + "'/>");
  s.on_bytes("<iq type='result' id='" + id + "'/>");
  s.on_bytes("<iq type='result' from='example.org' id='sb-ack-1'/>");
  CHECK(s.take_proven().empty());
  CHECK(s.unproven() == 1);
  s.on_bytes("<iq type='result' from='Example.ORG' id='" + id + "'/>");
  CHECK(s.take_proven() == std::vector<std::uint64_t>{21});
}

TEST_CASE("stanzas written but not proven are re-sent after reconnect, same origin-id, before newer ones") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("first"));
  auto out1 = s.take_output();
  auto oid_pos = out1.find("<origin-id");
  REQUIRE(oid_pos != std::string::npos);
  auto oid = out1.substr(oid_pos, out1.find("/>", oid_pos) - oid_pos);
  CHECK(oid.find("urn:xmpp:sid:0") != std::string::npos);
  // The connection dies before the ping is answered.
  s.on_disconnected();
  s.send(msg("second"));
  auto out2 = authenticate(s);
  auto p1 = out2.find("<body>first</body>");
  auto p2 = out2.find("<body>second</body>");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(out2.find(oid) != std::string::npos);  // the same origin-id: a receiver can de-duplicate
  CHECK(count(out2, "<body>first</body>") == 1);
}

TEST_CASE("messages get exactly one origin-id; an existing one is kept") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  auto m = Stanza::parse("<message to='a@example.org'><body>x</body><origin-id xmlns='urn:xmpp:sid:0' id='mine'/></message>");
  s.send(std::move(*m));
  auto out = s.take_output();
  CHECK(count(out, "origin-id") == 1);
  CHECK((out.find("id='mine'") != std::string::npos || out.find("id=\"mine\"") != std::string::npos));
}

TEST_CASE("stanzas from the server reach the core, whatever the split") {
  const std::string wire = std::string(kServerHeader) + "<handshake/>" +
                           "<message from='alice@example.org/phone' to='echo@gw.example.org'><body>h\xC3\xA9llo</body></message>"
                           "  <iq type='get' id='1' from='alice@example.org/phone' to='gw.example.org'><ping xmlns='urn:xmpp:ping'/></iq>";
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    ManualClock clock;
    ComponentSession s(config(), clock);
    s.on_connected();
    s.on_bytes(wire.substr(0, cut));
    s.on_bytes(wire.substr(cut));
    auto got = s.take_received();
    REQUIRE(got.size() == 2);
    CHECK(got[0].name() == "message");
    CHECK(child_text(got[0].root(), "body", ns::component) == "h\xC3\xA9llo");
    CHECK(got[1].name() == "iq");
    CHECK_FALSE(s.take_failure());
  }
}

TEST_CASE("restricted XML, oversize and malformed input fail the stream with the right condition") {
  struct Case {
    std::string input;
    std::string condition;
  };
  SessionConfig cfg = config();
  cfg.max_stanza_bytes = 1024;
  std::vector<Case> cases = {
      {"<!DOCTYPE x [<!ENTITY a 'b'>]>", "restricted-xml"},
      {"<message><body>&custom;</body></message>", "restricted-xml"},
      {"<?php evil?>", "restricted-xml"},
      {"<message><body>" + std::string(2000, 'x') + "</body></message>", "policy-violation"},
      {"<message><body></message>", "not-well-formed"},
      {"<message><<>", "not-well-formed"},
  };
  for (auto& c : cases) {
    CAPTURE(c.input);
    ManualClock clock;
    ComponentSession s(cfg, clock);
    authenticate(s);
    s.on_bytes(c.input);
    auto f = s.take_failure();
    REQUIRE(f);
    CHECK(f->condition == c.condition);
    // We tell the server why before closing (RFC 6120 §4.9).
    CHECK(s.take_output().find("<" + c.condition + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") != std::string::npos);
  }
}

TEST_CASE("keepalive: whitespace and a ping after quiet; an unanswered ping means a dead link") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  clock.advance(std::chrono::seconds(30));
  s.on_tick();
  CHECK(s.take_output().empty());
  clock.advance(std::chrono::seconds(31));
  s.on_tick();
  auto out = s.take_output();
  CHECK(out.front() == ' ');
  CHECK(out.find("<ping xmlns='urn:xmpp:ping'/>") != std::string::npos);
  clock.advance(std::chrono::seconds(31));
  s.on_tick();
  auto f = s.take_failure();
  REQUIRE(f);
  CHECK(f->condition == "connection-timeout");
}

TEST_CASE("no handshake answer in time fails the connection") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  s.on_connected();
  s.on_bytes(kServerHeader);
  clock.advance(std::chrono::seconds(31));
  s.on_tick();
  auto f = s.take_failure();
  REQUIRE(f);
  CHECK(f->condition == "connection-timeout");
}

TEST_CASE("the queue is bounded: past max_queue the oldest waiting stanza is dropped") {
  ManualClock clock;
  SessionConfig cfg = config();
  cfg.max_queue = 3;
  ComponentSession s(cfg, clock);
  // (append, not "m" + to_string: GCC 12 -O2 warns falsely on that, bug 105651)
  for (int i = 1; i <= 5; ++i) s.send(msg(std::string("m").append(std::to_string(i))));
  CHECK(s.waiting() == 3);
  auto out = authenticate(s);
  CHECK(out.find("<body>m1</body>") == std::string::npos);
  CHECK(out.find("<body>m2</body>") == std::string::npos);
  CHECK(out.find("<body>m3</body>") != std::string::npos);
  CHECK(out.find("<body>m5</body>") != std::string::npos);
}

TEST_CASE("close writes pending stanzas, then </stream:stream>; the server's close ends it") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("bye"));
  s.close();
  auto out = s.take_output();
  auto pb = out.find("<body>bye</body>");
  auto pc = out.find("</stream:stream>");
  REQUIRE(pb != std::string::npos);
  REQUIRE(pc != std::string::npos);
  CHECK(pb < pc);
  s.on_bytes("</stream:stream>");
  auto f = s.take_failure();
  REQUIRE(f);
  CHECK(f->condition == "closed");
  // Not proven: still reported as undelivered, for the spool.
  auto und = s.undelivered();
  REQUIRE(und.size() == 1);
  CHECK(und[0].first.find("<body>bye</body>") != std::string::npos);
}

TEST_CASE("proof pings are rate-limited under load; stragglers are proven by the tick") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("a"), 1);
  auto id = ping_id_in(s.take_output());
  s.on_bytes("<iq type='result' from='example.org' id='" + id + "'/>");
  CHECK(s.take_proven() == std::vector<std::uint64_t>{1});
  // Within the proof interval: written, but no ping of its own.
  s.send(msg("b"), 2);
  auto out = s.take_output();
  CHECK(out.find("<body>b</body>") != std::string::npos);
  CHECK(out.find("urn:xmpp:ping") == std::string::npos);
  CHECK(s.unproven() == 1);
  // The next tick after the interval proves it.
  clock.advance(std::chrono::milliseconds(10));
  s.on_tick();
  id = ping_id_in(s.take_output());
  s.on_bytes("<iq type='result' from='example.org' id='" + id + "'/>");
  CHECK(s.take_proven() == std::vector<std::uint64_t>{2});
  // Many waiting stanzas get a proof at once, interval or not.
  for (std::uint64_t t = 10; t < 10 + 512; ++t) s.send(msg("x"), t);
  CHECK(s.take_output().find("urn:xmpp:ping") != std::string::npos);
}

TEST_CASE("take_output_into appends to what the link has not written yet, in order") {
  ManualClock clock;
  ComponentSession s(config(), clock);
  authenticate(s);
  s.send(msg("one"));
  std::string pending = "<!-- earlier bytes -->";  // what a link still holds
  s.take_output_into(pending);
  CHECK(pending.rfind("<!-- earlier bytes -->", 0) == 0);
  CHECK(pending.find("<body>one</body>") != std::string::npos);
  s.send(msg("two"));
  std::string empty;
  s.take_output_into(empty);  // an empty target takes the bytes as they are
  CHECK(empty.find("<body>two</body>") != std::string::npos);
  CHECK(empty.find("<body>one</body>") == std::string::npos);  // nothing written twice
  std::string none;
  s.take_output_into(none);
  CHECK(none.empty());
}
