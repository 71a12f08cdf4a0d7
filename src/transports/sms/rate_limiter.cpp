#include "transports/sms/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace sb::transport::sms {

namespace {
TimePoint at(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }
}  // namespace

bool TokenBucket::try_take(std::int64_t now_ms) { return bucket_.try_take(at(now_ms)); }

std::int64_t TokenBucket::next_ms(std::int64_t now_ms) const {
  return now_ms + static_cast<std::int64_t>(std::ceil(bucket_.seconds_until_token(at(now_ms)) * 1000.0));
}

std::int64_t backoff_ms(int failures, std::optional<std::int64_t> retry_after_s, std::int64_t cap_s) {
  if (retry_after_s && *retry_after_s >= 0) return *retry_after_s * 1000;
  const std::int64_t cap = std::max<std::int64_t>(1, cap_s) * 1000;
  std::int64_t d = 1000;
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

}  // namespace sb::transport::sms
