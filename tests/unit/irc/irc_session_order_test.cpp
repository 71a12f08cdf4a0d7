// IrcSession scenarios (SPEC §7): answers that arrive after the user has moved on.
// The server answers our lines in order, but the user's next request is already
// out by then: a PART's echo after the rejoin, a message's echo after the leave,
// the answer to the first of two nick changes. Each must reach the request it
// answers, not the newer state.
#include <doctest/doctest.h>

#include "unit/irc/irc_session_scenario.hpp"

using namespace sb::test::irc_session;

TEST_CASE("leaving and joining again at once: the old PART's echo does not end the new join") {
  // The server answers in order: PART's echo comes after the user's rejoin was
  // sent; it is ours, not the server parting us (seen on Prosody in the e2e run).
  Scenario t;
  t.joined();
  CHECK(wire(t.leave("phone")) == std::vector<std::string>{"PART #chan"});
  CHECK(wire(t.join("phone")) == std::vector<std::string>{"JOIN #chan"});
  auto out = t.irc(":alice!a@h PART #chan");
  CHECK(out.events.empty());
  CHECK(out.lines.empty());
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 353 alice = #chan :alice bob");
  out = t.irc(":srv 366 alice #chan :End");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);
  CHECK(ps[1].available);
  CHECK(has_code(ps[1], 110));
  CHECK(t.s.occupancy("#chan", "phone", "alice") == Occupancy::Self);

  // A PART of ours that the server refuses (442) is answered too, silently ...
  CHECK(wire(t.leave("phone")) == std::vector<std::string>{"PART #chan"});
  out = t.irc(":srv 442 alice #chan :You're not on that channel");
  CHECK(out.events.empty());
  // ... so a later PART by the server (not asked for) still ends a new join.
  t.join("phone");
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 366 alice #chan :End");
  out = t.irc(":alice!a@h PART #chan :Parted by an operator");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK_FALSE(ps[0].available);
  CHECK(has_code(ps[0], 110));
  CHECK(t.s.occupancy("#chan", "phone", "alice") == Occupancy::NotJoined);
}

TEST_CASE("a rejoin while the leave is unanswered: the old JOIN's names, topic, refusal and a kick are not the new join's") {
  Scenario t;
  t.join("phone");
  t.s.on_registered("alice", false);
  // JOIN, then the user leaves and joins again before any answer: JOIN, PART, JOIN.
  CHECK(wire(t.leave("phone")) == std::vector<std::string>{"PART #chan"});
  CHECK(wire(t.join("phone")) == std::vector<std::string>{"JOIN #chan"});
  // The first JOIN's answers: none of it is the new join's.
  auto out = t.irc(":alice!a@h JOIN #chan");
  out = t.irc(":srv 332 alice #chan :Old topic");
  CHECK(out.events.empty());
  t.irc(":srv 353 alice = #chan :alice @old");
  out = t.irc(":srv 366 alice #chan :End");
  CHECK(out.events.empty());
  out = t.irc(":bob!b@h PRIVMSG #chan :said to the old membership");
  CHECK(out.events.empty());
  out = t.irc(":op!o@h KICK #chan alice :old business");
  CHECK(out.events.empty());
  out = t.irc(":srv 474 alice #chan :Cannot join channel (+b)");  // refusing the old JOIN, say
  CHECK(out.events.empty());
  CHECK(t.s.occupancy("#chan", "phone", "alice") == Occupancy::NotJoined);
  // Our PART is answered (here 442: the kick came first) ...
  out = t.irc(":srv 442 alice #chan :You're not on that channel");
  CHECK(out.events.empty());
  // ... and what follows is the new join's: the whole sequence, once.
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 332 alice #chan :New topic");
  t.irc(":srv 353 alice = #chan :alice @bob carol");
  out = t.irc(":srv 366 alice #chan :End");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 3);
  CHECK(ps[2].available);
  CHECK(has_code(ps[2], 110));
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].subject == "New topic");
  CHECK(t.s.occupants(kRoom) == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("a message's echo after the leave is still matched: the next message's echo is its own") {
  Scenario t;
  t.joined("phone", true);
  t.say("phone", "bye", "id-bye");
  t.leave("phone");
  auto out = t.irc(":alice!a@h PRIVMSG #chan :bye");
  CHECK(all<InboundMessage>(out).empty());  // nobody is in the room to see it
  t.irc(":alice!a@h PART #chan");
  t.join("phone");
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 366 alice #chan :End");
  t.say("phone", "hi", "id-hi");
  auto ms = all<InboundMessage>(t.irc(":alice!a@h PRIVMSG #chan :hi"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "hi");
  CHECK(ms[0].id == "id-hi");
}

TEST_CASE("two nick changes in a row: each answer goes to the change it answers") {
  Scenario t;
  t.joined();
  t.join("laptop");
  CHECK(wire(t.s.on_presence(t.presence("phone", kRoom, "b"))) == std::vector<std::string>{"NICK b"});
  CHECK(wire(t.s.on_presence(t.presence("laptop", kRoom, "c"))) == std::vector<std::string>{"NICK c"});
  // b is taken: the phone's change is refused, not the laptop's.
  auto ps = all<PresenceUpdate>(t.irc(":srv 433 alice b :Nickname is already in use"));
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::Conflict);
  CHECK(ps[0].user_resource == "phone");
  CHECK(ps[0].peer_resource == "b");
  ps = all<PresenceUpdate>(t.irc(":alice!a@h NICK :c"));
  CHECK(ps.size() == 4);  // 303 pairs to both resources
  CHECK(t.s.nick() == "c");

  // A refusal naming the second of two: the second's (not merely the oldest).
  t.s.on_presence(t.presence("phone", kRoom, "x"));
  t.s.on_presence(t.presence("laptop", kRoom, "y"));
  ps = all<PresenceUpdate>(t.irc(":srv 433 c y :Nickname is already in use"));
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].user_resource == "laptop");
  CHECK(ps[0].peer_resource == "y");
  CHECK(all<PresenceUpdate>(t.irc(":c!a@h NICK :x")).size() == 4);

  // Refusals that name no nick (447 on +N) answer the oldest change.
  t.s.on_presence(t.presence("laptop", kRoom, "d"));
  ps = all<PresenceUpdate>(t.irc(":srv 447 x :Can not change nickname while on #chan (+N)"));
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::NotAcceptable);
  CHECK(ps[0].user_resource == "laptop");
  CHECK(ps[0].status == "Can not change nickname while on #chan (+N)");
  // Nothing is left waiting: a 433 for a NICK typed as a raw line is the server's news.
  auto raw = t.irc(":srv 433 x e :Nickname is already in use");
  CHECK(all<PresenceUpdate>(raw).empty());
  REQUIRE(all<InboundMessage>(raw).size() == 1);
  CHECK(all<InboundMessage>(raw)[0].body == "e: Nickname is already in use");
}

TEST_CASE("the same nick asked twice is sent once; a nick the server cuts to its NICKLEN still answers the change") {
  Scenario t;
  t.joined();
  t.join("laptop");
  CHECK(wire(t.s.on_presence(t.presence("phone", kRoom, "b"))) == std::vector<std::string>{"NICK b"});
  CHECK(wire(t.s.on_presence(t.presence("laptop", kRoom, "B"))).empty());  // on its way already
  CHECK(all<PresenceUpdate>(t.irc(":alice!a@h NICK :b")).size() == 4);
  // Nothing stale is left: the laptop's next change gets its own answer.
  t.s.on_presence(t.presence("laptop", kRoom, "averyveryverylongnick"));
  auto ps = all<PresenceUpdate>(t.irc(":srv 433 b averyveryverylon :Nickname is already in use"));
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::Conflict);
  CHECK(ps[0].user_resource == "laptop");
  CHECK(ps[0].peer_resource == "averyveryverylongnick");
}

TEST_CASE("a kick asked for just before leaving is answered done when the server relays it") {
  Scenario t;
  t.joined();
  RoomAdmin a;
  a.ref = 7;
  a.user = "alice@example.org";
  a.user_resource = "phone";
  a.peer = kRoom;
  a.nick = "carol";
  a.role = "none";
  CHECK(wire(t.s.on_admin(a, kNow)) == std::vector<std::string>{"KICK #chan carol"});
  t.leave("phone");
  auto out = t.irc(":alice!a@h KICK #chan carol :", kNow + 1000);
  auto os = all<SendOutcome>(out);
  REQUIRE(os.size() == 1);
  CHECK(os[0].ref == 7);
  CHECK(os[0].ok);
  // and no timeout 15 s later
  CHECK(all<SendOutcome>(t.irc(":srv PING x", kNow + 20'000)).empty());
}

TEST_CASE("a channel forwarded elsewhere (470) refuses the join; the forced JOIN is parted") {
  Scenario t;
  t.joined();
  auto join = t.presence("phone", "#fwd%irc.test", "alice");
  t.s.on_presence(join);
  auto out = t.irc(":srv 470 alice #fwd ##overflow :Forwarding to another channel");
  auto os = all<SendOutcome>(out);
  REQUIRE(os.size() == 1);
  CHECK(os[0].ref == join.ref);
  CHECK_FALSE(os[0].ok);
  CHECK(os[0].failure == Failure::Unavailable);
  CHECK(os[0].text.find("join ##overflow%irc.test instead") != std::string::npos);
  CHECK(t.s.room_count() == 1);
  CHECK(wire(t.irc(":alice!a@h JOIN ##overflow")) == std::vector<std::string>{"PART ##overflow"});
}

TEST_CASE("a rejoin while the quitting connection's PART is unanswered completes on the next connection") {
  Scenario t;
  t.joined();
  t.leave("phone");  // PART, then the grace period
  REQUIRE(t.s.on_timer(SessionTimer::Grace).quit);
  auto out = t.join("phone");  // while QUIT is on its way: no JOIN on this connection
  CHECK(wire(out).empty());
  out = t.s.on_closed("Quit", false);  // the PART's echo never came
  REQUIRE(out.connect);
  out = t.s.on_registered("alice", false);
  CHECK(wire(out) == std::vector<std::string>{"JOIN #chan"});
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 353 alice = #chan :alice bob");
  auto ps = all<PresenceUpdate>(t.irc(":srv 366 alice #chan :End"));
  REQUIRE(ps.size() == 2);
  CHECK(has_code(ps[1], 110));
  CHECK(t.s.occupancy("#chan", "phone", "alice") == Occupancy::Self);
}
