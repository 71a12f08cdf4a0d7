#include "transports/irc/irc_flood.hpp"

#include <cmath>
#include <cstdint>

namespace sb::transport::irc {

TokenBucket::TokenBucket(FloodConfig cfg, TimePoint now) : bucket_(cfg.per_second, cfg.burst) { (void)now; }

std::chrono::steady_clock::duration TokenBucket::wait(TimePoint now) const {
  const double seconds = bucket_.seconds_until_token(now);
  if (seconds <= 0) return {};
  // Rounded up to the microsecond, plus one, so the token is there when the timer fires.
  const auto us = static_cast<std::int64_t>(std::ceil(seconds * 1e6)) + 1;
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::microseconds(us));
}

}  // namespace sb::transport::irc
