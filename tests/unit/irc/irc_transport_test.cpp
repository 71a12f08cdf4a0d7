// The IRC transport end to end against the scripted ircd on loopback (SPEC §7):
// commands from the core in, events out, lines over a real TCP connection —
// joining, messages, a lost connection with reconnect and rejoin, the grace
// period, shutdown; and the answers it gives without any network (disco,
// registration, settings).
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <toml++/toml.h>

#include "common/clock.hpp"
#include "common/config_reader.hpp"
#include "transports/irc/irc_transport.hpp"
#include "unit/irc/scripted_ircd.hpp"

using namespace sb;
using namespace sb::transport;
using namespace sb::test::irc;
using namespace std::chrono_literals;

namespace {

class NullStore final : public Store {
 public:
  void put_state(std::string_view, std::string_view, std::string_view) override {}
  std::optional<std::string> get_state(std::string_view, std::string_view) override { return std::nullopt; }
  void delete_state(std::string_view, std::string_view) override {}
  void put_states(std::string_view, const std::vector<std::pair<std::string, std::string>>&) override {}
  std::vector<std::pair<std::string, std::string>> states(std::string_view, std::string_view) override { return {}; }
  std::int64_t enqueue(std::string_view, std::string_view, std::string_view) override { return 0; }
  std::vector<QueuedItem> peek(std::string_view, std::string_view, std::size_t) override { return {}; }
  void ack(std::string_view, std::string_view, std::int64_t) override {}
  void ack_many(std::string_view, std::string_view, const std::vector<std::int64_t>&) override {}
  void bump_attempts(std::string_view, std::string_view, std::int64_t) override {}
  std::size_t queue_size(std::string_view, std::string_view) override { return 0; }
};

struct Sink final : EventSink {
  std::vector<Event> events;
  void deliver(Event e) override { events.push_back(std::move(e)); }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> v;
    for (const auto& e : events)
      if (auto* x = std::get_if<T>(&e)) v.push_back(*x);
    return v;
  }
  // Self presences (status 110) received so far.
  std::size_t self_presences() const {
    std::size_t n = 0;
    for (const auto& p : all<PresenceUpdate>())
      if (p.available && p.muc && std::count(p.muc->codes.begin(), p.muc->codes.end(), 110)) ++n;
    return n;
  }
};

// The scripted ircd plus channels: JOIN -> JOIN echo, topic, NAMES with @bob; PART echoed.
Script ircd_with_channels() {
  return [base = ircd()](Peer& p, const IrcMessage& m) {
    base(p, m);
    if (m.command == "JOIN") {
      const std::string chan = m.param(0);
      p.send(":" + p.nick + "!u@h JOIN " + chan);
      p.send(":srv 332 " + p.nick + " " + chan + " :Test topic");
      p.send(":srv 353 " + p.nick + " = " + chan + " :@bob " + p.nick);
      p.send(":srv 366 " + p.nick + " " + chan + " :End of /NAMES list.");
    } else if (m.command == "PART") {
      p.send(":" + p.nick + "!u@h PART " + m.param(0));
    }
  };
}

struct Fixture {
  asio::io_context io;
  Server server{io};
  ManualClock clock;
  NullStore store;
  Sink sink;
  std::unique_ptr<Transport> t;
  std::uint64_t ref = 0;

  explicit Fixture(std::string extra = "grace_seconds = 1\nreconnect_max_seconds = 1\n") {
    server.script = ircd_with_channels();
    std::ostringstream cfg;
    cfg << extra << "flood_per_second = 0\n"
        << "[servers.\"irc.test\"]\nhost = \"127.0.0.1\"\nport = " << server.port() << "\ntls = false\n";
    auto table = toml::parse(cfg.str());
    ConfigProblems problems("test.toml");
    ConfigReader r(table, "[[irc]] #1", problems);
    Deps deps{io.get_executor(), clock, store, "irc.example.org"};
    t = irc::factory().create(r, deps);
    for (auto& p : problems.all()) FAIL(p.str());
    REQUIRE(t);
    t->start(sink);
  }
  ~Fixture() {
    if (t) t->stop();
    run_for(io, 50ms);
  }

  OutboundPresence presence(std::string resource, std::string room, std::string nick, std::string type = "") {
    OutboundPresence p;
    p.ref = ++ref;
    p.user = "alice@example.org";
    p.user_resource = std::move(resource);
    p.peer = std::move(room);
    p.peer_resource = std::move(nick);
    p.available = type != "unavailable";
    p.type = std::move(type);
    p.muc = p.type.empty();
    return p;
  }
  OutboundMessage message(std::string peer, std::string body, MessageKind kind) {
    OutboundMessage m;
    m.ref = ++ref;
    m.user = "alice@example.org";
    m.user_resource = "phone";
    m.peer = std::move(peer);
    m.body = std::move(body);
    m.kind = kind;
    m.id = "id-" + std::to_string(m.ref);
    return m;
  }
  std::string stat(const std::string& name) const {
    for (auto& [k, v] : t->stats())
      if (k == name) return v;
    return "?";
  }
  Peer* peer(std::size_t i) { return server.peers.size() > i ? server.peers[i].get() : nullptr; }
};

}  // namespace

TEST_CASE("irc transport: join, talk, lose the connection, reconnect and rejoin, leave, grace QUIT") {
  Fixture f;
  auto link = f.sink.all<LinkState>();
  REQUIRE(link.size() == 1);
  CHECK(link[0].up);

  f.t->send(f.presence("phone", "#chan%irc.test", "alice"));
  REQUIRE(run_until(f.io, [&] { return f.sink.self_presences() == 1 && !f.sink.all<InboundMessage>().empty(); }));
  REQUIRE(f.peer(0));
  CHECK(f.peer(0)->has_line("NICK alice"));
  CHECK(f.peer(0)->has_line("JOIN #chan"));
  auto ps = f.sink.all<PresenceUpdate>();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].peer_resource == "bob");
  CHECK(ps[0].muc->role == "moderator");
  CHECK(ps[1].peer_resource == "alice");
  auto subject = f.sink.all<InboundMessage>();
  REQUIRE(subject.size() == 1);
  CHECK(subject[0].subject == std::optional<std::string>("Test topic"));
  CHECK(f.stat("IRC connections") == "1");
  CHECK(f.stat("rooms joined") == "1");

  // Groupchat out, reflected (the scripted server has no echo-message).
  f.sink.events.clear();
  auto said = f.message("#chan%irc.test", "hello there", MessageKind::Groupchat);
  f.t->send(said);
  REQUIRE(run_until(f.io, [&] { return f.peer(0)->has_line("PRIVMSG #chan :hello there"); }));
  auto ms = f.sink.all<InboundMessage>();
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].peer_resource == "alice");
  CHECK(ms[0].id == said.id);

  // Groupchat in.
  f.sink.events.clear();
  f.peer(0)->send(":bob!b@h PRIVMSG #chan :hi alice");
  REQUIRE(run_until(f.io, [&] { return !f.sink.all<InboundMessage>().empty(); }));
  ms = f.sink.all<InboundMessage>();
  CHECK(ms[0].body == "hi alice");
  CHECK(ms[0].peer_resource == "bob");
  CHECK(ms[0].user_resource == "phone");

  // The server goes away: bob leaves with the reason, a notice, then a new
  // connection (after ~1 s of backoff) rejoins and the sequence comes again.
  f.sink.events.clear();
  f.peer(0)->close();
  REQUIRE(run_until(f.io, [&] { return !f.sink.all<PresenceUpdate>().empty(); }));
  ps = f.sink.all<PresenceUpdate>();
  CHECK(ps[0].peer_resource == "bob");
  CHECK_FALSE(ps[0].available);
  CHECK(ps[0].status.find("IRC connection lost") == 0);
  REQUIRE(run_until(f.io, [&] { return f.sink.self_presences() == 1; }, 5s));
  REQUIRE(f.peer(1));
  CHECK(f.peer(1)->has_line("JOIN #chan"));
  bool notice = false;
  for (const auto& m : f.sink.all<InboundMessage>())
    if (m.body.find("IRC connection lost") == 0 && m.peer_resource.empty()) notice = true;
  CHECK(notice);

  // Leaving: PART, then QUIT once the 1 s grace period is over; the session goes.
  f.t->send(f.presence("phone", "#chan%irc.test", "alice", "unavailable"));
  REQUIRE(run_until(f.io, [&] { return f.peer(1)->has_line("PART #chan"); }));
  CHECK_FALSE(f.peer(1)->has_line("QUIT"));
  REQUIRE(run_until(f.io, [&] { return f.peer(1)->has_line("QUIT"); }, 5s));
  REQUIRE(run_until(f.io, [&] { return f.stat("IRC sessions") == "0"; }));
}

TEST_CASE("irc transport: a private message opens a connection with the registered nick; stop() QUITs") {
  Fixture f("grace_seconds = 60\n");
  f.t->send(UserRegistered{"alice@example.org", {{"nick", "Alyx"}}});
  f.t->send(f.message("bob%irc.test", "psst", MessageKind::Chat));
  REQUIRE(run_until(f.io, [&] { return f.peer(0) && f.peer(0)->has_line("PRIVMSG bob psst"); }));
  CHECK(f.peer(0)->has_line("NICK Alyx"));
  f.peer(0)->send(":bob!b@h PRIVMSG Alyx :hey");
  REQUIRE(run_until(f.io, [&] { return !f.sink.all<InboundMessage>().empty(); }));
  auto ms = f.sink.all<InboundMessage>();
  CHECK(ms[0].peer == "bob%irc.test");
  CHECK(ms[0].kind == MessageKind::Chat);
  f.t->stop();
  REQUIRE(run_until(f.io, [&] { return f.peer(0)->has_line("QUIT :Gateway shutting down"); }));
}

TEST_CASE("irc transport: a server the gateway does not list is refused") {
  Fixture f;
  auto join = f.presence("phone", "#chan%irc.elsewhere.net", "alice");
  f.t->send(join);
  auto o = f.sink.all<SendOutcome>();
  REQUIRE(o.size() == 1);
  CHECK(o[0].ref == join.ref);
  CHECK_FALSE(o[0].ok);
  CHECK(o[0].failure == Failure::NotFound);
  CHECK(f.stat("IRC sessions") == "0");
  // A message to a room nobody joined: refused, and no session or connection stays.
  f.t->send(f.message("#chan%irc.test", "hi", MessageKind::Groupchat));
  o = f.sink.all<SendOutcome>();
  REQUIRE(o.size() == 2);
  CHECK(o[1].failure == Failure::NotAcceptable);
  CHECK(f.stat("IRC sessions") == "0");
  CHECK(f.server.peers.empty());
}

TEST_CASE("irc transport: disco, registration and settings answers") {
  Fixture f;
  CHECK(f.t->kind() == "irc");
  CHECK_FALSE(f.t->requires_registration());
  auto room = f.t->peer_info("alice@example.org", "#chan%irc.test");
  REQUIRE(room);
  CHECK(room->category == "conference");
  CHECK(room->type == "text");
  CHECK(std::count(room->features.begin(), room->features.end(), "http://jabber.org/protocol/muc") == 1);
  auto server = f.t->peer_info("alice@example.org", "irc.test");
  REQUIRE(server);
  CHECK(server->category == "conference");
  CHECK(server->type == "irc");
  auto person = f.t->peer_info("alice@example.org", "bob%irc.test");
  REQUIRE(person);
  CHECK(person->category == "client");
  CHECK_FALSE(f.t->peer_info("alice@example.org", "#chan%not.listed"));

  auto items = f.t->items("alice@example.org");
  REQUIRE(items.size() == 1);
  CHECK(items[0].peer == "irc.test");

  std::vector<std::string> vars;
  for (auto& fl : f.t->registration_fields()) vars.push_back(fl.var);
  CHECK(vars == std::vector<std::string>{"nick", "password", "username"});
  FieldValues ok{{"nick", " alice "}, {"password", "pw"}};
  CHECK_FALSE(f.t->validate_registration("alice@example.org", ok));
  CHECK(ok[0].second == "alice");
  FieldValues bad{{"nick", "al ice"}};
  CHECK(f.t->validate_registration("alice@example.org", bad));
  FieldValues inject{{"password", "pw\r\nQUIT"}};
  CHECK(f.t->validate_registration("alice@example.org", inject));

  vars.clear();
  for (auto& fl : f.t->settings_fields()) vars.push_back(fl.var);
  CHECK(vars == std::vector<std::string>{"irc.test/nick", "irc.test/username", "irc.test/password", "irc.test/stay"});
  CHECK(f.t->gateway_resolve("#chan%irc.test") == std::optional<std::string>("#chan%irc.test"));
  CHECK_FALSE(f.t->gateway_resolve("#chan%not.listed"));
}

TEST_CASE("irc transport: per-server settings override the registration's nick") {
  Fixture f("grace_seconds = 60\n");
  f.t->send(UserRegistered{"alice@example.org", {{"nick", "Alyx"}}});
  f.t->send(SettingsChanged{"alice@example.org", {{"irc.test/nick", "AliceOnTest"}}});
  f.t->send(f.message("irc.test", "WHOIS bob", MessageKind::Chat));
  REQUIRE(run_until(f.io, [&] { return f.peer(0) && f.peer(0)->has_line("WHOIS bob"); }));
  CHECK(f.peer(0)->has_line("NICK AliceOnTest"));
  // Removing the user closes their connection.
  f.t->send(UserRemoved{"alice@example.org"});
  REQUIRE(run_until(f.io, [&] { return f.peer(0)->has_line("QUIT"); }));
  CHECK(f.stat("IRC sessions") == "0");
}

TEST_CASE("irc transport: a burst of joins opens at most 8 connections to a server at once, the rest in turn") {
  // The server accepts but does not answer until told: the first 8 connections
  // sit in registration, so the other users' connections must wait (SPEC §7; a
  // small server's listen backlog would otherwise drop their handshakes).
  Fixture f;
  f.server.no_start = true;
  std::vector<std::uint64_t> refs;
  for (int i = 0; i < 10; ++i) {
    auto p = f.presence("phone", "#chan%irc.test", "u" + std::to_string(i));
    p.user = "u" + std::to_string(i) + "@example.org";
    refs.push_back(p.ref);
    f.t->send(p);
  }
  REQUIRE(run_until(f.io, [&] { return f.server.peers.size() == 8; }));
  run_for(f.io, 200ms);
  CHECK(f.server.peers.size() == 8);
  CHECK(f.stat("IRC connections waiting to connect") == "2");

  // One of them is refused (the server closes it): that join is answered, and the
  // next waiting connection starts.
  f.peer(0)->close();
  REQUIRE(run_until(f.io, [&] { return !f.sink.all<SendOutcome>().empty(); }));
  auto o = f.sink.all<SendOutcome>();
  CHECK(o[0].ref == refs[0]);
  CHECK_FALSE(o[0].ok);
  REQUIRE(run_until(f.io, [&] { return f.server.peers.size() == 9; }));
  CHECK(f.stat("IRC connections waiting to connect") == "1");

  // The server answers now: everyone registers, the last one gets its turn, and all
  // nine remaining users are in the room.
  f.server.no_start = false;
  for (std::size_t i = 1; i < f.server.peers.size(); ++i) f.server.peers[i]->start(f.server.script);
  REQUIRE(run_until(f.io, [&] { return f.sink.self_presences() == 9; }));
  CHECK(f.server.peers.size() == 10);
  CHECK(f.stat("IRC connections waiting to connect") == "0");
}
