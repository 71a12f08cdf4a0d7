// JIDs (RFC 7622) and XEP-0106 escaping.
#include <doctest/doctest.h>

#include "component/jid.hpp"

using sb::xmpp::Jid;
using sb::xmpp::escape_localpart;
using sb::xmpp::unescape_localpart;

TEST_CASE("JID parse: valid forms") {
  auto j = Jid::parse("Alice@Example.org/phone");
  REQUIRE(j);
  CHECK(j->local() == "alice");
  CHECK(j->domain() == "example.org");
  CHECK(j->resource() == "phone");
  CHECK(j->str() == "alice@example.org/phone");
  CHECK(j->bare_str() == "alice@example.org");
  CHECK(j->bare() == *Jid::parse("alice@example.org"));
  CHECK_FALSE(j->is_bare());

  auto d = Jid::parse("mqtt.example.org");
  REQUIRE(d);
  CHECK(d->is_domain());
  CHECK(d->str() == "mqtt.example.org");

  // The resource keeps its case and may contain '@' and '/'.
  auto r = Jid::parse("a@b/Res@x/y z");
  REQUIRE(r);
  CHECK(r->resource() == "Res@x/y z");
  CHECK(r->local() == "a");

  // Domain with resource only, trailing dot, IP literals, non-ASCII.
  CHECK(Jid::parse("example.org/r")->resource() == "r");
  CHECK(Jid::parse("example.org.")->domain() == "example.org");
  CHECK(Jid::parse("u@[::1]")->domain() == "[::1]");
  CHECK(Jid::parse("u@127.0.0.1")->domain() == "127.0.0.1");
  CHECK(Jid::parse("\xC3\xA9l\xC3\xA8ve@\xC3\xA9" "cole.fr")->local() == "\xC3\xA9l\xC3\xA8ve");
  // Biboumi-style localparts are fine as they are.
  CHECK(Jid::parse("#chan%irc.libera.chat@irc.example.org")->local() == "#chan%irc.libera.chat");
  CHECK(Jid::parse("space\\20cadet@example.com")->local() == "space\\20cadet");
}

TEST_CASE("JID parse: invalid forms") {
  for (const char* bad : {"", "@example.org", "a@", "a@/r", "example.org/", "a@b/", "a b@example.org",
                          "a\"b@example.org", "a&b@example.org", "a'b@example.org", "a:b@example.org",
                          "a<b@example.org", "a>b@example.org", "a@b@example.org", "a@exa mple.org",
                          "a@example..org", "a@.example.org", "a@[::1", "a@ex\x01" "ample.org",
                          "a\x7F@example.org", "a@example.org/\x01", "\xFF@example.org",
                          "a@example.org/\xC3", "a\xC2\x85@example.org"}) {
    INFO(bad);
    CHECK_FALSE(Jid::parse(bad));
  }
  CHECK_FALSE(Jid::parse(std::string(1024, 'a') + "@example.org"));
  CHECK(Jid::parse(std::string(1023, 'a') + "@example.org"));
  CHECK_FALSE(Jid::parse("example.org/" + std::string(1024, 'r')));
}

TEST_CASE("XEP-0106 §4.3 examples round-trip") {
  struct Case { const char* raw; const char* escaped; };
  const Case cases[] = {
      {"space cadet", "space\\20cadet"},
      {"call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22"},
      {"at&t guy", "at\\26t\\20guy"},
      {"d'artagnan", "d\\27artagnan"},
      {"/.fanboy", "\\2f.fanboy"},
      {"::foo::", "\\3a\\3afoo\\3a\\3a"},
      {"<foo>", "\\3cfoo\\3e"},
      {"user@host", "user\\40host"},
      {"c:\\net", "c\\3a\\net"},
      {"c:\\\\net", "c\\3a\\\\net"},
      {"c:\\cool stuff", "c\\3a\\cool\\20stuff"},
      {"c:\\5commas", "c\\3a\\5c5commas"},
  };
  for (const auto& c : cases) {
    INFO(c.raw);
    CHECK(escape_localpart(c.raw) == c.escaped);
    CHECK(unescape_localpart(c.escaped) == c.raw);
    // The escaped form is a valid localpart.
    CHECK(Jid::parse(std::string(c.escaped) + "@example.com"));
  }
  CHECK(escape_localpart("space cadet@example.com") == "space\\20cadet\\40example.com");
  CHECK(escape_localpart("john smith@home") == "john\\20smith\\40home");
  CHECK(unescape_localpart("john\\20smith\\40home") == "john smith@home");
  CHECK(escape_localpart("#chan%irc.libera.chat") == "#chan%irc.libera.chat");
  // Not escape sequences: kept as they are.
  CHECK(unescape_localpart("a\\zz\\2") == "a\\zz\\2");
  CHECK(unescape_localpart("\\2F") == "\\2F");  // XEP-0106 sequences are lower case
}
