// IrcSession scenarios (SPEC §7), messages: groupchat with its reflection (with
// and without echo-message), private messages, /me, splitting to IRC lines, raw
// lines to the server, no injection, text decoding, server-time.
#include <doctest/doctest.h>

#include "common/civil_time.hpp"

#include "unit/irc/irc_session_scenario.hpp"

using namespace sb::test::irc_session;

namespace {
// The line as the server relays it to others, with our longest possible prefix.
std::size_t relayed_size(const std::string& line) {
  return std::string(":alice!~alice@").append(63, 'h').append(" ").size() + line.size() + 2;
}
}  // namespace

TEST_CASE("groupchat without echo-message is reflected at once to every joined resource, with the XMPP id") {
  Scenario t;
  t.joined("phone", false);
  t.join("laptop");
  auto out = t.say("phone", "hi all", "origin-1");
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG #chan :hi all"});
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 2);
  for (const auto& m : ms) {
    CHECK(m.peer == kRoom);
    CHECK(m.peer_resource == "alice");
    CHECK(m.body == "hi all");
    CHECK(m.id == "origin-1");
    CHECK(m.kind == MessageKind::Groupchat);
  }
  CHECK(ms[0].user_resource == "phone");
  CHECK(ms[1].user_resource == "laptop");
}

TEST_CASE("groupchat with echo-message is reflected when the server echoes the last line") {
  Scenario t;
  t.joined("phone", true);
  auto out = t.say("phone", "line one\nline two", "origin-7");
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG #chan :line one", "PRIVMSG #chan :line two"});
  CHECK(out.events.empty());  // not yet
  out = t.irc("@msgid=abc :alice!~alice@host PRIVMSG #chan :line one");
  CHECK(out.events.empty());
  out = t.irc("@msgid=abd :alice!~alice@host PRIVMSG #chan :line two");
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "line one\nline two");  // the message as the user wrote it
  CHECK(ms[0].id == "origin-7");
  CHECK(ms[0].peer_resource == "alice");

  // An echo nobody is waiting for (a raw PRIVMSG): reflected as it came, with the server's id.
  out = t.irc("@msgid=xyz :alice!~alice@host PRIVMSG #chan :typed raw");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "typed raw");
  CHECK(ms[0].id == "xyz");
}

TEST_CASE("echoes are matched in order, per channel") {
  Scenario t;
  t.joined("phone", true);
  t.join("phone", "alice", "#two%irc.test");
  t.irc(":alice!a@h JOIN #two");
  t.irc(":srv 366 alice #two :End");
  t.say("phone", "first", "id-1");
  t.s.on_message(t.message("phone", "#two%irc.test", "elsewhere", MessageKind::Groupchat, "id-2"));
  t.say("phone", "second", "id-3");
  auto a = all<InboundMessage>(t.irc(":alice!a@h PRIVMSG #chan :first"));
  auto b = all<InboundMessage>(t.irc(":alice!a@h PRIVMSG #two :elsewhere"));
  auto c = all<InboundMessage>(t.irc(":alice!a@h PRIVMSG #chan :second"));
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  REQUIRE(c.size() == 1);
  CHECK(a[0].id == "id-1");
  CHECK(b[0].id == "id-2");
  CHECK(b[0].peer == "#two%irc.test");
  CHECK(c[0].id == "id-3");
}

TEST_CASE("groupchat and private messages from IRC") {
  Scenario t;
  t.joined();
  auto out = t.irc("@msgid=m1 :bob!b@h PRIVMSG #chan :hello");
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].id == "m1");
  CHECK(ms[0].body == "hello");

  out = t.irc(":carol!c@h NOTICE #chan :a notice");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "a notice");
  CHECK(ms[0].peer_resource == "carol");
  CHECK(ms[0].kind == MessageKind::Groupchat);

  // Private: from nick%server to the bare JID, as chat.
  out = t.irc(":dave!d@h PRIVMSG alice :psst");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].user == "alice@example.org");
  CHECK(ms[0].user_resource.empty());
  CHECK(ms[0].peer == "dave%irc.test");
  CHECK(ms[0].peer_resource.empty());
  CHECK(ms[0].kind == MessageKind::Chat);
  CHECK(ms[0].body == "psst");

  out = t.irc(":NickServ!NickServ@services. NOTICE alice :This nickname is registered.");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "NickServ%irc.test");

  // A server notice and an unhandled numeric: from the server JID.
  out = t.irc(":irc.test NOTICE alice :*** Server restarting soon");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
  CHECK(ms[0].body == "*** Server restarting soon");
  out = t.irc(":irc.test 421 alice FOO :Unknown command");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
  CHECK(ms[0].body == "FOO: Unknown command");

  // Channels we are not in: nothing.
  CHECK(t.irc(":bob!b@h PRIVMSG #other :hi").events.empty());
}

TEST_CASE("a channel's lines are marked for the user's archive: one number per line, shared by its copies") {
  Scenario t;
  t.joined("phone", false);
  t.join("laptop");
  auto said = all<InboundMessage>(t.irc(":bob!b@h PRIVMSG #chan :one"));
  REQUIRE(said.size() == 2);
  CHECK(said[0].archive_line != 0);
  CHECK(said[0].archive_line == said[1].archive_line);
  auto next = all<InboundMessage>(t.irc(":bob!b@h NOTICE #chan :two"));
  REQUIRE(next.size() == 2);
  CHECK(next[0].archive_line == next[1].archive_line);
  CHECK(next[0].archive_line != said[0].archive_line);
  // The user's own line (the reflection) belongs in the archive too.
  auto own = all<InboundMessage>(t.say("phone", "mine", "o-1"));
  REQUIRE(own.size() == 2);
  CHECK(own[0].archive_line != 0);
  CHECK(own[0].archive_line == own[1].archive_line);
  CHECK(own[0].archive_line != next[0].archive_line);
  // Private messages and the topic are not a room's lines.
  auto priv = all<InboundMessage>(t.irc(":dave!d@h PRIVMSG alice :psst"));
  REQUIRE(priv.size() == 1);
  CHECK(priv[0].archive_line == 0);
  auto topic = all<InboundMessage>(t.irc(":bob!b@h TOPIC #chan :new topic"));
  REQUIRE(topic.size() == 2);
  CHECK(topic[0].archive_line == 0);
}

TEST_CASE("private messages to IRC: nick%server and room/nick, queued until registration") {
  Scenario t;
  // The first thing is a private message: it opens the connection with the default nick.
  auto out = t.s.on_message(t.message("phone", "bob%irc.test", "hello bob", MessageKind::Chat));
  REQUIRE(out.connect);
  CHECK(out.connect->nick == "alice");
  CHECK(out.lines.empty());
  CHECK(out.arm == SessionTimer::Grace);  // no room: the connection lives for a grace period
  out = t.s.on_registered("alice", false);
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG bob :hello bob"});

  t.join("phone");
  t.irc(":alice!a@h JOIN #chan");
  t.irc(":srv 353 alice = #chan :alice carol");
  t.irc(":srv 366 alice #chan :End");
  auto m = t.message("phone", kRoom, "to carol only", MessageKind::Chat);
  m.peer_resource = "carol";
  out = t.s.on_message(m);
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG carol :to carol only"});
  CHECK(out.events.empty());  // no reflection of a private message

  // A groupchat to room/nick is an error (XEP-0045).
  m.kind = MessageKind::Groupchat;
  out = t.s.on_message(m);
  CHECK(out.lines.empty());
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK_FALSE(o[0].ok);
  CHECK(o[0].failure == Failure::BadRequest);
}

TEST_CASE("/me both ways") {
  Scenario t;
  t.joined();
  auto out = t.say("phone", "/me waves", "id-me");
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG #chan :\x01" "ACTION waves\x01"});
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "/me waves");

  out = t.irc(":bob!b@h PRIVMSG #chan :\x01" "ACTION dances\x01");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "/me dances");
  CHECK(ms[0].peer_resource == "bob");

  out = t.irc(":bob!b@h PRIVMSG alice :\x01" "ACTION pokes you\x01");
  ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "/me pokes you");
  CHECK(ms[0].peer == "bob%irc.test");

  out = t.s.on_message(t.message("phone", "bob%irc.test", "/me smiles", MessageKind::Chat));
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG bob :\x01" "ACTION smiles\x01"});
}

TEST_CASE("CTCP: VERSION answered with a NOTICE, other CTCP ignored") {
  Scenario t;
  t.joined();
  auto out = t.irc(":bob!b@h PRIVMSG alice :\x01VERSION\x01");
  CHECK(out.events.empty());
  REQUIRE(out.lines.size() == 1);
  CHECK(serialize(out.lines[0].msg).rfind("NOTICE bob :\x01VERSION ", 0) == 0);
  out = t.irc(":bob!b@h PRIVMSG #chan :\x01PING 123\x01");
  CHECK(out.events.empty());
  CHECK(out.lines.empty());
  out = t.irc(":bob!b@h NOTICE alice :\x01VERSION other client\x01");  // a reply: never answered
  CHECK(out.events.empty());
  CHECK(out.lines.empty());
}

TEST_CASE("a 2000-byte message is split into IRC-sized lines, in order, nothing lost") {
  Scenario t;
  t.joined();
  std::string text;
  while (text.size() < 2000) text += "abcdé0123456789";  // multi-byte characters too, no spaces
  auto out = t.say("phone", text, "long");
  auto lines = wire(out);
  REQUIRE(lines.size() >= 4);
  std::string joined;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i].find_first_of("\r\n") == std::string::npos);
    CHECK(relayed_size(lines[i]) <= 512);
    const auto& msg = out.lines[i].msg;
    REQUIRE(msg.command == "PRIVMSG");
    REQUIRE(msg.params.size() == 2);
    CHECK(msg.params[0] == "#chan");
    joined += msg.params[1];
  }
  CHECK(joined == text);
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);  // one reflection of the whole message
  CHECK(ms[0].body == text);
}

TEST_CASE("a 5-line message becomes 5 PRIVMSGs in order; a long /me stays an action on every line") {
  Scenario t;
  t.joined();
  auto out = t.say("phone", "one\ntwo\r\nthree\n\nfour\rfive");
  // (serialize() adds the ':' only where the text needs one.)
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG #chan one", "PRIVMSG #chan two", "PRIVMSG #chan three",
                                              "PRIVMSG #chan four", "PRIVMSG #chan five"});
  out = t.say("phone", "/me " + std::string(1200, 'x'));
  auto lines = wire(out);
  REQUIRE(lines.size() >= 3);
  std::string joined;
  for (const auto& l : lines) {
    CHECK(relayed_size(l) <= 512);
    const std::string head = "PRIVMSG #chan :\x01" "ACTION ";
    REQUIRE(l.rfind(head, 0) == 0);
    REQUIRE(l.back() == '\x01');
    joined += l.substr(head.size(), l.size() - head.size() - 1);
  }
  CHECK(joined == std::string(1200, 'x'));
}

TEST_CASE("401 and 404 answer the message that caused them") {
  Scenario t;
  t.joined("phone", true);
  auto m = t.message("phone", "ghost%irc.test", "are you there?", MessageKind::Chat);
  t.s.on_message(m);
  auto o = all<SendOutcome>(t.irc(":srv 401 alice ghost :No such nick/channel"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == m.ref);
  CHECK(o[0].failure == Failure::NotFound);

  auto g = t.message("phone", kRoom, "moderated?", MessageKind::Groupchat);
  t.s.on_message(g);
  o = all<SendOutcome>(t.irc(":srv 404 alice #chan :Cannot send to channel"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == g.ref);
  CHECK(o[0].failure == Failure::Forbidden);

  // Without echo-message: the last private message to that nick.
  Scenario u;
  u.joined("phone", false);
  auto p = u.message("phone", "ghost%irc.test", "hello?", MessageKind::Chat);
  u.s.on_message(p);
  o = all<SendOutcome>(u.irc(":srv 401 alice ghost :No such nick/channel"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == p.ref);
  // Unrelated: from the server.
  auto ms = all<InboundMessage>(u.irc(":srv 401 alice nobody :No such nick/channel"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
}

TEST_CASE("the server JID takes one raw line") {
  Scenario t;
  t.joined();
  auto out = t.s.on_message(t.message("phone", "irc.test", "WHOIS bob", MessageKind::Chat));
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0].is_raw);
  CHECK(out.lines[0].raw == "WHOIS bob");
  // A multi-line body: only the first line, and the user is told.
  out = t.s.on_message(t.message("phone", "irc.test", "PRIVMSG bob :hi\r\nQUIT :pwned\nJOIN #evil", MessageKind::Chat));
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0].raw == "PRIVMSG bob :hi");
  auto ms = all<InboundMessage>(out);
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
  CHECK(ms[0].body.find("first line") != std::string::npos);
}

TEST_CASE("injection attempts produce exactly one line each") {
  Scenario t;
  t.joined();
  auto single = [](const SessionOutput& out) {
    auto lines = wire(out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    return lines[0];
  };
  CHECK(single(t.say("phone", "\r\nQUIT :pwned")) == "PRIVMSG #chan :QUIT :pwned");

  auto m = t.message("phone", kRoom, "");
  m.subject = "topic\r\nQUIT :pwned";
  CHECK(single(t.s.on_message(m)) == "TOPIC #chan :topic QUIT :pwned");

  m = t.message("phone", "irc.test", "NAMES #chan\r\nQUIT :pwned", MessageKind::Chat);
  CHECK(single(t.s.on_message(m)) == "NAMES #chan");

  m = t.message("phone", "irc.test", std::string("NAMES #chan\0QUIT", 16), MessageKind::Chat);
  CHECK(single(t.s.on_message(m)) == "NAMES #chanQUIT");

  // A nick with a line break: refused, nothing sent.
  auto out = t.s.on_presence(t.presence("phone", kRoom, "bob\r\nQUIT"));
  CHECK(out.lines.empty());
  auto ps = all<PresenceUpdate>(out);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].error);
  // Part reason from the status.
  out = t.leave("phone", "bye\r\nQUIT :x");
  CHECK(single(out) == "PART #chan :bye QUIT :x");
  // A first join with such a nick: refused before any connection.
  Scenario u;
  out = u.s.on_presence(u.presence("phone", kRoom, "x\r\nQUIT"));
  CHECK_FALSE(out.connect);
  auto o = all<SendOutcome>(out);
  REQUIRE(o.size() == 1);
  CHECK(o[0].failure == Failure::NotAcceptable);
}

TEST_CASE("latin-1 and colours from IRC arrive as clean UTF-8") {
  Scenario t;
  t.joined();
  auto ms = all<InboundMessage>(t.irc(":bob!b@h PRIVMSG #chan :\x03" "4,1caf\xe9\x03 \x02gr\xfc\xdf\x02 \x1fok\x0f"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "caf\xc3\xa9 gr\xc3\xbc\xc3\x9f ok");
  ms = all<InboundMessage>(t.irc(":bob!b@h PRIVMSG alice :d\xe9j\xe0 vu"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].body == "d\xc3\xa9j\xc3\xa0 vu");
}

TEST_CASE("server-time: only history older than 10 s gets a timestamp") {
  Scenario t;
  t.joined();
  CHECK(sb::civil::parse_iso8601_ms("2027-01-15T08:00:00.250Z") == kNow + 250);
  CHECK(sb::civil::parse_iso8601_ms("1970-01-01T00:00:01.5Z") == 1500);
  CHECK(sb::civil::parse_iso8601_ms("2024-02-29T12:34:56Z") == 1709210096000);
  CHECK_FALSE(sb::civil::parse_iso8601_ms("yesterday"));
  CHECK_FALSE(sb::civil::parse_iso8601_ms("2024-13-01T00:00:00Z"));

  // kNow = 2027-01-15T08:00:00Z
  REQUIRE(sb::civil::parse_iso8601_ms("2027-01-15T08:00:00.000Z") == kNow);
  auto ms = all<InboundMessage>(t.irc("@time=2027-01-15T07:59:55.000Z :bob!b@h PRIVMSG #chan :recent"));
  REQUIRE(ms.size() == 1);
  CHECK_FALSE(ms[0].timestamp_ms);
  ms = all<InboundMessage>(t.irc("@time=2027-01-15T07:00:00.000Z :bob!b@h PRIVMSG #chan :old"));
  REQUIRE(ms.size() == 1);
  REQUIRE(ms[0].timestamp_ms);
  CHECK(*ms[0].timestamp_ms == kNow - 3'600'000);
}

TEST_CASE("server notices while registering are not shown; after registration they are") {
  Scenario t;
  t.join("phone");
  CHECK(t.irc(":irc.test NOTICE * :*** Looking up your hostname...").events.empty());
  CHECK(t.irc(":irc.test 001 alice :Welcome to the network alice").events.empty());
  t.s.on_registered("alice", false);
  auto ms = all<InboundMessage>(t.irc(":irc.test NOTICE alice :*** Maintenance at noon"));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer == "irc.test");
}

TEST_CASE("with echo-message a private message's receipt waits for the server's echo") {
  Scenario t;
  t.joined("phone", true);
  auto m = t.message("phone", "bob%irc.test", "one\ntwo", MessageKind::Chat);
  m.want_outcome = true;
  auto out = t.s.on_message(m);
  CHECK(wire(out) == std::vector<std::string>{"PRIVMSG bob one", "PRIVMSG bob two"});
  CHECK(out.events.empty());
  CHECK(t.irc(":alice!a@h PRIVMSG bob :one").events.empty());
  auto o = all<SendOutcome>(t.irc(":alice!a@h PRIVMSG bob :two"));
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == m.ref);
  CHECK(o[0].ok);
  CHECK(o[0].delivered);
  // Our own private echo is never shown as a message from someone.
  CHECK(all<InboundMessage>(t.irc(":alice!a@h PRIVMSG bob :typed raw")).empty());
}

TEST_CASE("a message with a subject and a body: TOPIC, then the text") {
  Scenario t;
  t.joined();
  auto m = t.message("phone", kRoom, "see the topic");
  m.subject = "Release on Friday";
  CHECK(wire(t.s.on_message(m)) == std::vector<std::string>{"TOPIC #chan :Release on Friday", "PRIVMSG #chan :see the topic"});
}
