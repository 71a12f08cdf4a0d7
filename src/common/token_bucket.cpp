#include "common/token_bucket.hpp"

#include <algorithm>

namespace sb {
namespace {
// Refills are computed in floating point; a token that is "almost there" after
// exactly the computed wait counts as there, so a timer never spins (1000 ms at
// 1/s must yield a whole token despite rounding).
constexpr double kEpsilon = 1e-9;
}  // namespace

TokenBucket::TokenBucket(double per_second, double burst)
    : per_second_(std::max(0.0, per_second)), burst_(std::max(1.0, burst)), tokens_(burst_) {}

double TokenBucket::level(TimePoint now) const {
  if (!last_ || now <= *last_) return tokens_;
  const double elapsed = std::chrono::duration<double>(now - *last_).count();
  return std::min(burst_, tokens_ + elapsed * per_second_);
}

bool TokenBucket::try_take(TimePoint now) {
  if (unlimited()) return true;
  tokens_ = level(now);
  if (!last_ || now > *last_) last_ = now;
  if (tokens_ + kEpsilon < 1.0) return false;
  tokens_ = std::max(0.0, tokens_ - 1.0);
  return true;
}

double TokenBucket::seconds_until_token(TimePoint now) const {
  if (unlimited()) return 0;
  const double missing = 1.0 - level(now);
  return missing <= kEpsilon ? 0 : missing / per_second_;
}

}  // namespace sb
