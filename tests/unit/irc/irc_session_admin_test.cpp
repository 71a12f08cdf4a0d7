// XEP-0045 §8 moderation through an IRC session: KICK and MODE from roles and
// affiliations, answered when the server relays them or refuses them.
#include <doctest/doctest.h>

#include "irc_session_scenario.hpp"

using namespace sb::test::irc_session;

namespace {
RoomAdmin admin(std::uint64_t ref, const std::string& nick, const std::string& role, const std::string& aff = "",
                const std::string& resource = "phone") {
  RoomAdmin a;
  a.ref = ref;
  a.user = "alice@example.org";
  a.user_resource = resource;
  a.peer = kRoom;
  a.nick = nick;
  a.role = role;
  a.affiliation = aff;
  return a;
}
const SendOutcome* outcome(const SessionOutput& o, std::uint64_t ref) {
  for (const auto& e : o.events)
    if (auto* s = std::get_if<SendOutcome>(&e); s && s->ref == ref) return s;
  return nullptr;
}
}  // namespace

TEST_CASE("role none kicks with the reason; done when the server relays our KICK") {
  Scenario sc;
  sc.joined();
  auto a = admin(1, "Carol", "none");
  a.reason = "spam\r\nQUIT :x";
  auto out = sc.s.on_admin(a, kNow);
  CHECK(wire(out) == std::vector<std::string>{"KICK #chan carol :spam QUIT :x"});
  CHECK(outcome(out, 1) == nullptr);  // not yet
  auto kicked = sc.irc(":alice!~alice@host KICK #chan carol :spam QUIT :x");
  auto* o = outcome(kicked, 1);
  REQUIRE(o);
  CHECK(o->ok);
  CHECK(sc.s.occupants(kRoom) == std::vector<std::string>{"alice", "bob"});  // and carol is gone (307 to XMPP)
}

TEST_CASE("roles and affiliations become only the channel modes that change") {
  Scenario sc;
  sc.joined();  // bob is @, carol has nothing
  CHECK(wire(sc.s.on_admin(admin(1, "carol", "moderator"), kNow)) ==
        std::vector<std::string>{"MODE #chan +ov carol carol"});
  CHECK(wire(sc.s.on_admin(admin(2, "bob", "participant"), kNow)) ==
        std::vector<std::string>{"MODE #chan -o+v bob bob"});
  CHECK(wire(sc.s.on_admin(admin(3, "bob", "", "none"), kNow)) == std::vector<std::string>{"MODE #chan -o bob"});
  CHECK(wire(sc.s.on_admin(admin(4, "carol", "", "member"), kNow)) == std::vector<std::string>{"MODE #chan +v carol"});
  // Nothing to change: done at once, nothing sent.
  auto same = sc.s.on_admin(admin(5, "carol", "visitor"), kNow);
  CHECK(wire(same).empty());
  REQUIRE(outcome(same, 5));
  CHECK(outcome(same, 5)->ok);
  // The server's MODE by us answers the requests for that nick.
  auto done = sc.irc(":alice!~alice@host MODE #chan +ov carol carol");
  CHECK(outcome(done, 1));
  CHECK(outcome(done, 4));
  CHECK_FALSE(outcome(done, 2));
  // Someone else's MODE on the same nick is not ours.
  CHECK_FALSE(outcome(sc.irc(":bob!~b@h MODE #chan -o bob"), 2));
}

TEST_CASE("refusals: not an op -> forbidden, no such nick -> item-not-found; bans and strangers refused") {
  Scenario sc;
  sc.joined();
  sc.s.on_admin(admin(1, "carol", "none"), kNow);
  auto refused = sc.irc(":srv 482 alice #chan :You're not channel operator");
  REQUIRE(outcome(refused, 1));
  CHECK(outcome(refused, 1)->failure == Failure::Forbidden);
  CHECK(outcome(refused, 1)->text.find("not channel operator") != std::string::npos);
  CHECK(all<InboundMessage>(refused).empty());  // answered to the requester, not as a room notice

  sc.s.on_admin(admin(2, "carol", "moderator"), kNow);
  auto gone = sc.irc(":srv 441 alice carol #chan :They aren't on that channel");
  REQUIRE(outcome(gone, 2));
  CHECK(outcome(gone, 2)->failure == Failure::NotFound);

  auto unknown = sc.s.on_admin(admin(3, "nobody", "none"), kNow);
  REQUIRE(outcome(unknown, 3));
  CHECK(outcome(unknown, 3)->failure == Failure::NotFound);
  CHECK(wire(unknown).empty());

  auto ban = sc.s.on_admin(admin(4, "carol", "", "outcast"), kNow);
  REQUIRE(outcome(ban, 4));
  CHECK(outcome(ban, 4)->failure == Failure::NotAcceptable);
  CHECK(wire(ban).empty());

  auto stranger = sc.s.on_admin(admin(5, "carol", "none", "", "laptop"), kNow);  // laptop is not in the room
  REQUIRE(outcome(stranger, 5));
  CHECK(outcome(stranger, 5)->failure == Failure::Forbidden);
  CHECK(wire(stranger).empty());
}

TEST_CASE("an unanswered request fails after the timeout; a lost connection fails what waits") {
  Scenario sc;
  sc.joined();
  sc.s.on_admin(admin(1, "carol", "none"), kNow);
  CHECK_FALSE(outcome(sc.irc(":bob!~b@h PRIVMSG #chan :hi", kNow + 1000), 1));
  auto late = sc.irc(":bob!~b@h PRIVMSG #chan :hi", kNow + IrcSession::kAdminTimeoutMs);
  REQUIRE(outcome(late, 1));
  CHECK(outcome(late, 1)->failure == Failure::Unavailable);

  sc.s.on_admin(admin(2, "carol", "none"), kNow);
  auto lost = sc.s.on_closed("reset", false);
  REQUIRE(outcome(lost, 2));
  CHECK_FALSE(outcome(lost, 2)->ok);
}

namespace {
RoomInvite invite(std::uint64_t ref, const std::string& invitee, const std::string& resource = "phone") {
  RoomInvite i;
  i.ref = ref;
  i.user = "alice@example.org";
  i.user_resource = resource;
  i.room = kRoom;
  i.invitee = invitee;
  return i;
}
}  // namespace

TEST_CASE("an occupant's invitation is an INVITE; 341 or 443 is done, 401 item-not-found, 482 forbidden") {
  Scenario sc;
  sc.joined();
  auto out = sc.s.on_invite(invite(1, "dave%irc.test"), kNow);
  CHECK(wire(out) == std::vector<std::string>{"INVITE dave #chan"});
  auto done = sc.irc(":srv 341 alice dave #chan");
  REQUIRE(outcome(done, 1));
  CHECK(outcome(done, 1)->ok);

  sc.s.on_invite(invite(2, "ghost%irc.test"), kNow);
  auto none = sc.irc(":srv 401 alice ghost :No such nick or channel name");
  REQUIRE(outcome(none, 2));
  CHECK(outcome(none, 2)->failure == Failure::NotFound);

  sc.s.on_invite(invite(3, "erin%irc.test"), kNow);
  auto refused = sc.irc(":srv 482 alice #chan :You are not channel operator");
  REQUIRE(outcome(refused, 3));
  CHECK(outcome(refused, 3)->failure == Failure::Forbidden);

  sc.s.on_invite(invite(4, "carol%irc.test"), kNow);
  auto there = sc.irc(":srv 443 alice carol #chan :is already on channel");
  REQUIRE(outcome(there, 4));
  CHECK(outcome(there, 4)->ok);

  // Not from an occupant, or of someone on another server: refused, nothing sent.
  auto stranger = sc.s.on_invite(invite(5, "dave%irc.test", "laptop"), kNow);
  CHECK(wire(stranger).empty());
  REQUIRE(outcome(stranger, 5));
  CHECK(outcome(stranger, 5)->failure == Failure::Forbidden);
  auto elsewhere = sc.s.on_invite(invite(6, "dave%irc.other"), kNow);
  CHECK(wire(elsewhere).empty());
  REQUIRE(outcome(elsewhere, 6));
  CHECK(outcome(elsewhere, 6)->failure == Failure::NotAcceptable);
}

TEST_CASE("an IRC INVITE of us becomes a XEP-0249 invitation from the inviter; others' are ignored") {
  Scenario sc;
  sc.joined();
  auto out = sc.irc(":bob!~b@h INVITE alice :#secret");
  auto msgs = all<InboundMessage>(out);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].user == "alice@example.org");
  CHECK(msgs[0].peer == "bob%irc.test");
  CHECK(msgs[0].invite_room == "#secret%irc.test");
  CHECK(msgs[0].body == "bob invites you to #secret on irc.test");
  CHECK(all<InboundMessage>(sc.irc(":bob!~b@h INVITE carol :#secret")).empty());
  CHECK(all<InboundMessage>(sc.irc(":bob!~b@h INVITE alice :notachannel")).empty());
}

TEST_CASE("moderation while the connection is being re-established: unavailable, not forbidden") {
  Scenario sc;
  sc.joined();
  sc.s.on_closed("reset", false);
  auto out = sc.s.on_admin(admin(1, "carol", "none"), kNow);
  REQUIRE(outcome(out, 1));
  CHECK(outcome(out, 1)->failure == Failure::Unavailable);
}

TEST_CASE("a 401 answers the oldest matching request and still reaches a private message to that nick") {
  Scenario sc;
  sc.joined(/*echo=*/"phone", true);
  sc.s.on_invite(invite(1, "ghost%irc.test"), kNow);
  auto pm = sc.s.on_message(sc.message("phone", "ghost%irc.test", "hello", MessageKind::Chat));
  const auto pm_ref = sc.next_ref;
  auto none = sc.irc(":srv 401 alice ghost :No such nick");
  REQUIRE(outcome(none, 1));
  CHECK(outcome(none, 1)->failure == Failure::NotFound);
  REQUIRE(outcome(none, pm_ref));  // the private message's sender is told too
  CHECK_FALSE(outcome(none, pm_ref)->ok);
}
