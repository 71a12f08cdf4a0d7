// IrcSession scenarios (SPEC §7), the connection's life: lost connections,
// reconnect backoff and rejoin, the grace period before QUIT, disconnection.
#include <doctest/doctest.h>

#include "unit/irc/irc_session_scenario.hpp"

using namespace sb::test::irc_session;

TEST_CASE("lost connection: occupants go, a notice, reconnect with backoff, rejoin, sequence again") {
  Scenario t;
  t.joined();
  auto out = t.s.on_closed("Connection reset by peer", false);
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);  // bob and carol, not ourselves
  for (const auto& p : ps) {
    CHECK_FALSE(p.available);
    CHECK(p.status == "IRC connection lost: Connection reset by peer");
    CHECK(p.peer_resource != "alice");
  }
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == kRoom);
  CHECK(ms[0].peer_resource.empty());
  CHECK(ms[0].body.find("IRC connection lost: Connection reset by peer") != std::string::npos);
  CHECK(ms[0].kind == MessageKind::Groupchat);
  CHECK_FALSE(out.finished);
  CHECK(out.arm == SessionTimer::Reconnect);
  CHECK(out.arm_after == milliseconds(1000));
  CHECK(t.s.room_count() == 1);

  // Messages meanwhile are refused, not lost silently.
  auto o = all<SendOutcome>(t.say("phone", "anyone?"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::Unavailable);

  // Attempts fail: 2, 4, 8, 8 s (max 8 in this config).
  std::vector<milliseconds> delays;
  for (int i = 0; i < 4; ++i) {
    out = t.s.on_timer(SessionTimer::Reconnect);
    REQUIRE(out.connect);
    CHECK(out.connect->nick == "alice");
    out = t.s.on_closed("Connection refused", false);
    CHECK(out.events.empty());  // the user was told once
    REQUIRE(out.arm == SessionTimer::Reconnect);
    delays.push_back(out.arm_after);
  }
  CHECK(delays == std::vector<milliseconds>{milliseconds(2000), milliseconds(4000), milliseconds(8000),
                                            milliseconds(8000)});
  // A stale grace timer does nothing.
  CHECK(t.s.on_timer(SessionTimer::Grace).events.empty());

  out = t.s.on_timer(SessionTimer::Reconnect);
  REQUIRE(out.connect);
  out = t.s.on_registered("alice", false);
  CHECK(wire(out) == std::vector<std::string>{"JOIN #chan"});
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 353 alice = #chan :alice @bob");
  out = t.irc(":srv 366 alice #chan :End");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].peer_resource == "bob");
  CHECK(ps[0].available);
  CHECK(has_code(ps[1], 110));
  CHECK(all<InboundMessage>(out).size() == 1);  // the subject again

  // After a successful registration the backoff starts over.
  out = t.s.on_closed("Ping timeout", false);
  CHECK(out.arm_after == milliseconds(1000));
}

TEST_CASE("a first connection that fails answers the join with an error; nothing is retried") {
  Scenario t;
  auto join = t.presence("phone", kRoom, "alice");
  t.s.on_presence(join);
  auto out = t.s.on_closed("Connection refused", false);
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == join.ref);
  CHECK(o[0].failure == Failure::Unavailable);
  CHECK(o[0].text.find("Connection refused") != std::string::npos);
  CHECK(out.finished);
}

TEST_CASE("a nick taken when rejoining after a reconnect: conflict presence to every resource") {
  Scenario t;
  t.joined();
  t.s.on_closed("EOF", false);
  t.s.on_timer(SessionTimer::Reconnect);
  auto out = t.s.on_closed("Nickname is already in use", true);
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::Conflict);
  CHECK(ps[0].user_resource == "phone");
  CHECK(ps[0].peer_resource == "alice");
  CHECK(out.finished);
}

TEST_CASE("grace period: QUIT after leaving the last room; rejoining within it cancels") {
  Scenario t;
  t.joined();
  auto out = t.leave("phone");
  CHECK(wire(out) == std::vector<std::string>{"PART #chan"});
  CHECK(out.arm == SessionTimer::Grace);
  CHECK(out.arm_after == milliseconds(30'000));
  CHECK_FALSE(out.quit);

  // Back within the grace period: the timer is cancelled, JOIN on the same connection.
  out = t.join("phone");
  CHECK(out.cancel_timer);
  CHECK_FALSE(out.connect);
  CHECK(wire(out) == std::vector<std::string>{"JOIN #chan"});
  CHECK(t.s.on_timer(SessionTimer::Grace).quit == std::nullopt);  // stale

  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 366 alice #chan :End");
  out = t.leave("phone");
  CHECK(out.arm == SessionTimer::Grace);
  // A private message in the grace period restarts it.
  out = t.irc(":bob!b@h PRIVMSG alice :still there?");
  CHECK(out.arm == SessionTimer::Grace);
  out = t.s.on_timer(SessionTimer::Grace);
  REQUIRE(out.quit);
  CHECK_FALSE(out.finished);
  out = t.s.on_closed("Quit", false);
  CHECK(out.finished);
  CHECK(out.events.empty());
}

TEST_CASE("joining while the connection quits opens a new one when it is closed") {
  Scenario t;
  t.joined();
  t.leave("phone");
  t.s.on_timer(SessionTimer::Grace);
  auto out = t.join("phone", "alice");
  CHECK(out.lines.empty());
  CHECK_FALSE(out.connect);
  out = t.s.on_closed("Quit", false);
  REQUIRE(out.connect);
  CHECK_FALSE(out.finished);
  CHECK(wire(t.s.on_registered("alice", false)) == std::vector<std::string>{"JOIN #chan"});
}

TEST_CASE("disconnect (user removed, admin, shutdown): unavailable to every resource, QUIT, finished") {
  Scenario t;
  t.joined();
  t.join("laptop");
  auto out = t.s.disconnect("Gateway shutting down", true);
  REQUIRE(out.quit);
  CHECK(*out.quit == "Gateway shutting down");
  CHECK(out.finished);
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);
  for (const auto& p : ps) {
    CHECK_FALSE(p.available);
    CHECK(p.peer_resource == "alice");
    CHECK(has_code(p, 110));
    CHECK(has_code(p, 332));
  }
}
