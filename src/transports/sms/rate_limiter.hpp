// Pacing of outgoing SMS (SPEC §8: per-number rate limit) and retry backoff. Pure:
// time is passed in (milliseconds of the injected Clock), never read.
#pragma once
#include <cstdint>
#include <optional>
#include "common/token_bucket.hpp"

namespace sb::transport::sms {

// The common token bucket (common/token_bucket.hpp) on the injected Clock's
// milliseconds: `rate` messages per second, holding at most `burst`; rate <= 0:
// unlimited. Starts full.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : bucket_(rate, burst) {}
  bool unlimited() const { return bucket_.unlimited(); }
  // Takes a token if one is available at `now_ms`.
  bool try_take(std::int64_t now_ms);
  // When the next token is available (now_ms if one is).
  std::int64_t next_ms(std::int64_t now_ms) const;

 private:
  sb::TokenBucket bucket_;
};

// The delay before retry number `failures` (1 after the first failure): 1 s
// doubling up to `cap_s`; a provider's Retry-After (seconds) wins when given.
std::int64_t backoff_ms(int failures, std::optional<std::int64_t> retry_after_s, std::int64_t cap_s);

}  // namespace sb::transport::sms
