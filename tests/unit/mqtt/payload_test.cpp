#include <doctest/doctest.h>

#include "common/utf8.hpp"
#include "transports/mqtt/payload.hpp"

using namespace sb::transport::mqtt;

TEST_CASE("xml_sanitize marks what XML 1.0 cannot carry with U+FFFD") {
  CHECK(xml_sanitize(std::string("a\0b\xff", 4)) == "a\xef\xbf\xbd" "b\xef\xbf\xbd");
}

TEST_CASE("text payloads pass through unchanged") {
  auto r = payload_text("21.5 \xc2\xb0" "C");
  CHECK_FALSE(r.binary);
  CHECK_FALSE(r.truncated);
  CHECK(r.text == "21.5 \xc2\xb0" "C");
  CHECK(payload_text("").text == "");
}

TEST_CASE("binary payloads are rendered as base64, never raw") {
  std::string bin("\x00\x01\x02\xff", 4);
  auto r = payload_text(bin);
  CHECK(r.binary);
  CHECK_FALSE(r.truncated);
  CHECK(r.text == "[binary payload, 4 bytes, base64: AAEC/w==]");
  CHECK(sb::utf8::xml_text(r.text));
  // Valid UTF-8 with a control character is still not XML text.
  CHECK(payload_text("on\x01").binary);
}

TEST_CASE("huge payloads are capped so a stanza stays small") {
  SUBCASE("1 MiB of text: the first 64 KiB and a note") {
    std::string big(1024 * 1024, 'a');
    auto r = payload_text(big);
    CHECK_FALSE(r.binary);
    CHECK(r.truncated);
    CHECK(r.text.size() < 65 * 1024);
    CHECK(r.text.substr(0, 10) == "aaaaaaaaaa");
    CHECK(r.text.find("truncated: 1048576 bytes in total") != std::string::npos);
  }
  SUBCASE("the cut never splits a character") {
    std::string euro;
    for (int i = 0; i < 30000; ++i) euro += "\xe2\x82\xac";  // 3 bytes each
    auto r = payload_text(euro, 10);
    CHECK(r.text.substr(0, 9) == "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
    CHECK(r.text[9] == '\n');
    CHECK(sb::utf8::valid(r.text));
  }
  SUBCASE("1 MiB binary: a 4 KiB base64 excerpt") {
    std::string bin(1024 * 1024, '\xff');
    auto r = payload_text(bin);
    CHECK(r.binary);
    CHECK(r.truncated);
    CHECK(r.text.find("[binary payload, 1048576 bytes, base64: ////") == 0);
    CHECK(r.text.size() < 4096 + 100);
    CHECK(r.text.substr(r.text.size() - 4) == "\xe2\x80\xa6]");  // "…]"
  }
}
