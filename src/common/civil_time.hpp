// Calendar dates <-> unix time, and the ISO 8601 timestamps our peers send:
// IRCv3 server-time tags (SPEC §7), Telnyx webhooks and Twilio's API (SPEC §8).
// Pure; thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::civil {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

// Unix milliseconds of a wall-clock time at UTC offset `offset_min`; nullopt when a
// field is out of range (month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60).
std::optional<std::int64_t> unix_ms(int y, int mo, int d, int h, int mi, int sec, int offset_min, int frac_ms);

// "2010-08-18T20:01:40Z", with an optional fraction (to the millisecond), a 'T', 't'
// or ' ' separator and a "Z" / "+hh:mm" / "-hhmm" offset (none: UTC); leading and
// trailing spaces allowed, nothing else -> unix milliseconds.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

// XEP-0082 DateTime in UTC with milliseconds: "2010-08-18T20:01:40.000Z".
std::string iso8601_ms(std::int64_t unix_ms);

}  // namespace sb::civil
