// CAP LS 302 / REQ / ACK / NAK and SASL PLAIN, line by line (SPEC §7, IRCv3
// capability negotiation and SASL 3.1).
#include <doctest/doctest.h>

#include <string>
#include <vector>
#include "transports/irc/irc_cap.hpp"

using namespace sb::transport::irc;
using Lines = std::vector<std::string>;

namespace {

IrcMessage msg(std::string_view line) {
  auto m = parse_line(line);
  REQUIRE(m);
  return *m;
}

Lines feed(CapNegotiator& c, std::string_view line) { return c.on_message(msg(line)); }

}  // namespace

TEST_CASE("cap: the first line is CAP LS 302") { CHECK(CapNegotiator::start() == "CAP LS 302"); }

TEST_CASE("cap: multi-line LS; REQ only the wanted caps that are offered; no sasl without a password") {
  CapNegotiator c("alice", "");
  CHECK(feed(c, ":srv CAP * LS * :multi-prefix account-notify sasl=PLAIN,EXTERNAL batch").empty());
  CHECK_FALSE(c.finished());
  auto out = feed(c, ":srv CAP * LS :server-time echo-message away-notify extended-join");
  CHECK(out == Lines{"CAP REQ :multi-prefix server-time echo-message away-notify"});
  CHECK_FALSE(c.finished());
  CHECK(feed(c, ":srv CAP alice ACK :multi-prefix server-time echo-message away-notify") == Lines{"CAP END"});
  CHECK(c.finished());
  CHECK(c.caps() == std::set<std::string>{"multi-prefix", "server-time", "echo-message", "away-notify"});
  CHECK_FALSE(c.sasl_unavailable());
}

TEST_CASE("cap: every wanted capability, in order, when all are offered") {
  CapNegotiator c("alice", "pw");
  auto out = feed(c, ":srv CAP * LS :message-tags away-notify echo-message server-time sasl multi-prefix");
  CHECK(out == Lines{"CAP REQ :multi-prefix sasl server-time echo-message away-notify message-tags"});
}

TEST_CASE("cap: nothing wanted is offered -> CAP END at once") {
  CapNegotiator c("alice", "");
  CHECK(feed(c, ":srv CAP * LS :account-notify batch") == Lines{"CAP END"});
  CHECK(c.finished());
  CHECK(c.caps().empty());
}

TEST_CASE("cap: NAK -> CAP END without capabilities") {
  CapNegotiator c("alice", "");
  CHECK(feed(c, ":srv CAP * LS :multi-prefix server-time") == Lines{"CAP REQ :multi-prefix server-time"});
  CHECK(feed(c, ":srv CAP * NAK :multi-prefix server-time") == Lines{"CAP END"});
  CHECK(c.finished());
  CHECK(c.caps().empty());
}

TEST_CASE("cap: SASL PLAIN success, 903 -> CAP END") {
  CapNegotiator c("alice", "secret");
  CHECK(feed(c, ":srv CAP * LS * :multi-prefix") .empty());
  CHECK(feed(c, ":srv CAP * LS :sasl=PLAIN,EXTERNAL") == Lines{"CAP REQ :multi-prefix sasl"});
  CHECK(feed(c, ":srv CAP * ACK :multi-prefix sasl") == Lines{"AUTHENTICATE PLAIN"});
  CHECK_FALSE(c.finished());
  // base64("\0alice\0secret")
  CHECK(feed(c, "AUTHENTICATE +") == Lines{"AUTHENTICATE AGFsaWNlAHNlY3JldA=="});
  CHECK(feed(c, ":srv 900 alice alice!a@h alice :You are now logged in as alice").empty());
  CHECK_FALSE(c.finished());
  CHECK(feed(c, ":srv 903 alice :SASL authentication successful") == Lines{"CAP END"});
  CHECK(c.finished());
  CHECK(c.authenticated());
  CHECK_FALSE(c.failure());
}

TEST_CASE("cap: SASL 904 -> failure with the server's text; nothing more is sent") {
  CapNegotiator c("alice", "wrong");
  feed(c, ":srv CAP * LS :sasl");
  feed(c, ":srv CAP * ACK :sasl");
  feed(c, "AUTHENTICATE +");
  CHECK(feed(c, ":srv 904 alice :SASL authentication failed").empty());
  REQUIRE(c.failure());
  CHECK(c.failure()->find("SASL") != std::string::npos);
  CHECK(c.failure()->find("alice") != std::string::npos);
  CHECK(c.failure()->find("SASL authentication failed") != std::string::npos);
  CHECK(c.failure()->find("wrong") == std::string::npos);  // never the password
  CHECK_FALSE(c.finished());
  CHECK(feed(c, ":srv 001 alice :Welcome").empty());
  CHECK(feed(c, ":srv CAP * ACK :multi-prefix").empty());
}

TEST_CASE("cap: 905 (message too long) and 906 (aborted) fail too") {
  for (const char* code : {"905", "906", "902"}) {
    CapNegotiator c("u", "p");
    feed(c, ":srv CAP * LS :sasl");
    feed(c, ":srv CAP * ACK :sasl");
    feed(c, std::string(":srv ") + code + " u :no");
    CHECK(c.failure());
  }
}

TEST_CASE("cap: sasl offered without PLAIN is not requested; the caller is told") {
  CapNegotiator c("alice", "secret");
  CHECK(feed(c, ":srv CAP * LS :multi-prefix sasl=EXTERNAL,SCRAM-SHA-256") == Lines{"CAP REQ :multi-prefix"});
  CHECK(c.sasl_unavailable());
}

TEST_CASE("cap: a password but no sasl offered (ngircd 26): on without, flagged") {
  CapNegotiator c("alice", "secret");
  CHECK(feed(c, ":ngircd CAP * LS :multi-prefix") == Lines{"CAP REQ :multi-prefix"});
  CHECK(c.sasl_unavailable());
  CHECK(feed(c, ":ngircd CAP alice ACK :multi-prefix") == Lines{"CAP END"});
  CHECK(c.caps() == std::set<std::string>{"multi-prefix"});
}

TEST_CASE("cap: a server without CAP: 001 ends negotiation, nothing sent") {
  CapNegotiator c("alice", "secret");
  CHECK(feed(c, ":old NOTICE * :*** Looking up your hostname").empty());
  CHECK_FALSE(c.finished());
  CHECK(feed(c, ":old 001 alice :Welcome").empty());
  CHECK(c.finished());
  CHECK(c.caps().empty());
  CHECK_FALSE(c.failure());
}

TEST_CASE("cap: 421 CAP (unknown command) ends negotiation without CAP END") {
  CapNegotiator c("alice", "");
  CHECK(feed(c, ":old 421 * CAP :Unknown command").empty());
  CHECK(c.finished());
}

TEST_CASE("cap: ACK split over lines, the request completes on the last one") {
  CapNegotiator c("alice", "");
  feed(c, ":srv CAP * LS :multi-prefix server-time");
  CHECK(feed(c, ":srv CAP alice ACK * :multi-prefix").empty());
  CHECK(feed(c, ":srv CAP alice ACK :server-time") == Lines{"CAP END"});
  CHECK(c.caps().size() == 2);
}

TEST_CASE("cap: after registration NEW requests wanted caps (not sasl), DEL removes") {
  CapNegotiator c("alice", "pw");
  feed(c, ":srv CAP * LS :multi-prefix");
  feed(c, ":srv CAP * ACK :multi-prefix");
  feed(c, ":srv 001 alice :hi");
  CHECK(feed(c, ":srv CAP alice NEW :sasl away-notify batch") == Lines{"CAP REQ :away-notify"});
  feed(c, ":srv CAP alice ACK :away-notify");
  CHECK(c.caps() == std::set<std::string>{"multi-prefix", "away-notify"});
  feed(c, ":srv CAP alice DEL :multi-prefix");
  CHECK(c.caps() == std::set<std::string>{"away-notify"});
}

TEST_CASE("cap: a server listing endless unknown caps keeps memory flat") {
  CapNegotiator c("alice", "");
  for (int i = 0; i < 1000; ++i)
    CHECK(feed(c, ":srv CAP * LS * :x-" + std::to_string(i) + " y-" + std::to_string(i)).empty());
  CHECK(feed(c, ":srv CAP * LS :echo-message") == Lines{"CAP REQ :echo-message"});
}

TEST_CASE("sasl plain: 400-byte chunks, '+' after an exact multiple") {
  // base64 of "\0u\0" + password: 4 * ceil(n / 3) characters.
  auto lines = sasl_plain_lines("u", std::string(297, 'p'));  // 300 bytes -> exactly 400 base64 chars
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].size() == std::string("AUTHENTICATE ").size() + 400);
  CHECK(lines[1] == "AUTHENTICATE +");

  lines = sasl_plain_lines("u", std::string(400, 'p'));  // 403 bytes -> 540 chars: 400 + 140
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].size() == 13 + 400);
  CHECK(lines[1].size() == 13 + 140);

  lines = sasl_plain_lines("u", std::string(597, 'p'));  // 600 bytes -> 800 chars: 400 + 400 + "+"
  REQUIRE(lines.size() == 3);
  CHECK(lines[2] == "AUTHENTICATE +");
  for (auto& l : lines) CHECK(l.find('\0') == std::string::npos);
}

TEST_CASE("sasl plain: the payload is \\0user\\0password") {
  CHECK(sasl_plain_lines("jilles", "sesame") == Lines{"AUTHENTICATE AGppbGxlcwBzZXNhbWU="});
}
