#include "transports/sms/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace sb::transport::sms {

TokenBucket::TokenBucket(double rate, double burst) : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_) {}

void TokenBucket::refill(std::int64_t now_ms) {
  if (last_ms_ && now_ms > *last_ms_) tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - *last_ms_) / 1000.0);
  if (!last_ms_ || now_ms > *last_ms_) last_ms_ = now_ms;
}

bool TokenBucket::try_take(std::int64_t now_ms) {
  if (unlimited()) return true;
  refill(now_ms);
  // A hair of tolerance: 1000 ms at 1/s must yield a whole token despite rounding.
  if (tokens_ < 1.0 - 1e-9) return false;
  tokens_ = std::max(0.0, tokens_ - 1.0);
  return true;
}

std::int64_t TokenBucket::next_ms(std::int64_t now_ms) const {
  if (unlimited()) return now_ms;
  double tokens = tokens_;
  if (last_ms_ && now_ms > *last_ms_) tokens = std::min(burst_, tokens + rate_ * static_cast<double>(now_ms - *last_ms_) / 1000.0);
  if (tokens >= 1.0 - 1e-9) return now_ms;
  return now_ms + static_cast<std::int64_t>(std::ceil((1.0 - tokens) * 1000.0 / rate_));
}

std::int64_t backoff_ms(int failures, std::optional<std::int64_t> retry_after_s, std::int64_t cap_s) {
  if (retry_after_s && *retry_after_s >= 0) return *retry_after_s * 1000;
  const std::int64_t cap = std::max<std::int64_t>(1, cap_s) * 1000;
  std::int64_t d = 1000;
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

}  // namespace sb::transport::sms
