#include "transports/irc/irc_flood.hpp"

#include <algorithm>
#include <cmath>

namespace sb::transport::irc {
namespace {
// Refills are computed in floating point; a token that is "almost there" after
// exactly the computed wait counts as there, so a timer never spins.
constexpr double kEpsilon = 1e-9;
}  // namespace

TokenBucket::TokenBucket(FloodConfig cfg, TimePoint now)
    : burst_(std::max(1, cfg.burst)), per_second_(std::max(0.0, cfg.per_second)), tokens_(burst_), last_(now) {}

double TokenBucket::level(TimePoint now) const {
  if (now <= last_) return tokens_;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  return std::min(burst_, tokens_ + elapsed * per_second_);
}

bool TokenBucket::try_take(TimePoint now) {
  if (!enabled()) return true;
  tokens_ = level(now);
  if (now > last_) last_ = now;
  if (tokens_ + kEpsilon < 1.0) return false;
  tokens_ = std::max(0.0, tokens_ - 1.0);
  return true;
}

std::chrono::steady_clock::duration TokenBucket::wait(TimePoint now) const {
  if (!enabled()) return {};
  const double missing = 1.0 - level(now);
  if (missing <= kEpsilon) return {};
  const double seconds = missing / per_second_;
  // Rounded up to the microsecond, plus one, so the token is there when the timer fires.
  const auto us = static_cast<std::int64_t>(std::ceil(seconds * 1e6)) + 1;
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::microseconds(us));
}

}  // namespace sb::transport::irc
