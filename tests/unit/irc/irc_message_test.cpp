#include <doctest/doctest.h>

#include "transports/irc/irc_message.hpp"

using namespace sb::transport::irc;

namespace {

IrcMessage parsed(std::string_view line) {
  auto m = parse_line(line);
  INFO(line);
  REQUIRE(m);
  return *m;
}

using Params = std::vector<std::string>;

}  // namespace

TEST_CASE("parse_line: prefix, command, middle and trailing parameters") {
  auto m = parsed(":alice!al@host.example PRIVMSG #chan :hello there :)");
  CHECK(m.tags.empty());
  CHECK(m.prefix == "alice!al@host.example");
  CHECK(m.nick() == "alice");
  CHECK(m.command == "PRIVMSG");
  CHECK(m.params == Params{"#chan", "hello there :)"});
  CHECK(m.param(0) == "#chan");
  CHECK(m.param(1) == "hello there :)");
  CHECK(m.param(2).empty());
}

TEST_CASE("parse_line: numerics, no prefix, no parameters, upper-cased command") {
  CHECK(parsed("PING").params.empty());
  CHECK(parsed("PING").command == "PING");
  CHECK(parsed("privmsg #a b").command == "PRIVMSG");
  auto w = parsed(":irc.example.org 001 me :Welcome to IRC");
  CHECK(w.command == "001");
  CHECK(w.nick() == "irc.example.org");
  CHECK(w.params == Params{"me", "Welcome to IRC"});
  // a middle parameter may hold ':' after its first character
  CHECK(parsed("MODE #a +k a:b").params == Params{"#a", "+k", "a:b"});
  // no trailing: the last middle parameter is the last one
  CHECK(parsed("JOIN #a").params == Params{"#a"});
}

TEST_CASE("parse_line: empty and odd trailing parameters") {
  CHECK(parsed("PRIVMSG #c :").params == Params{"#c", ""});
  CHECK(parsed("PRIVMSG #c ::-)").params == Params{"#c", ":-)"});
  CHECK(parsed("PRIVMSG #c :  spaced  ").params == Params{"#c", "  spaced  "});
  CHECK(parsed("TOPIC #c :a :b :c").params == Params{"#c", "a :b :c"});
}

TEST_CASE("parse_line: tolerates extra spaces and line endings") {
  auto m = parsed("   :nick!u@h   PRIVMSG    #chan    x   :text  \r\n");
  CHECK(m.prefix == "nick!u@h");
  CHECK(m.params == Params{"#chan", "x", "text  "});
  CHECK(parsed("PING :a\r").params == Params{"a"});
  CHECK(parsed("PING :a\n").params == Params{"a"});
  CHECK(parsed("PING a   ").params == Params{"a"});
  CHECK(parsed("@a=b    :p   CMD").command == "CMD");
}

TEST_CASE("parse_line: a line without a command is nullopt") {
  for (std::string_view s : {"", "   ", "\r\n", "@time=x", "@time=x ", ":prefix", ":prefix   ", "@a=b :prefix"}) {
    INFO(s);
    CHECK_FALSE(parse_line(s));
  }
}

TEST_CASE("parse_line: IRCv3 tags, unescaped") {
  auto m = parsed("@time=2026-11-21T10:00:00.000Z;msgid=abc;+draft/x=a\\:b\\sc\\\\d\\re\\nf\\g;flag :n!u@h PRIVMSG #c :hi");
  REQUIRE(m.tags.size() == 4);
  CHECK(m.tags[0] == std::pair<std::string, std::string>{"time", "2026-11-21T10:00:00.000Z"});
  REQUIRE(m.tag("msgid"));
  CHECK(*m.tag("msgid") == "abc");
  REQUIRE(m.tag("+draft/x"));
  CHECK(*m.tag("+draft/x") == "a;b c\\d\re\nfg");
  REQUIRE(m.tag("flag"));
  CHECK(m.tag("flag")->empty());
  CHECK(m.tag("missing") == nullptr);
  CHECK(m.prefix == "n!u@h");
  CHECK(m.params == Params{"#c", "hi"});
}

TEST_CASE("parse_line: tag edge cases") {
  CHECK(*parsed("@a=x\\ CMD").tag("a") == "x");         // trailing backslash dropped
  CHECK(*parsed("@a=\\\\ CMD").tag("a") == "\\");        // escaped backslash kept
  CHECK(parsed("@a= CMD").tag("a")->empty());           // empty value
  CHECK(*parsed("@a=1;a=2 CMD").tag("a") == "2");       // repeated key: last wins
  CHECK(parsed("@;;=v;k CMD").tags.size() == 1);        // empty tags and a tag with no key skipped
  CHECK(parsed("@a=b=c CMD").tag("a") != nullptr);
  CHECK(*parsed("@a=b=c CMD").tag("a") == "b=c");
}

TEST_CASE("IrcMessage::nick") {
  IrcMessage m;
  m.prefix = "nick!user@host";
  CHECK(m.nick() == "nick");
  m.prefix = "nick@host";
  CHECK(m.nick() == "nick");
  m.prefix = "irc.server.org";
  CHECK(m.nick() == "irc.server.org");
  m.prefix.clear();
  CHECK(m.nick().empty());
}

TEST_CASE("parse_line: long lines parse whole") {
  std::string text(20000, 'x');
  auto m = parsed("PRIVMSG #c :" + text);
  CHECK(m.param(1) == text);
}

TEST_CASE("serialize: the last parameter gets ':' only when it needs one") {
  CHECK(make_line("PRIVMSG", {"#chan", "hello world"}) == "PRIVMSG #chan :hello world");
  CHECK(make_line("PRIVMSG", {"#chan", "hello"}) == "PRIVMSG #chan hello");
  CHECK(make_line("PRIVMSG", {"#chan", ""}) == "PRIVMSG #chan :");
  CHECK(make_line("PRIVMSG", {"#chan", ":-)"}) == "PRIVMSG #chan ::-)");
  CHECK(make_line("QUIT", {}) == "QUIT");
  CHECK(make_line("USER", {"me", "0", "*", "Real Name"}) == "USER me 0 * :Real Name");
}

TEST_CASE("serialize: CR, LF and NUL never start another command") {
  auto line = make_line("PRIVMSG", {"#chan", "hi\r\nQUIT :bye"});
  CHECK(line == "PRIVMSG #chan :hiQUIT :bye");
  auto line2 = make_line("PRIVMSG", {"#chan", std::string("a\0b", 3)});
  CHECK(line2 == "PRIVMSG #chan ab");
  auto line3 = make_line("PRIVMSG", {"#ch\r\nQUIT", "x"});
  CHECK(line3 == "PRIVMSG #chQUIT x");
  auto back = parse_line(line);
  REQUIRE(back);
  CHECK(back->command == "PRIVMSG");
  CHECK(back->params == Params{"#chan", "hiQUIT :bye"});
}

TEST_CASE("serialize: a bad middle parameter is made harmless, the parameter count kept") {
  // spaces removed, leading ':' removed, empty -> "*"
  CHECK(make_line("PRIVMSG", {"#a b", "text"}) == "PRIVMSG #ab text");
  CHECK(make_line("PRIVMSG", {":#a", "text"}) == "PRIVMSG #a text");
  CHECK(make_line("PRIVMSG", {"", "text"}) == "PRIVMSG * text");
  CHECK(make_line("PRIVMSG", {" : ", "text"}) == "PRIVMSG * text");
  CHECK(make_line("PRIVMSG", {"\r\n", "text"}) == "PRIVMSG * text");
  CHECK(make_line("MODE", {"#a", "+k", "a:b"}) == "MODE #a +k a:b");
  for (const auto& bad : {Params{"a b", "", ":x", "last one"}, Params{" ", "::", "\n", ""}}) {
    auto m = parse_line(make_line("CMD", bad));
    REQUIRE(m);
    CHECK(m->params.size() == bad.size());
  }
}

TEST_CASE("serialize: command and prefix sanitised, tags not sent") {
  CHECK(make_line("PRIV MSG", {"#a", "b"}) == "PRIVMSG #a b");
  CHECK(make_line(":x", {"#a"}) == "x #a");
  CHECK(make_line("\r\n", {"#a"}).empty());  // no command: nothing to send
  IrcMessage m;
  m.tags = {{"time", "x"}};
  m.prefix = "me!u@h";
  m.command = "NOTICE";
  m.params = {"you", "a b"};
  CHECK(serialize(m) == ":me!u@h NOTICE you :a b");
  m.prefix = "a b\r\n";
  CHECK(serialize(m) == ":ab NOTICE you :a b");
  m.prefix = " ";
  CHECK(serialize(m) == "NOTICE you :a b");
}

TEST_CASE("serialize and parse_line round-trip server lines") {
  for (std::string_view line : {":n!u@h PRIVMSG #c :hello world", ":srv 353 me = #c :@op +voice plain",
                                "PING irc.example.org", ":n!u@h JOIN #c", ":n!u@h KICK #c victim :bye now",
                                ":srv 005 me CASEMAPPING=rfc1459 PREFIX=(ov)@+ :are supported"}) {
    INFO(line);
    auto m = parsed(line);
    CHECK(serialize(m) == line);
    auto again = parsed(serialize(m));
    CHECK(again.params == m.params);
    CHECK(again.prefix == m.prefix);
  }
}

TEST_CASE("strip_line_breaks") {
  CHECK(strip_line_breaks(std::string_view("a\rb\nc\0d", 7)) == "abcd");
  CHECK(strip_line_breaks("PRIVMSG #a :x") == "PRIVMSG #a :x");
  CHECK(strip_line_breaks("\r\n").empty());
}

TEST_CASE("irc_lower: RFC 1459 case mapping") {
  CHECK(irc_lower("NiCk[]\\~") == "nick{}|^");
  CHECK(irc_lower("#Chan") == "#chan");
  CHECK(irc_lower("{}|^") == "{}|^");
  CHECK(irc_lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");  // non-ASCII bytes untouched
  CHECK(irc_lower("Nick[away]") == irc_lower("nick{AWAY}"));
}
