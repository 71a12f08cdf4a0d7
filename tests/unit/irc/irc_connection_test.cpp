// IrcConnection (the edge, SPEC §7) against a tiny scripted IRC server on
// loopback, plain TCP and TLS. The server records every line it receives, so the
// tests check what went over the wire: registration, CAP/SASL, PONG, QUIT, flood
// order, and that no send() ever produces two lines. The server and the
// throwaway TLS certificate are in scripted_ircd.hpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transports/irc/irc_connection.hpp"
#include "unit/irc/scripted_ircd.hpp"

using namespace sb::transport::irc;
using namespace sb::test::irc;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using Steady = std::chrono::steady_clock;

namespace {

// ---------------------------------------------------------------- the client

struct Client {
  Client(asio::io_context& io, ServerConfig server, Identity id = {}, ConnectionTimings t = {}) {
    if (id.nick.empty()) id.nick = "alice";
    if (id.realname.empty()) id.realname = "Alice Example";
    ConnectionHandlers h;
    h.on_registered = [this](const std::string& n) { registered_as.push_back(n); };
    h.on_message = [this](const IrcMessage& m) { messages.push_back(m); };
    h.on_closed = [this](const std::string& r, bool nr) {
      ++closed;
      reason = r;
      nick_rejected = nr;
    };
    conn = std::make_shared<IrcConnection>(io.get_executor(), std::move(server), std::move(id), std::move(h), t);
  }
  bool got(std::string_view command) const {
    for (auto& m : messages)
      if (m.command == command) return true;
    return false;
  }
  std::shared_ptr<IrcConnection> conn;
  std::vector<std::string> registered_as;
  std::vector<IrcMessage> messages;
  int closed = 0;
  std::string reason;
  bool nick_rejected = false;
};

ServerConfig plain_server(std::uint16_t port, std::string host = "127.0.0.1") {
  ServerConfig s;
  s.name = "test.irc";
  s.host = std::move(host);
  s.port = port;
  s.tls = false;
  s.flood.per_second = 0;
  return s;
}

ServerConfig tls_server(std::uint16_t port, std::string host = "localhost") {
  ServerConfig s = plain_server(port, std::move(host));
  s.tls = true;
  return s;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------- registration

TEST_CASE("connection: a server without CAP: CAP LS is ignored, 001 registers") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()), Identity{"alice", "al", "Alice Example", "", ""});
  c.conn->start();
  REQUIRE(run_until(io, [&] { return !c.registered_as.empty(); }));
  CHECK(c.registered_as == std::vector<std::string>{"alice"});
  CHECK(c.conn->registered());
  CHECK(c.conn->nick() == "alice");
  CHECK(c.conn->caps().empty());
  CHECK(c.got("001"));  // on_message sees 001 as well
  CHECK(c.got("005"));
  auto& lines = srv.peer()->lines;
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == "CAP LS 302");
  CHECK(lines[1] == "NICK alice");
  CHECK(lines[2] == "USER al 0 * :Alice Example");
  CHECK(c.closed == 0);
}

TEST_CASE("connection: PASS goes before NICK and USER") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  auto cfg = plain_server(srv.port());
  cfg.password = "server secret";
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  auto& lines = srv.peer()->lines;
  REQUIRE(lines.size() >= 4);
  CHECK(lines[0] == "CAP LS 302");
  CHECK(lines[1] == "PASS :server secret");
  CHECK(lines[2] == "NICK alice");
  CHECK(lines[3].rfind("USER alice 0 * :", 0) == 0);
}

TEST_CASE("connection: a refused server password is the reason when the server closes") {
  asio::io_context io;
  Server srv(io);
  srv.script = [](Peer& p, const IrcMessage& m) {
    if (m.command == "USER") {
      p.send(":srv 464 * :Password incorrect");
      p.close();
    }
  };
  auto cfg = plain_server(srv.port());
  cfg.password = "wrong";
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "closed the connection: the server password (PASS) was refused: Password incorrect"));
  CHECK_FALSE(contains(c.reason, "wrong"));
  CHECK_FALSE(c.nick_rejected);
}

TEST_CASE("connection: CAP LS 302 over two lines, REQ of the offered wanted caps, ACK, CAP END") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":srv CAP * LS * :multi-prefix sasl=PLAIN account-notify",
                              ":srv CAP * LS :server-time echo-message away-notify message-tags batch"}});
  Client c(io, plain_server(srv.port()));  // no SASL password
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  auto* p = srv.peer();
  CHECK(p->has_line("CAP REQ :multi-prefix server-time echo-message away-notify message-tags"));
  CHECK_FALSE(p->has_line("AUTHENTICATE"));
  CHECK(p->has_line("CAP END"));
  CHECK(c.conn->caps() ==
        std::set<std::string>{"multi-prefix", "server-time", "echo-message", "away-notify", "message-tags"});
}

TEST_CASE("connection: ngircd-like CAP (multi-prefix, no SASL) with a password: registered without SASL") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":ngircd CAP * LS :multi-prefix"}});
  Client c(io, plain_server(srv.port()), Identity{"alice", "", "", "", "pw"});
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  CHECK(srv.peer()->has_line("CAP REQ :multi-prefix"));
  CHECK_FALSE(srv.peer()->has_line("AUTHENTICATE"));
  CHECK(c.conn->caps() == std::set<std::string>{"multi-prefix"});
}

TEST_CASE("connection: NAK -> CAP END and registration without caps") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":srv CAP * LS :multi-prefix server-time"}, .nak = true});
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  CHECK(srv.peer()->has_line("CAP END"));
  CHECK(c.conn->caps().empty());
}

TEST_CASE("connection: SASL PLAIN success") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":srv CAP * LS :sasl=PLAIN,EXTERNAL multi-prefix"}});
  Client c(io, plain_server(srv.port()), Identity{"alice", "", "", "", "pw"});
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered() || c.closed; }));
  REQUIRE(c.conn->registered());
  auto after = srv.peer()->lines_after("CAP REQ");
  REQUIRE(after.size() >= 3);
  CHECK(after[0] == "AUTHENTICATE PLAIN");
  CHECK(after[1] == "AUTHENTICATE AGFsaWNlAHB3");  // "\0alice\0pw"
  CHECK(after[2] == "CAP END");
  CHECK(srv.peer()->has_line("CAP REQ :multi-prefix sasl"));
  CHECK(c.conn->caps().count("sasl"));
}

TEST_CASE("connection: SASL 904 -> QUIT, on_closed with the reason, not a nick problem") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":srv CAP * LS :sasl"}});
  Client c(io, plain_server(srv.port()), Identity{"alice", "", "", "bob", "wrong"});
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "SASL"));
  CHECK(contains(c.reason, "bob"));
  CHECK(contains(c.reason, "SASL authentication failed"));
  CHECK_FALSE(contains(c.reason, "wrong"));
  CHECK_FALSE(c.nick_rejected);
  CHECK_FALSE(c.registered_as.size());
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("QUIT"); }));
  CHECK_FALSE(srv.peer()->has_line("CAP END"));
  run_for(io, 100ms);
  CHECK(c.closed == 1);
}

TEST_CASE("connection: nick in use during registration -> QUIT and on_closed(reason, true)") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.nick_in_use = true});
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(c.nick_rejected);
  CHECK(contains(c.reason, "'alice'"));
  CHECK(contains(c.reason, "already in use"));
  CHECK(srv.peer()->has_line("QUIT"));
  CHECK(c.got("433"));
  CHECK(c.registered_as.empty());
  CHECK_FALSE(c.conn->registered());
}

TEST_CASE("connection: no 001 within the registration timeout -> closed with a reason") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.never_welcome = true});
  ConnectionTimings t;
  t.register_timeout = 300ms;
  t.quit_wait = 200ms;
  Client c(io, plain_server(srv.port()), {}, t);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "did not complete registration within 300 ms"));
  CHECK(srv.peer()->has_line("QUIT"));
}

TEST_CASE("connection: lines sent before 001 wait for it") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.caps = {":srv CAP * LS :multi-prefix"}});
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  CHECK(c.conn->send(IrcMessage{.command = "JOIN", .params = {"#early"}}));
  CHECK(c.conn->queued() == 1);
  REQUIRE(run_until(io, [&] { return srv.peer() && srv.peer()->has_line("JOIN"); }));
  auto& lines = srv.peer()->lines;
  auto join = std::find(lines.begin(), lines.end(), "JOIN #early");
  auto end = std::find(lines.begin(), lines.end(), "CAP END");
  REQUIRE(join != lines.end());
  REQUIRE(end != lines.end());
  CHECK(end < join);
  CHECK(c.conn->registered());
}

// ---------------------------------------------------------------- keepalive

TEST_CASE("connection: PING -> PONG, and the PING is passed on") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  srv.peer()->send("PING :irc.test 12345");
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("PONG"); }));
  auto pong = parse_line(srv.peer()->lines_after("USER").back());
  REQUIRE(pong);
  CHECK(pong->command == "PONG");
  CHECK(pong->params == std::vector<std::string>{"irc.test 12345"});
  CHECK(c.got("PING"));
}

TEST_CASE("connection: silence -> our PING; answered, it stays up") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  ConnectionTimings t;
  t.ping_after = 150ms;
  t.ping_timeout = 150ms;
  Client c(io, plain_server(srv.port()), {}, t);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  run_for(io, 800ms);
  int pings = 0;
  for (auto& l : srv.peer()->lines) pings += l == "PING :switchboard";
  CHECK(pings >= 2);
  CHECK(c.closed == 0);
  CHECK(c.conn->registered());
}

TEST_CASE("connection: silence and no answer to our PING -> ping timeout") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.answer_ping = false});
  ConnectionTimings t;
  t.ping_after = 150ms;
  t.ping_timeout = 150ms;
  Client c(io, plain_server(srv.port()), {}, t);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(srv.peer()->has_line("PING :switchboard"));
  CHECK(contains(c.reason, "ping timeout"));
  CHECK_FALSE(c.nick_rejected);
}

// ---------------------------------------------------------------- closing

TEST_CASE("connection: close() sends QUIT :reason; on_closed once, after close() returned") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  c.conn->close("see you");
  CHECK(c.closed == 0);  // posted, not called from inside close()
  c.conn->close("again");  // idempotent
  CHECK_FALSE(c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", "late"}}));
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(c.reason == "see you");
  CHECK(srv.peer()->has_line("QUIT :see you"));
  CHECK_FALSE(srv.peer()->has_line("QUIT :again"));
  CHECK_FALSE(srv.peer()->has_line("PRIVMSG"));
  run_for(io, 200ms);
  CHECK(c.closed == 1);
  CHECK_FALSE(c.conn->registered());
}

TEST_CASE("connection: a server that does not close after QUIT is closed after quit_wait") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd({.quit_closes = false});
  ConnectionTimings t;
  t.quit_wait = 200ms;
  Client c(io, plain_server(srv.port()), {}, t);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  c.conn->close("bye");
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(c.reason == "bye");
  REQUIRE(run_until(io, [&] { return srv.peer()->closed; }));  // our side closed the socket
  run_for(io, 100ms);
  CHECK(c.closed == 1);
}

TEST_CASE("connection: close() while connecting -> on_closed once, nothing sent") {
  asio::io_context io;
  Server srv(io);
  srv.no_start = true;
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  c.conn->close("never mind");
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(c.reason == "never mind");
  run_for(io, 100ms);
  CHECK(c.closed == 1);
}

TEST_CASE("connection: the server closing is reported with its ERROR text") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  srv.peer()->send("ERROR :Closing Link: alice (K-Lined)");
  REQUIRE(run_until(io, [&] { return c.got("ERROR"); }));
  srv.peer()->close();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "closed the connection"));
  CHECK(contains(c.reason, "K-Lined"));
  CHECK_FALSE(c.nick_rejected);
}

TEST_CASE("connection: dropped by its owner without close(): QUIT sent, no handler called") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();  // answers QUIT with ERROR, then closes
  bool registered = false, dropped = false;
  int calls_after_drop = 0;
  ConnectionHandlers h;
  h.on_registered = [&](const std::string&) { registered = true; };
  h.on_message = [&](const IrcMessage&) { calls_after_drop += dropped; };
  h.on_closed = [&](const std::string&, bool) { calls_after_drop += dropped; };
  auto conn = std::make_shared<IrcConnection>(io.get_executor(), plain_server(srv.port()), Identity{"alice"}, h);
  conn->start();
  REQUIRE(run_until(io, [&] { return registered; }));
  conn.reset();
  dropped = true;
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("QUIT"); }));
  REQUIRE(run_until(io, [&] { return srv.peer()->closed; }));
  run_for(io, 200ms);
  CHECK(calls_after_drop == 0);
}

TEST_CASE("connection: refused -> on_closed with the reason") {
  asio::io_context io;
  std::uint16_t port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  Client c(io, plain_server(port));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "cannot connect to 127.0.0.1:" + std::to_string(port)));
  CHECK(contains(c.reason, "refused"));
}

// ---------------------------------------------------------------- framing

TEST_CASE("connection: a 100 kB line is discarded, the connection lives on") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  const std::size_t before = c.messages.size();
  srv.peer()->write(":srv NOTICE alice :" + std::string(100 * 1024, 'x') + "\r\n");
  // A long but legal tagged line (8000 bytes of tags) is kept.
  srv.peer()->send("@t=" + std::string(8000, 'y') + " :srv NOTICE alice :tagged");
  srv.peer()->send("PING :alive");
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("PONG"); }));
  REQUIRE(c.messages.size() == before + 2);
  CHECK(c.messages[before].param(1) == "tagged");
  CHECK(c.messages[before].tags.size() == 1);
  CHECK(c.messages[before + 1].command == "PING");
  CHECK(c.closed == 0);
  CHECK(c.conn->registered());
}

TEST_CASE("connection: lines split across reads and CR-less line ends are handled") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  const std::size_t before = c.messages.size();
  srv.peer()->write(":a!u@h PRIVMSG alice :he");
  run_for(io, 50ms);
  srv.peer()->write("llo\r\n:b!u@h PRIVMSG alice :bare LF\n\r\n:c!u@h PRIVMSG alice :third\r\n");
  REQUIRE(run_until(io, [&] { return c.messages.size() >= before + 3; }));
  CHECK(c.messages[before].param(1) == "hello");
  CHECK(c.messages[before + 1].param(1) == "bare LF");
  CHECK(c.messages[before + 2].param(1) == "third");
}

TEST_CASE("connection: our nick follows NICK changes") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  srv.peer()->send(":bob!u@h NICK bobby");
  srv.peer()->send(":Alice!u@h NICK alice2");  // case-insensitive match on our own nick
  REQUIRE(run_until(io, [&] { return c.conn->nick() == "alice2"; }));
}

// ---------------------------------------------------------------- sending

TEST_CASE("connection: no injection: CR LF inside a parameter or a raw line never makes two lines") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  CHECK(c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", "x\r\nQUIT :pwned\r\nJOIN #evil"}}));
  CHECK(c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a\r\nQUIT", "y"}}));
  CHECK(c.conn->send_raw("PRIVMSG #a :x\r\nQUIT"));
  CHECK(c.conn->send_raw("PRIVMSG #a :nul\0QUIT"));
  CHECK_FALSE(c.conn->send_raw("\r\n"));  // nothing left: nothing sent
  CHECK(c.conn->send_raw("PING :probe"));
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("PING :probe"); }));
  auto after = srv.peer()->lines_after("USER");
  CHECK(after == std::vector<std::string>{"PRIVMSG #a :xQUIT :pwnedJOIN #evil", "PRIVMSG #aQUIT y",
                                          "PRIVMSG #a :xQUIT", "PRIVMSG #a :nul", "PING :probe"});
  for (auto& l : srv.peer()->lines) CHECK(l.find('\r') == std::string::npos);
  CHECK(c.closed == 0);
}

TEST_CASE("connection: flood control keeps the order and holds lines back") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  auto cfg = plain_server(srv.port());
  cfg.flood = {2, 10.0};  // 2 at once, then one every 100 ms
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  const auto t0 = Steady::now();
  for (int i = 1; i <= 6; ++i) c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", "line " + std::to_string(i)}});
  CHECK(c.conn->queued() == 6);
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("PRIVMSG #a :line 6"); }));
  const auto took = Steady::now() - t0;
  CHECK(srv.peer()->lines_after("USER") == std::vector<std::string>{"PRIVMSG #a :line 1", "PRIVMSG #a :line 2",
                                                                     "PRIVMSG #a :line 3", "PRIVMSG #a :line 4",
                                                                     "PRIVMSG #a :line 5", "PRIVMSG #a :line 6"});
  // 4 lines past the burst at 10/s cannot leave in less than 0.4 s.
  CHECK(took >= 350ms);
  CHECK(c.conn->queued() == 0);
}

TEST_CASE("connection: flood control off sends at once; PONG does not wait behind held lines") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  Client c(io, plain_server(srv.port()));  // per_second = 0
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  const auto t0 = Steady::now();
  for (int i = 1; i <= 50; ++i) c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", std::to_string(i)}});
  REQUIRE(run_until(io, [&] { return srv.peer()->has_line("PRIVMSG #a 50"); }));
  // With any bucket (e.g. the default 5 then 2/s) this would take 22 s.
  CHECK(Steady::now() - t0 < 3s);
  auto after = srv.peer()->lines_after("USER");
  REQUIRE(after.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(after[static_cast<std::size_t>(i)] == "PRIVMSG #a " + std::to_string(i + 1));

  // With a slow bucket, a server PING is answered ahead of the held lines.
  Server srv2(io);
  srv2.script = ircd();
  auto cfg = plain_server(srv2.port());
  cfg.flood = {1, 0.5};
  Client slow(io, cfg);
  slow.conn->start();
  REQUIRE(run_until(io, [&] { return slow.conn->registered(); }));
  for (int i = 1; i <= 3; ++i) slow.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", std::to_string(i)}});
  run_for(io, 50ms);
  srv2.peer()->send("PING :now");
  REQUIRE(run_until(io, [&] { return srv2.peer()->has_line("PONG"); }, 1500ms));
  CHECK(slow.conn->queued() == 2);
  CHECK(srv2.peer()->lines_after("USER") == std::vector<std::string>{"PRIVMSG #a 1", "PONG now"});
}

TEST_CASE("connection: close() sends the held lines, then QUIT") {
  asio::io_context io;
  Server srv(io);
  srv.script = ircd();
  auto cfg = plain_server(srv.port());
  cfg.flood = {1, 0.1};
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered(); }));
  for (int i = 1; i <= 3; ++i) c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", std::to_string(i)}});
  run_for(io, 50ms);
  c.conn->close("done");
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(srv.peer()->lines_after("USER") ==
        std::vector<std::string>{"PRIVMSG #a 1", "PRIVMSG #a 2", "PRIVMSG #a 3", "QUIT done"});
}

TEST_CASE("connection: the queue is bounded") {
  asio::io_context io;
  ServerConfig cfg = plain_server(1);
  ConnectionTimings t;
  t.max_queued = 3;
  Client c(io, cfg, {}, t);  // never started: everything waits
  for (int i = 0; i < 3; ++i) CHECK(c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", "x"}}));
  CHECK_FALSE(c.conn->send(IrcMessage{.command = "PRIVMSG", .params = {"#a", "x"}}));
  CHECK(c.conn->queued() == 3);
}

// ---------------------------------------------------------------- addresses

TEST_CASE("connection: an IPv6 literal host") {
  asio::io_context io;
  std::optional<Server> srv;
  try {
    srv.emplace(io, false, "::1");
  } catch (const boost::system::system_error& e) {
    MESSAGE("no IPv6 loopback here: " << e.what());
    return;
  }
  srv->script = ircd();
  Client c(io, plain_server(srv->port(), "::1"));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered() || c.closed; }));
  CHECK(c.conn->registered());
}

// ---------------------------------------------------------------- TLS

TEST_CASE("tls: verified with ca_file and a matching host name; SNI sent") {
  asio::io_context io;
  Server srv(io, true);
  srv.script = ircd({.caps = {":srv CAP * LS :multi-prefix"}});
  auto cfg = tls_server(srv.port(), "localhost");
  cfg.ca_file = cert().path;
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered() || c.closed; }));
  INFO(c.reason);
  CHECK(c.conn->registered());
  CHECK(srv.sni == "localhost");
  CHECK(srv.peer()->has_line("CAP REQ :multi-prefix"));
  c.conn->close("bye");
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(srv.peer()->has_line("QUIT bye"));
}

TEST_CASE("tls: an untrusted certificate fails with a clear reason") {
  asio::io_context io;
  Server srv(io, true);
  srv.script = ircd();
  Client c(io, tls_server(srv.port(), "localhost"));  // system CAs only
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "TLS handshake with localhost:" + std::to_string(srv.port()) + " failed"));
  CHECK(contains(c.reason, "certificate not accepted (self-signed certificate)"));
  CHECK(contains(c.reason, "ca_file"));
  CHECK(c.registered_as.empty());
  CHECK(srv.sni == "localhost");
}

TEST_CASE("tls: a trusted certificate for another name fails (host name verified)") {
  asio::io_context io;
  Server srv(io, true);
  srv.script = ircd();
  auto cfg = tls_server(srv.port(), "127.0.0.1");  // the certificate names only "localhost"
  cfg.ca_file = cert().path;
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "IP address mismatch"));
  CHECK(contains(c.reason, "does not name '127.0.0.1'"));
  CHECK(srv.sni.empty());  // no SNI for an address literal (RFC 6066)
}

TEST_CASE("tls: verify = false accepts an untrusted certificate") {
  asio::io_context io;
  Server srv(io, true);
  srv.script = ircd();
  auto cfg = tls_server(srv.port(), "127.0.0.1");
  cfg.verify = false;
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.conn->registered() || c.closed; }));
  INFO(c.reason);
  CHECK(c.conn->registered());
}

TEST_CASE("tls: a TLS client against a plain-text port fails with a reason") {
  asio::io_context io;
  Server srv(io);
  srv.greeting = ":srv NOTICE * :*** Looking up your hostname...";  // not a TLS record
  Client c(io, tls_server(srv.port(), "localhost"));
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "TLS handshake with localhost:" + std::to_string(srv.port()) + " failed"));
}

TEST_CASE("tls: a server that never answers the handshake -> connect timeout") {
  asio::io_context io;
  Server srv(io, true);
  srv.no_start = true;  // accepts the TCP connection, says nothing
  ConnectionTimings t;
  t.connect_timeout = 300ms;
  Client c(io, tls_server(srv.port()), {}, t);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "within 300 ms"));
  CHECK(contains(c.reason, "TLS handshake"));
}

TEST_CASE("tls: a missing ca_file is reported, not thrown") {
  asio::io_context io;
  auto cfg = tls_server(1);
  cfg.ca_file = "/nonexistent/ca.pem";
  Client c(io, cfg);
  c.conn->start();
  REQUIRE(run_until(io, [&] { return c.closed > 0; }));
  CHECK(contains(c.reason, "cannot read ca_file '/nonexistent/ca.pem': No such file"));
}
