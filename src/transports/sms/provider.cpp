#include "transports/sms/provider.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include "common/civil_time.hpp"
#include "transports/sms/form.hpp"

namespace sb::transport::sms {
namespace {

// A small cursor over the text being parsed.
struct Cursor {
  std::string_view s;
  bool eat(char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
  }
  void spaces() {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  std::optional<int> number(std::size_t min_digits, std::size_t max_digits) {
    std::size_t n = 0;
    while (n < s.size() && n < max_digits && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    if (n < min_digits) return std::nullopt;
    int v = 0;
    std::from_chars(s.data(), s.data() + n, v);
    s.remove_prefix(n);
    return v;
  }
};

std::optional<std::int64_t> parse_rfc2822(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  Cursor c{text};
  c.spaces();
  if (auto comma = c.s.find(','); comma != std::string_view::npos && comma <= 9) c.s.remove_prefix(comma + 1);
  c.spaces();
  auto d = c.number(1, 2);
  c.spaces();
  if (!d || c.s.size() < 3) return std::nullopt;
  std::string mon;
  for (char ch : c.s.substr(0, 3)) mon.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  int mo = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (kMonths[i] == mon) mo = static_cast<int>(i) + 1;
  if (!mo) return std::nullopt;
  c.s.remove_prefix(3);
  c.spaces();
  auto y = c.number(4, 4);
  c.spaces();
  auto h = c.number(2, 2);
  if (!y || !h || !c.eat(':')) return std::nullopt;
  auto mi = c.number(2, 2);
  if (!mi || !c.eat(':')) return std::nullopt;
  auto sec = c.number(2, 2);
  if (!sec) return std::nullopt;
  c.spaces();
  int offset = 0;
  if (!c.s.empty() && (c.s.front() == '+' || c.s.front() == '-')) {
    const int sign = c.s.front() == '-' ? -1 : 1;
    c.s.remove_prefix(1);
    auto hhmm = c.number(4, 4);
    if (!hhmm) return std::nullopt;
    offset = sign * (*hhmm / 100 * 60 + *hhmm % 100);
  }  // GMT, UT, Z or nothing: UTC
  return civil::unix_ms(*y, mo, *d, *h, *mi, *sec, offset, 0);
}

}  // namespace

std::optional<std::int64_t> parse_date_ms(std::string_view s) {
  if (auto iso = civil::parse_iso8601_ms(s)) return iso;
  return parse_rfc2822(s);
}

std::optional<std::int64_t> parse_retry_after(std::string_view v, std::int64_t now_ms) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  std::int64_t secs = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc() && end == v.data() + v.size()) return secs < 0 ? 0 : std::min<std::int64_t>(secs, 86400);
  if (auto at = parse_date_ms(v)) return std::max<std::int64_t>(0, (*at - now_ms + 999) / 1000);
  return std::nullopt;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  auto fields = form_decode(query);
  if (!fields) return std::nullopt;
  if (const auto* v = form_get(*fields, name)) return *v;
  return std::nullopt;
}

Failure failure_of_status(int status) {
  return status == 401 || status == 403 ? Failure::Forbidden : Failure::NotAcceptable;
}

Verdict verdict_of(const HttpResult& r) {
  if (r.status == 0) return r.reached ? Verdict::Ambiguous : Verdict::Retry;
  if (r.status >= 200 && r.status < 300) return Verdict::Accepted;
  // 429: rate limited, not processed. 408: the server gave up reading the request.
  if (r.status == 429 || r.status == 408) return Verdict::Retry;
  if (r.status >= 400 && r.status < 500) return Verdict::Failed;
  // 5xx (and anything odd: 1xx, 3xx): the provider may have acted on it.
  return Verdict::Ambiguous;
}

std::string excerpt(std::string_view body, std::size_t max) {
  std::string out;
  for (char c : body.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
  }
  if (body.size() > max) out += "...";
  return out;
}

}  // namespace sb::transport::sms
