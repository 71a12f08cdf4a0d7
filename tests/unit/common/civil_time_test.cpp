// civil_time: calendar arithmetic and ISO 8601 timestamps (IRC server-time, SMS providers).
#include <doctest/doctest.h>

#include "common/civil_time.hpp"

using namespace sb::civil;

TEST_CASE("days_from_civil: epoch, leap days, before 1970") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28) == 2);  // 2000 is a leap year
  CHECK(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28) == 1);  // 1900 is not
  CHECK(days_from_civil(1969, 12, 31) == -1);
}

TEST_CASE("parse_iso8601_ms: forms our peers send, and what is refused") {
  CHECK(parse_iso8601_ms("2010-08-18T20:01:40Z") == 1282161700000);
  CHECK(parse_iso8601_ms("2010-08-18t20:01:40.25z") == 1282161700250);
  CHECK(parse_iso8601_ms("2010-08-18 21:01:40+01:00") == 1282161700000);
  CHECK(parse_iso8601_ms("2010-08-18T19:01:40-0100") == 1282161700000);
  CHECK(parse_iso8601_ms(" 2010-08-18T20:01:40 ") == 1282161700000);  // no offset: UTC
  CHECK_FALSE(parse_iso8601_ms("2010-08-18T20:01:40Z trailing"));
  CHECK_FALSE(parse_iso8601_ms("2010-08-18T20:01:40."));
  CHECK_FALSE(parse_iso8601_ms("2010-8-18T20:01:40Z"));
  CHECK_FALSE(parse_iso8601_ms("2010-08-18T24:00:00Z"));
  CHECK_FALSE(parse_iso8601_ms(""));
}
