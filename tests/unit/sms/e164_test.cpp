#include <doctest/doctest.h>

#include "transports/sms/e164.hpp"

using namespace sb::transport::sms;

TEST_CASE("E.164: what people type becomes the canonical number") {
  CHECK(normalise_e164("+1 (555) 000-1111") == "+15550001111");
  CHECK(normalise_e164("+15550001111") == "+15550001111");
  CHECK(normalise_e164("  +44 20 7946 0958 ") == "+442079460958");
  CHECK(normalise_e164("+49.30.123456") == "+4930123456");
  CHECK(normalise_e164("0044 20 7946 0958") == "+442079460958");  // ITU international prefix
}

TEST_CASE("E.164: national numbers need a default country code") {
  CHECK_FALSE(normalise_e164("(555) 000-1111"));
  CHECK(normalise_e164("(555) 000-1111", "1") == "+15550001111");
  CHECK(normalise_e164("1-555-000-1111", "1") == "+15550001111");   // NANP written with its 1
  CHECK(normalise_e164("020 7946 0958", "44") == "+442079460958");  // trunk 0 dropped
  CHECK(normalise_e164("+33 6 12 34 56 78", "1") == "+33612345678");  // international stays as typed
}

TEST_CASE("E.164: refused") {
  CHECK_FALSE(normalise_e164(""));
  CHECK_FALSE(normalise_e164("+"));
  CHECK_FALSE(normalise_e164("+1234567"));           // 7 digits: too short
  CHECK(normalise_e164("+12345678") == "+12345678");  // 8: the shortest accepted
  CHECK(normalise_e164("+123456789012345") == "+123456789012345");
  CHECK_FALSE(normalise_e164("+1234567890123456"));  // 16: too long
  CHECK_FALSE(normalise_e164("+0123456789"));        // no country code starts with 0
  CHECK_FALSE(normalise_e164("+1 555 CALL NOW"));
  CHECK_FALSE(normalise_e164("+1555+0001111"));
  CHECK_FALSE(normalise_e164("not a number", "1"));
  CHECK_FALSE(normalise_e164("+1555\n0001111"));
}

TEST_CASE("E.164: the strict form and the address codec") {
  CHECK(is_e164("+15551234567"));
  CHECK_FALSE(is_e164("15551234567"));
  CHECK_FALSE(is_e164("+1 5551234567"));
  CHECK_FALSE(is_e164("+05551234567"));
  E164Codec codec;
  CHECK(codec.from_localpart("+15551234567") == "+15551234567");
  CHECK_FALSE(codec.from_localpart("alice"));
  CHECK_FALSE(codec.from_localpart("+1 (555) 123-4567"));  // XEP-0100 normalises; JIDs are canonical
  CHECK(codec.to_localpart("+15551234567") == "+15551234567");
  CHECK(valid_country_code("1"));
  CHECK(valid_country_code("353"));
  CHECK_FALSE(valid_country_code("0"));
  CHECK_FALSE(valid_country_code("1234"));
  CHECK_FALSE(valid_country_code("+1"));
}
