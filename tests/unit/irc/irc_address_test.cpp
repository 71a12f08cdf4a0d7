#include <doctest/doctest.h>

#include "transports/irc/irc_address.hpp"

using namespace sb::transport::irc;
using Kind = IrcAddress::Kind;

namespace {

IrcAddress peer(std::string_view s) {
  auto a = parse_peer(s);
  INFO(s);
  REQUIRE(a);
  return *a;
}

}  // namespace

TEST_CASE("parse_peer: rooms, persons, servers") {
  auto room = peer("#chan%irc.example.org");
  CHECK(room.kind == Kind::Channel);
  CHECK(room.name == "#chan");
  CHECK(room.server == "irc.example.org");
  for (std::string_view s : {"&local%irc.x", "+modeless%irc.x", "!12345chan%irc.x", "##dev%irc.x", "#a:b%irc.x"}) {
    CHECK(peer(s).kind == Kind::Channel);
    CHECK(to_peer(peer(s)) == s);
  }
  auto person = peer("nick%irc.example.org");
  CHECK(person.kind == Kind::Nick);
  CHECK(person.name == "nick");
  CHECK(person.server == "irc.example.org");
  auto server = peer("irc.example.org");
  CHECK(server.kind == Kind::Server);
  CHECK(server.name.empty());
  CHECK(server.server == "irc.example.org");
}

TEST_CASE("parse_peer: the server is lower-cased, the name kept") {
  auto a = peer("NiCk%IRC.Example.ORG");
  CHECK(a.name == "NiCk");
  CHECK(a.server == "irc.example.org");
  CHECK(to_peer(a) == "NiCk%irc.example.org");
}

TEST_CASE("parse_peer: nicks per RFC 2812, up to 64 bytes") {
  CHECK(peer("[a]\\`_^{|}-9%irc.x").kind == Kind::Nick);
  CHECK(peer("_x%irc.x").kind == Kind::Nick);
  CHECK(peer(std::string(64, 'n') + "%irc.x").kind == Kind::Nick);
  for (std::string s : {std::string(65, 'n'), std::string("1nick"), std::string("-nick"), std::string("ni ck"),
                        std::string("nick!"), std::string("nick*"), std::string("nick.x"), std::string("n\xC3\xA9")}) {
    INFO(s);
    CHECK_FALSE(parse_peer(s + "%irc.x"));
  }
}

TEST_CASE("parse_peer: servers") {
  CHECK(peer("localhost").server == "localhost");
  CHECK(peer("127.0.0.1").server == "127.0.0.1");
  CHECK(peer("irc-1.my_net.example").kind == Kind::Server);
  CHECK(peer("#c%127.0.0.1").server == "127.0.0.1");
  // bare IPv6 literals are allowed (see irc_address.cpp)
  CHECK(peer("::1").server == "::1");
  CHECK(peer("#c%2001:DB8::1").server == "2001:db8::1");
  for (std::string_view s : {"[::1]", "irc.x:6667", "irc..x", ".irc.x", "irc.x.", "irc x", "irc/x", "a@b", ":", "1:2"}) {
    INFO(s);
    CHECK_FALSE(parse_peer(s));
  }
  CHECK(parse_peer(std::string(63, 'a') + ".x"));
  CHECK_FALSE(parse_peer(std::string(64, 'a') + ".x"));
}

TEST_CASE("parse_peer: rejects malformed addresses") {
  using namespace std::string_literals;
  for (std::string s : {""s, "%irc.x"s, "#chan%"s, "#chan%%irc.x"s, "#a%b%irc.x"s, "# chan%irc.x"s, "#a,b%irc.x"s,
                        "#a\x07" "b%irc.x"s, "#a\rb%irc.x"s, "#a\nb%irc.x"s, "#a\0b%irc.x"s, "nick\n%irc.x"s,
                        "nick%irc.x\0"s, "nick@x%irc.x"s, "#a/b%irc.x"s, "#a@b%irc.x"s, "nick%irc/x"s, " nick%irc.x"s,
                        "#a\x02" "b%irc.x"s, "#" + std::string(200, 'c') + "%irc.x", "irc.x\r\n"s}) {
    INFO(s);
    CHECK_FALSE(parse_peer(s));
  }
}

TEST_CASE("is_channel_name") {
  for (std::string_view s : {"#a", "&a", "+a", "!a", "#", "#a:b", "#\xC3\xA9t\xC3\xA9"}) CHECK(is_channel_name(s));
  for (std::string_view s : {"", "a", "nick", "#a b", "#a,b", "#a\x07", "#a\r", "%a"}) CHECK_FALSE(is_channel_name(s));
}

TEST_CASE("IrcCodec without a fixed server: the full form only") {
  IrcCodec c;
  CHECK(c.from_localpart("#chan%irc.x") == std::optional<std::string>("#chan%irc.x"));
  CHECK(c.from_localpart("nick%irc.x") == std::optional<std::string>("nick%irc.x"));
  CHECK(c.from_localpart("irc.x") == std::optional<std::string>("irc.x"));
  CHECK_FALSE(c.from_localpart("#chan"));
  CHECK_FALSE(c.from_localpart(""));
  CHECK_FALSE(c.from_localpart("bad nick%irc.x"));
  CHECK(c.to_localpart("#chan%irc.x") == "#chan%irc.x");
  CHECK(c.to_localpart("irc.x") == "irc.x");
}

TEST_CASE("IrcCodec with a fixed server: the server part is implied") {
  IrcCodec c("irc.x");
  CHECK(c.fixed_server() == "irc.x");
  CHECK(c.from_localpart("#chan") == std::optional<std::string>("#chan%irc.x"));
  CHECK(c.from_localpart("nick") == std::optional<std::string>("nick%irc.x"));
  CHECK(c.from_localpart("") == std::optional<std::string>("irc.x"));  // the domain is the server
  CHECK(c.from_localpart("#chan%irc.x") == std::optional<std::string>("#chan%irc.x"));
  CHECK_FALSE(c.from_localpart("#chan%other.net"));  // this domain reaches one server
  CHECK_FALSE(c.from_localpart("other.net"));
  CHECK_FALSE(c.from_localpart("bad nick"));
  CHECK_FALSE(c.from_localpart("#a,b"));
  CHECK(c.to_localpart("#chan%irc.x") == "#chan");
  CHECK(c.to_localpart("nick%irc.x") == "nick");
  CHECK(c.to_localpart("irc.x").empty());
  CHECK(c.to_localpart("#chan%other.net") == "#chan%other.net");
  for (std::string_view lp : {"#chan", "nick", "", "&x", "[away]"}) {
    auto p = c.from_localpart(lp);
    REQUIRE(p);
    CHECK(c.to_localpart(*p) == lp);
  }
}

TEST_CASE("IrcCodec: the fixed server matches case-insensitively") {
  IrcCodec c("IRC.Example.ORG");
  CHECK(c.from_localpart("#chan") == std::optional<std::string>("#chan%irc.example.org"));
  CHECK(c.to_localpart("#chan%irc.example.org") == "#chan");
  CHECK(c.from_localpart("#chan%irc.example.org") == std::optional<std::string>("#chan%irc.example.org"));
}
