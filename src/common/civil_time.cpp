// See civil_time.hpp.
#include "common/civil_time.hpp"

#include <cstdio>
#include <ctime>

namespace sb::civil {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Exactly `n` digits at the front of s, consumed.
std::optional<int> take_digits(std::string_view& s, std::size_t n) {
  if (s.size() < n) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return v;
}

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> unix_ms(int y, int mo, int d, int h, int mi, int sec, int offset_min, int frac_ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return std::nullopt;
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - std::int64_t{offset_min} * 60;
  return secs * 1000 + frac_ms;
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  auto y = take_digits(s, 4);
  if (!y || !take(s, '-')) return std::nullopt;
  auto mo = take_digits(s, 2);
  if (!mo || !take(s, '-')) return std::nullopt;
  auto d = take_digits(s, 2);
  if (!d || !(take(s, 'T') || take(s, 't') || take(s, ' '))) return std::nullopt;
  auto h = take_digits(s, 2);
  if (!h || !take(s, ':')) return std::nullopt;
  auto mi = take_digits(s, 2);
  if (!mi || !take(s, ':')) return std::nullopt;
  auto sec = take_digits(s, 2);
  if (!sec) return std::nullopt;
  int frac = 0;
  if (take(s, '.')) {
    std::size_t n = 0;
    while (!s.empty() && digit(s.front())) {
      if (n < 3) frac = frac * 10 + (s.front() - '0');
      ++n;
      s.remove_prefix(1);
    }
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) frac *= 10;
  }
  int offset = 0;
  if (take(s, 'Z') || take(s, 'z') || s.empty()) {
  } else if (s.front() == '+' || s.front() == '-') {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    auto oh = take_digits(s, 2);
    take(s, ':');
    auto om = take_digits(s, 2);
    if (!oh || !om) return std::nullopt;
    offset = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  return unix_ms(*y, *mo, *d, *h, *mi, *sec, offset, frac);
}

std::string iso8601_ms(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int fields: keeps -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(((unix_ms % 1000) + 1000) % 1000));
  return buf;
}

}  // namespace sb::civil
