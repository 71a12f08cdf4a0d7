// The "<server>/stay" setting: channels kept while the user is offline, AWAY on
// IRC meanwhile, what was said given back on return (XEP-0045 §7.2.15 order and
// <history/> limits, XEP-0203 times).
#include <doctest/doctest.h>

#include "irc_session_scenario.hpp"

using namespace sb::test::irc_session;

namespace {
struct StayScenario : Scenario {
  StayScenario() { s.set_stay_joined(true); }
};
std::vector<std::string> bodies(const SessionOutput& o) {
  std::vector<std::string> v;
  for (const auto& m : all<InboundMessage>(o))
    if (!m.subject) v.push_back(m.body);
  return v;
}
}  // namespace

TEST_CASE("without the setting the last resource leaving PARTs, as SPEC §7 says") {
  Scenario sc;
  sc.joined();
  CHECK(wire(sc.leave("phone")) == std::vector<std::string>{"PART #chan"});
}

TEST_CASE("with it: no PART, AWAY, messages kept and given back in order with their times, then back from AWAY") {
  StayScenario sc;
  sc.joined();
  auto left = sc.leave("phone");
  CHECK(wire(left) == std::vector<std::string>{"AWAY :Not connected to XMPP; messages are kept by the gateway"});
  CHECK_FALSE(left.arm == SessionTimer::Grace);  // the connection stays
  CHECK(all<PresenceUpdate>(left).size() == 1);  // the leaving resource's own 110

  // Sent nowhere: one copy, with no resource, for the user's archive (the core's).
  auto kept = all<InboundMessage>(sc.irc(":bob!~b@h PRIVMSG #chan :first", kNow + 1000));
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].user_resource.empty());
  CHECK(kept[0].archive_line != 0);
  CHECK(kept[0].body == "first");
  CHECK(kept[0].timestamp_ms == kNow + 1000);
  sc.irc("@time=2027-01-15T08:00:00.000Z :carol!~c@h PRIVMSG #chan :second", kNow + 2000);
  sc.irc(":carol!~c@h JOIN #chan", kNow + 2500);  // occupants are still tracked

  auto back = sc.join("laptop");
  CHECK(wire(back) == std::vector<std::string>{"AWAY"});
  auto msgs = all<InboundMessage>(back);
  // Occupant presence, self-presence, the two kept messages, then the subject.
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].body == "first");
  CHECK(msgs[0].peer_resource == "bob");
  CHECK(msgs[0].user_resource == "laptop");
  CHECK(msgs[0].timestamp_ms == kNow + 1000);
  CHECK(msgs[1].body == "second");
  CHECK(msgs[1].timestamp_ms.has_value());
  CHECK(msgs[2].subject.has_value());
  CHECK(std::holds_alternative<PresenceUpdate>(back.events.front()));
  // Given once: the next resource to join gets none.
  CHECK(bodies(sc.join("tablet")).empty());
  CHECK(sc.s.occupancy("#chan", "laptop", "alice") == Occupancy::Self);
}

TEST_CASE("with the core's archive (Deps::room_archive) lines said while away go to the archive only, none into memory") {
  auto c = config();
  c.core_archives = true;
  Scenario sc(c);
  sc.s.set_stay_joined(true);
  sc.joined();
  sc.leave("phone");
  auto kept = all<InboundMessage>(sc.irc(":bob!~b@h PRIVMSG #chan :first", kNow + 1000));
  REQUIRE(kept.size() == 1);  // the archive's copy: no resource
  CHECK(kept[0].user_resource.empty());
  CHECK(kept[0].archive_line != 0);
  // The core gives history from its archive; even a join asking for all of it gets
  // nothing from the session (without core_archives: "first").
  auto back = sc.join("laptop");
  CHECK(bodies(back).empty());
  CHECK(wire(back) == std::vector<std::string>{"AWAY"});
}

TEST_CASE("the join's <history/> limits what is given back; only the newest kMaxMissed are kept") {
  StayScenario sc;
  sc.joined();
  sc.leave("phone");
  for (int i = 0; i < 5; ++i) sc.irc(":bob!~b@h PRIVMSG #chan :m" + std::to_string(i), kNow + i * 1000);
  auto p = sc.presence("phone", kRoom, "alice");
  p.history_max = 2;
  CHECK(bodies(sc.s.on_presence(p)) == std::vector<std::string>{"m3", "m4"});

  sc.leave("phone");
  for (int i = 0; i < 5; ++i) sc.irc(":bob!~b@h PRIVMSG #chan :n" + std::to_string(i), kNow + i * 1000);
  p = sc.presence("phone", kRoom, "alice");
  p.history_since_ms = kNow + 3000;
  CHECK(bodies(sc.s.on_presence(p)) == std::vector<std::string>{"n3", "n4"});

  sc.leave("phone");
  for (std::size_t i = 0; i < IrcSession::kMaxMissed + 3; ++i) sc.irc(":bob!~b@h PRIVMSG #chan :x" + std::to_string(i));
  auto all_back = bodies(sc.join("phone"));
  REQUIRE(all_back.size() == IrcSession::kMaxMissed + 1);  // the notice, then the kept ones
  CHECK(all_back[0].find("3 older messages") != std::string::npos);
  CHECK(all_back[1] == "x3");
}

TEST_CASE("a kept room survives a lost connection: rejoined and AWAY again after registration") {
  StayScenario sc;
  sc.joined();
  sc.leave("phone");
  auto lost = sc.s.on_closed("reset", false);
  CHECK(lost.arm == SessionTimer::Reconnect);
  sc.s.on_timer(SessionTimer::Reconnect);
  auto reg = sc.s.on_registered("alice", false);
  CHECK(wire(reg) == std::vector<std::string>{"JOIN #chan", "AWAY :Not connected to XMPP; messages are kept by the gateway"});
}

TEST_CASE("joining another room while away ends AWAY; leaving the last room anyone is in starts it") {
  StayScenario sc;
  sc.joined();
  sc.leave("phone");  // AWAY
  auto other = sc.join("phone", "alice", "#other%irc.test");
  CHECK(wire(other) == std::vector<std::string>{"JOIN #other", "AWAY"});
}

TEST_CASE("turning the setting off PARTs the rooms kept for nobody") {
  StayScenario sc;
  sc.joined();
  sc.leave("phone");
  auto off = sc.s.set_stay_joined(false);
  CHECK(wire(off) == std::vector<std::string>{"PART #chan", "AWAY"});
  CHECK(sc.s.room_count() == 0);
  CHECK(off.arm == SessionTimer::Grace);  // and the connection goes after the grace period
}

TEST_CASE("what is kept while away is bounded in bytes for the whole session") {
  StayScenario sc;
  sc.joined();
  sc.leave("phone");
  const std::string big(8000, 'x');
  const std::size_t n = IrcSession::kMaxMissedBytes / 8000 + 20;
  for (std::size_t i = 0; i < n; ++i) sc.irc(":bob!~b@h PRIVMSG #chan :" + big);
  auto back = sc.join("phone");
  std::size_t bytes = 0, kept = 0;
  for (const auto& m : all<InboundMessage>(back))
    if (m.body == big) {
      bytes += m.body.size();
      ++kept;
    }
  CHECK(bytes <= IrcSession::kMaxMissedBytes);
  CHECK(kept > 100);
  CHECK(kept < n);
}
