// Making foreign text valid XML (SPEC §3 last point).
#include <doctest/doctest.h>

#include "component/xml_text.hpp"

using sb::xmpp::is_valid_utf8;
using sb::xmpp::sanitize_text;
using sb::xmpp::xml_escape;

namespace {
const std::string kFFFD = "\xEF\xBF\xBD";
}

TEST_CASE("sanitize_text keeps valid text") {
  const std::string ok = "h\xC3\xA9llo \xF0\x9F\x98\x80 tab\there\r\nnew <&>\x7F \xEF\xBF\xBD \xF4\x8F\xBF\xBF";
  CHECK(sanitize_text(ok) == ok);
  CHECK(sanitize_text("") == "");
}

TEST_CASE("sanitize_text repairs invalid UTF-8 with U+FFFD") {
  CHECK(sanitize_text("a\xC3") == "a" + kFFFD);                          // truncated at end
  CHECK(sanitize_text("a\xE2\x82" "b") == "a" + kFFFD + "b");           // truncated 3-byte, one U+FFFD
  CHECK(sanitize_text("\xC0\x80") == kFFFD + kFFFD);                     // overlong NUL
  CHECK(sanitize_text("\xE0\x80\xAF") == kFFFD + kFFFD + kFFFD);         // overlong '/'
  CHECK(sanitize_text("\xED\xA0\x80") == kFFFD + kFFFD + kFFFD);         // UTF-16 surrogate
  CHECK(sanitize_text("\xF4\x90\x80\x80") == kFFFD + kFFFD + kFFFD + kFFFD);  // > U+10FFFF
  CHECK(sanitize_text("\xFF" "x\x80") == kFFFD + "x" + kFFFD);
  CHECK(is_valid_utf8(sanitize_text("\xF0\x9F\x98")));
}

TEST_CASE("sanitize_text removes characters XML 1.0 forbids") {
  CHECK(sanitize_text(std::string("a\0b", 3)) == "ab");
  CHECK(sanitize_text("a\x01\x08\x0B\x0C\x1F" "b") == "ab");
  CHECK(sanitize_text("a\xEF\xBF\xBE" "b\xEF\xBF\xBF" "c") == "abc");  // U+FFFE, U+FFFF
  CHECK(sanitize_text("\t\n\r") == "\t\n\r");
}

TEST_CASE("is_valid_utf8") {
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x98"));
  CHECK_FALSE(is_valid_utf8("\xC1\xBF"));
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));
  CHECK_FALSE(is_valid_utf8("\x80"));
}

TEST_CASE("xml_escape") {
  CHECK(xml_escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  CHECK(xml_escape("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
}

TEST_CASE("is_clean_text says whether sanitize_text would change the text") {
  for (std::string_view s : {std::string_view("plain ascii <&> 'quoted'"), std::string_view("caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80"),
                             std::string_view("tab\tnewline\ncr\r"), std::string_view("")}) {
    CHECK(sb::xmpp::is_clean_text(s));
    CHECK(sb::xmpp::sanitize_text(s) == s);
  }
  for (std::string_view s : {std::string_view("bell\x07"), std::string_view("nul\0x", 5), std::string_view("cut \xc3"),
                             std::string_view("overlong \xc0\xaf"), std::string_view("surrogate \xed\xa0\x80"),
                             std::string_view("nonchar \xef\xbf\xbe")}) {
    CHECK_FALSE(sb::xmpp::is_clean_text(s));
    CHECK(sb::xmpp::sanitize_text(s) != s);
  }
}
