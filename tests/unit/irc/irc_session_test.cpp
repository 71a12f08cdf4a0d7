// IrcSession scenarios (SPEC §7), rooms: the XEP-0045 join sequence, occupants
// and their roles, nick changes, kicks, parts, modes, topics, join errors.
// Messages: irc_session_message_test.cpp; the connection's life:
// irc_session_lifecycle_test.cpp.
#include <doctest/doctest.h>

#include "unit/irc/irc_session_scenario.hpp"

using namespace sb::test::irc_session;

TEST_CASE("the first join opens the connection with the room nick, JOINs after registration") {
  Scenario t;
  auto out = t.join("phone", "Alice_");
  REQUIRE(out.connect);
  CHECK(out.connect->nick == "Alice_");
  CHECK_FALSE(out.connect->username.empty());
  CHECK(out.lines.empty());  // nothing before 001
  CHECK(out.events.empty());

  out = t.s.on_registered("Alice_", false);
  CHECK(wire(out) == std::vector<std::string>{"JOIN #chan"});
  CHECK(t.s.nick() == "Alice_");
}

TEST_CASE("join sequence: occupants with roles from prefixes, then self with 110, then the subject") {
  Scenario t;
  t.join("phone");
  t.s.on_registered("alice", false);
  CHECK(t.irc(":srv 005 alice PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnpst :are supported").events.empty());
  CHECK(t.irc(":alice!~alice@host JOIN #chan").events.empty());
  CHECK(t.irc(":srv 332 alice #chan :Welcome to \x02#chan\x02").events.empty());
  CHECK(t.irc(":srv 333 alice #chan bob!b@h 1700000000").events.empty());
  CHECK(t.irc(":srv 353 alice = #chan :~owner &admin @op %half +voice plain").events.empty());
  CHECK(t.irc(":srv 353 alice = #chan :@+multi @alice").events.empty());
  auto out = t.irc(":srv 366 alice #chan :End of /NAMES list.");

  // Order (XEP-0045 §7.2): every other occupant, self, subject — and nothing else.
  REQUIRE(out.events.size() == 9);
  for (std::size_t i = 0; i < 8; ++i) REQUIRE(std::holds_alternative<PresenceUpdate>(out.events[i]));
  REQUIRE(std::holds_alternative<InboundMessage>(out.events[8]));

  std::map<std::string, std::pair<std::string, std::string>> seen;  // nick -> affiliation, role
  for (std::size_t i = 0; i < 7; ++i) {
    const auto& p = std::get<PresenceUpdate>(out.events[i]);
    CHECK(p.user == "alice@example.org");
    CHECK(p.user_resource == "phone");
    CHECK(p.peer == kRoom);
    CHECK(p.available);
    CHECK_FALSE(has_code(p, 110));
    seen[p.peer_resource] = {muc(p).affiliation, muc(p).role};
  }
  CHECK(seen.size() == 7);
  CHECK(seen["owner"] == std::pair<std::string, std::string>{"owner", "moderator"});
  CHECK(seen["admin"] == std::pair<std::string, std::string>{"admin", "moderator"});
  CHECK(seen["op"] == std::pair<std::string, std::string>{"admin", "moderator"});
  CHECK(seen["half"] == std::pair<std::string, std::string>{"member", "moderator"});
  CHECK(seen["voice"] == std::pair<std::string, std::string>{"member", "participant"});
  CHECK(seen["plain"] == std::pair<std::string, std::string>{"none", "participant"});
  CHECK(seen["multi"] == std::pair<std::string, std::string>{"admin", "moderator"});  // the highest prefix counts

  const auto& self = std::get<PresenceUpdate>(out.events[7]);
  CHECK(self.peer_resource == "alice");
  CHECK(has_code(self, 110));
  CHECK_FALSE(has_code(self, 210));
  CHECK(muc(self).role == "moderator");  // @alice

  const auto& subject = std::get<InboundMessage>(out.events[8]);
  CHECK(subject.user_resource == "phone");
  CHECK(subject.kind == MessageKind::Groupchat);
  REQUIRE(subject.subject);
  CHECK(*subject.subject == "Welcome to #chan");  // formatting stripped
  CHECK(subject.body.empty());
  CHECK(subject.peer_resource == "bob");  // 333: who set it
}

TEST_CASE("a room without a topic gets an empty subject; 210 when the IRC nick is not the one asked for") {
  Scenario t;
  t.join("phone", "alice");
  t.s.on_registered("alice", false);
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 353 alice = #chan :alice");
  t.irc(":srv 366 alice #chan :End");
  // A second room asked with another nick: IRC has one nick per connection.
  auto out = t.join("phone", "other", "#two%irc.test");
  CHECK(wire(out) == std::vector<std::string>{"JOIN #two"});
  t.irc(":alice!a@h JOIN #two");
  t.irc(":srv 331 alice #two :No topic is set");
  t.irc(":srv 353 alice = #two :alice");
  out = t.irc(":srv 366 alice #two :End");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].peer == "#two%irc.test");
  CHECK(ps[0].peer_resource == "alice");
  CHECK(has_code(ps[0], 110));
  CHECK(has_code(ps[0], 210));
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  REQUIRE(ms[0].subject);
  CHECK(ms[0].subject->empty());
  CHECK(ms[0].peer_resource.empty());
}

TEST_CASE("a second resource joins from the session's state: no second JOIN; both get the traffic") {
  Scenario t;
  t.joined("phone");
  auto out = t.join("laptop");
  CHECK(out.lines.empty());
  CHECK_FALSE(out.connect);
  REQUIRE(out.events.size() == 4);  // bob, carol, self, subject
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 3);
  for (const auto& p : ps) CHECK(p.user_resource == "laptop");
  CHECK(ps[0].peer_resource == "bob");
  CHECK(muc(ps[0]).role == "moderator");
  CHECK(ps[1].peer_resource == "carol");
  CHECK(ps[2].peer_resource == "alice");
  CHECK(has_code(ps[2], 110));
  auto subject = all<InboundMessage>(out);
  REQUIRE(subject.size() == 1);
  CHECK(*subject[0].subject == "The topic");
  CHECK(subject[0].user_resource == "laptop");

  out = t.irc(":bob!b@h PRIVMSG #chan :hello both");
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].user_resource == "phone");
  CHECK(ms[1].user_resource == "laptop");
  for (const auto& m : ms) {
    CHECK(m.peer == kRoom);
    CHECK(m.peer_resource == "bob");
    CHECK(m.body == "hello both");
    CHECK(m.kind == MessageKind::Groupchat);
    CHECK_FALSE(m.timestamp_ms);
  }

  // One resource leaves: it alone gets its unavailable; no PART while another stays.
  out = t.leave("phone");
  CHECK(out.lines.empty());
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].user_resource == "phone");
  CHECK_FALSE(ps[0].available);
  CHECK(has_code(ps[0], 110));
  // The last one leaves: PART.
  out = t.leave("laptop", "bye all");
  CHECK(wire(out) == std::vector<std::string>{"PART #chan :bye all"});
  CHECK(t.s.room_count() == 0);
}

TEST_CASE("nick changes: 303 pairs for others and for ourselves, with 110") {
  Scenario t;
  t.joined();
  t.join("laptop");
  auto out = t.irc(":bob!b@h NICK :robert");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 4);  // two resources x (unavailable, available)
  CHECK(ps[0].user_resource == "phone");
  CHECK(ps[0].peer_resource == "bob");
  CHECK_FALSE(ps[0].available);
  CHECK(has_code(ps[0], 303));
  CHECK_FALSE(has_code(ps[0], 110));
  CHECK(muc(ps[0]).nick == "robert");
  CHECK(muc(ps[0]).affiliation == "admin");  // @bob keeps his op
  CHECK(ps[1].peer_resource == "robert");
  CHECK(ps[1].available);
  CHECK(muc(ps[1]).role == "moderator");
  CHECK(t.s.occupants(kRoom) == std::vector<std::string>{"alice", "carol", "robert"});

  // Ours, asked from XMPP: presence with a new nick -> NICK, and the echo -> 303 + 110.
  out = t.s.on_presence(t.presence("phone", kRoom, "alicia"));
  CHECK(wire(out) == std::vector<std::string>{"NICK alicia"});
  CHECK(out.events.empty());
  out = t.irc(":alice!a@h NICK :alicia");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 4);
  CHECK(ps[0].peer_resource == "alice");
  CHECK(has_code(ps[0], 303));
  CHECK(has_code(ps[0], 110));
  CHECK(muc(ps[0]).nick == "alicia");
  CHECK(ps[1].peer_resource == "alicia");
  CHECK(ps[1].available);
  CHECK(has_code(ps[1], 110));
  CHECK(t.s.nick() == "alicia");
  // Our messages now come from the new nick.
  auto ms = all<InboundMessage>(t.say("phone", "renamed"));
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].peer_resource == "alicia");
}

TEST_CASE("nick in use while joined: error presence conflict to the asking resource, the room stays") {
  Scenario t;
  t.joined();
  t.join("laptop");
  t.s.on_presence(t.presence("laptop", kRoom, "bob"));
  auto out = t.irc(":srv 433 alice bob :Nickname is already in use");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::Conflict);
  CHECK(ps[0].user_resource == "laptop");
  CHECK(ps[0].peer == kRoom);
  CHECK(ps[0].peer_resource == "bob");
  CHECK(t.s.room_count() == 1);
  CHECK(t.s.nick() == "alice");
  // Still in the room.
  CHECK(all<InboundMessage>(t.irc(":bob!b@h PRIVMSG #chan :still here")).size() == 2);
}

TEST_CASE("nick in use at registration: the join is answered with conflict, nothing stays") {
  Scenario t;
  auto join = t.presence("phone", kRoom, "bob");
  auto out = t.s.on_presence(join);
  REQUIRE(out.connect);
  // The connection saw 433 during registration and closed: on_closed(nick_rejected).
  CHECK(t.irc(":srv 433 * bob :Nickname is already in use").events.empty());  // no double report
  out = t.s.on_closed("Nickname is already in use", true);
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == join.ref);
  CHECK_FALSE(o[0].ok);
  CHECK(o[0].failure == Failure::Conflict);
  CHECK(out.finished);
  CHECK_FALSE(out.connect);
  CHECK(out.arm == SessionTimer::None);
}

TEST_CASE("kick: 307 with actor and reason; our own kick leaves the room for every resource") {
  Scenario t;
  t.joined();
  auto out = t.irc(":bob!b@h KICK #chan carol :spamming");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].peer_resource == "carol");
  CHECK_FALSE(ps[0].available);
  CHECK(has_code(ps[0], 307));
  CHECK_FALSE(has_code(ps[0], 110));
  CHECK(muc(ps[0]).actor == "bob");
  CHECK(muc(ps[0]).reason == "spamming");
  CHECK(muc(ps[0]).role == "none");

  t.join("laptop");
  out = t.irc(":bob!b@h KICK #chan alice :go away");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);
  for (const auto& p : ps) {
    CHECK(p.peer_resource == "alice");
    CHECK(has_code(p, 307));
    CHECK(has_code(p, 110));
    CHECK(muc(p).actor == "bob");
    CHECK(muc(p).reason == "go away");
  }
  CHECK(t.s.room_count() == 0);
  CHECK(out.arm == SessionTimer::Grace);  // nothing left: the grace period starts
  CHECK(t.irc(":bob!b@h PRIVMSG #chan :gone?").events.empty());
}

TEST_CASE("part and quit of others: unavailable with the reason; join of others: available") {
  Scenario t;
  t.joined();
  auto out = t.irc(":dave!d@h JOIN #chan");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].peer_resource == "dave");
  CHECK(ps[0].available);
  CHECK(muc(ps[0]).role == "participant");

  out = t.irc(":dave!d@h PART #chan :see you");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK_FALSE(ps[0].available);
  CHECK(ps[0].status == "see you");
  CHECK(muc(ps[0]).reason == "see you");

  t.join("phone", "alice", "#two%irc.test");
  t.irc(":alice!a@h JOIN #two");
  t.irc(":srv 353 alice = #two :alice carol");
  t.irc(":srv 366 alice #two :End");
  out = t.irc(":carol!c@h QUIT :Quit: bye \x03" "4red");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);  // one per room she was in
  CHECK(ps[0].status == "Quit: bye red");
  CHECK(ps[0].peer != ps[1].peer);
  CHECK(t.s.occupants(kRoom) == std::vector<std::string>{"alice", "bob"});
}

TEST_CASE("mode changes update roles; other channel modes are ignored") {
  Scenario t;
  t.irc(":srv 005 alice PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnpst :are supported");
  t.joined();
  // +o carol, +b with a mask, +l with a limit, +k key, -o bob: parameters consumed in order.
  auto out = t.irc(":bob!b@h MODE #chan +obl-o+k carol *!*@spam 50 bob secret");
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].peer_resource == "carol");
  CHECK(muc(ps[0]).role == "moderator");
  CHECK(muc(ps[0]).affiliation == "admin");
  CHECK(ps[1].peer_resource == "bob");
  CHECK(muc(ps[1]).role == "participant");
  CHECK(muc(ps[1]).affiliation == "none");

  out = t.irc(":bob!b@h MODE #chan +v alice");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].peer_resource == "alice");
  CHECK(has_code(ps[0], 110));
  CHECK(muc(ps[0]).affiliation == "member");

  CHECK(t.irc(":bob!b@h MODE #chan +nt").events.empty());
  CHECK(t.irc(":alice MODE alice +i").events.empty());
  out = t.irc(":srv MODE #chan +q carol");
  ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(muc(ps[0]).affiliation == "owner");
}

TEST_CASE("topic both ways") {
  Scenario t;
  t.joined();
  auto m = t.message("phone", kRoom, "");
  m.subject = "New topic";
  auto out = t.s.on_message(m);
  CHECK(wire(out) == std::vector<std::string>{"TOPIC #chan :New topic"});
  CHECK(out.events.empty());  // the server's TOPIC echo is the subject message

  out = t.irc(":alice!a@h TOPIC #chan :New topic");
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  REQUIRE(ms[0].subject);
  CHECK(*ms[0].subject == "New topic");
  CHECK(ms[0].peer_resource == "alice");
  CHECK(ms[0].body.empty());

  out = t.irc(":bob!b@h TOPIC #chan :");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].subject->empty());
  // A resource joining later gets the current subject.
  ms = all<InboundMessage>(t.join("laptop"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].subject->empty());
  CHECK(ms[0].peer_resource == "bob");

  // Refused: 482 comes back as a notice in the room.
  out = t.irc(":srv 482 alice #chan :You're not channel operator");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].body == "You're not channel operator");
  CHECK(ms[0].peer_resource.empty());
}

TEST_CASE("join errors from the server: error to the joining resource, per numeric") {
  struct Case {
    const char* line;
    Failure f;
  };
  for (auto c : {Case{":srv 471 alice #chan :Cannot join channel (+l)", Failure::Unavailable},
                 Case{":srv 473 alice #chan :Cannot join channel (+i)", Failure::Forbidden},
                 Case{":srv 474 alice #chan :Cannot join channel (+b)", Failure::Forbidden},
                 Case{":srv 475 alice #chan :Cannot join channel (+k)", Failure::NotAuthorized},
                 Case{":srv 403 alice #chan :No such channel", Failure::NotFound}}) {
    CAPTURE(c.line);
    Scenario t;
    auto join = t.presence("phone", kRoom, "alice");
    t.s.on_presence(join);
    t.s.on_registered("alice", false);
    auto out = t.irc(c.line);
    auto o = all<SendOutcome>(out);
    REQUIRE(o.size() == 1);
    CHECK(o[0].ref == join.ref);
    CHECK_FALSE(o[0].ok);
    CHECK(o[0].failure == c.f);
    CHECK(t.s.room_count() == 0);
    CHECK(out.arm == SessionTimer::Grace);
  }
}

TEST_CASE("only occupants may speak; a message before the join completes is refused") {
  Scenario t;
  auto o = all<SendOutcome>(t.say("phone", "hello?"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::NotAcceptable);
  t.joined("phone");
  o = all<SendOutcome>(t.say("laptop", "not joined from here"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::NotAcceptable);
}

TEST_CASE("a resource's client re-sending its join gets the sequence again; a status change is silent") {
  Scenario t;
  t.joined();
  auto out = t.join("phone");
  CHECK(all<PresenceUpdate>(out).size() == 3);
  CHECK(out.lines.empty());
  auto p = t.presence("phone", kRoom, "alice");
  p.muc = false;
  p.show = "away";
  out = t.s.on_presence(p);
  CHECK(out.events.empty());
  CHECK(out.lines.empty());
}

TEST_CASE("bounds: occupants per room, and the MOTD arrives as one message") {
  Scenario t;
  t.join("phone");
  t.s.on_registered("alice", false);
  t.irc(":alice!a@h JOIN #chan");
  for (std::size_t i = 0; i < IrcSession::kMaxOccupants + 50; i += 100) {
    std::string names;
    for (std::size_t j = i; j < i + 100; ++j) names.append("n").append(std::to_string(j)).append(" ");
    t.irc(":srv 353 alice = #chan :" + names);
  }
  t.irc(":srv 366 alice #chan :End");
  auto names = t.s.occupants(kRoom);
  CHECK(names.size() == IrcSession::kMaxOccupants + 1);  // the bound, and ourselves beyond it
  CHECK(std::count(names.begin(), names.end(), "alice") == 1);

  t.irc(":srv 375 alice :- irc.test Message of the day -");
  t.irc(":srv 372 alice :- Be nice");
  t.irc(":srv 372 alice :- \x02Really\x02");
  auto ms = all<InboundMessage>(t.irc(":srv 376 alice :End of /MOTD command."));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
  CHECK(ms[0].body == "- Be nice\n- Really");
}

TEST_CASE("away-notify shows as the occupant's show") {
  Scenario t;
  t.joined();
  auto ps = all<PresenceUpdate>(t.irc(":bob!b@h AWAY :lunch"));
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].show == "away");
  CHECK(ps[0].status == "lunch");
  CHECK(ps[0].available);
  ps = all<PresenceUpdate>(t.irc(":bob!b@h AWAY"));
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].show.empty());
}

TEST_CASE("a JOIN of ours to a channel no XMPP resource joined is parted") {
  Scenario t;
  t.joined();
  auto out = t.irc(":alice!a@h JOIN #unasked");
  CHECK(wire(out) == std::vector<std::string>{"PART #unasked"});
  CHECK(out.events.empty());
}

TEST_CASE("437: a nick temporarily unavailable is a conflict; a channel temporarily unavailable refuses the join") {
  Scenario t;
  t.joined();
  t.s.on_presence(t.presence("phone", kRoom, "bob"));
  auto ps = all<PresenceUpdate>(t.irc(":srv 437 alice bob :Nick/channel is temporarily unavailable"));
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0].error);
  CHECK(*ps[0].error == Failure::Conflict);

  auto join = t.presence("phone", "#split%irc.test", "alice");
  t.s.on_presence(join);
  auto o = all<SendOutcome>(t.irc(":srv 437 alice #split :Nick/channel is temporarily unavailable"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == join.ref);
  CHECK(o[0].failure == Failure::Unavailable);
  CHECK(t.s.room_count() == 1);
}

TEST_CASE("bounds: rooms per session") {
  Scenario t;
  t.join("phone");
  t.s.on_registered("alice", false);
  for (std::size_t i = 1; i < IrcSession::kMaxRooms; ++i) t.join("phone", "alice", "#r" + std::to_string(i) + "%irc.test");
  CHECK(t.s.room_count() == IrcSession::kMaxRooms);
  auto out = t.join("phone", "alice", "#onemore%irc.test");
  CHECK(out.lines.empty());
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::NotAcceptable);
  CHECK(t.s.room_count() == IrcSession::kMaxRooms);
}

TEST_CASE("a MUC password is the channel key of the JOIN, on registration and when already connected") {
  auto joins = [](const SessionOutput& out) {
    std::vector<std::string> v;
    for (const auto& l : out.lines)
      if (l.msg.command == "JOIN") v.push_back(serialize(l.msg));
    return v;
  };
  Scenario t;
  auto p = t.presence("phone", kRoom, "alice");
  p.muc_password = "s3cret";
  t.s.on_presence(p);
  // The JOIN goes out once registered.
  CHECK(joins(t.s.on_registered("alice", false)) == std::vector<std::string>{"JOIN #chan s3cret"});
  // Another room on the live connection, without a password: no key.
  CHECK(joins(t.join("phone", "alice", "#other%irc.test")) ==
        std::vector<std::string>{"JOIN #other"});
  // A key that would split the JOIN's parameters is refused before anything is sent.
  auto bad = t.presence("phone", "#third%irc.test", "alice");
  bad.muc_password = "two words";
  auto out = t.s.on_presence(bad);
  CHECK(joins(out).empty());
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::NotAcceptable);
}

TEST_CASE("occupancy for XEP-0410 self-ping: joined resources with our nick (any case), others, after a loss") {
  Scenario sc;
  CHECK(sc.s.occupancy("#chan", "phone", "alice") == Occupancy::NotJoined);
  sc.join("phone");
  CHECK(sc.s.occupancy("#chan", "phone", "alice") == Occupancy::NotJoined);  // not welcomed yet
  sc.joined("phone");
  CHECK(sc.s.occupancy("#chan", "phone", "alice") == Occupancy::Self);
  CHECK(sc.s.occupancy("#chan", "phone", "ALICE") == Occupancy::Self);
  CHECK(sc.s.occupancy("#chan", "phone", "bob") == Occupancy::Other);
  CHECK(sc.s.occupancy("#chan", "laptop", "alice") == Occupancy::NotJoined);
  CHECK(sc.s.occupancy("#other", "phone", "alice") == Occupancy::NotJoined);
  // A lost connection keeps the user in the room while the gateway rejoins.
  sc.s.on_closed("reset", false);
  CHECK(sc.s.occupancy("#chan", "phone", "alice") == Occupancy::Self);
  sc.leave("phone");
  CHECK(sc.s.occupancy("#chan", "phone", "alice") == Occupancy::NotJoined);
}
