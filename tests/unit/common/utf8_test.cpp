// common/utf8: the one UTF-8 decoder behind the core's sanitize_text and the MQTT
// payload renderer.
#include <doctest/doctest.h>

#include <string>
#include "common/utf8.hpp"

using namespace sb;

TEST_CASE("utf-8 validation follows RFC 3629") {
  CHECK(utf8::valid(""));
  CHECK(utf8::valid("plain"));
  CHECK(utf8::valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa1"));
  CHECK_FALSE(utf8::valid("\xc3"));              // truncated
  CHECK_FALSE(utf8::valid("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(utf8::valid("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(utf8::valid("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(utf8::valid("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(utf8::valid("\xff"));
  CHECK_FALSE(utf8::valid("\x80"));
}

TEST_CASE("xml text excludes characters XML 1.0 cannot carry") {
  CHECK(utf8::xml_text("tab\tnl\ncr\r"));
  CHECK_FALSE(utf8::xml_text(std::string("a\0b", 3)));
  CHECK_FALSE(utf8::xml_text("bell\x07"));
  CHECK_FALSE(utf8::xml_text("\xef\xbf\xbf"));  // U+FFFF
}

TEST_CASE("prefix never splits a character") {
  const std::string s = "a\xc3\xa9\xe2\x82\xac";  // a é €
  CHECK(utf8::prefix(s, 1) == "a");
  CHECK(utf8::prefix(s, 2) == "a");  // would split é
  CHECK(utf8::prefix(s, 3) == "a\xc3\xa9");
  CHECK(utf8::prefix(s, 5) == "a\xc3\xa9");  // would split €
  CHECK(utf8::prefix(s, 6) == s);
}

TEST_CASE("decode consumes a maximal ill-formed subpart per U+FFFD (Unicode 3.9)") {
  std::size_t len = 0;
  CHECK(utf8::decode("\xe2\x82", 0, len) == -1);  // truncated €: both bytes, one replacement
  CHECK(len == 2);
  CHECK(utf8::decode("\xe2\x82\xac", 0, len) == 0x20AC);
  CHECK(len == 3);
  CHECK(utf8::decode("\xff", 0, len) == -1);
  CHECK(len == 1);
}
