// Pacing of outgoing SMS (SPEC §8: per-number rate limit) and retry backoff. Pure:
// time is passed in (milliseconds of the injected Clock), never read.
#pragma once
#include <cstdint>
#include <optional>

namespace sb::transport::sms {

// A token bucket: `rate` tokens per second, holding at most `burst` (>= 1); a
// message takes one. rate <= 0: unlimited. Starts full.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst);
  bool unlimited() const { return rate_ <= 0; }
  // Takes a token if one is available at `now_ms`.
  bool try_take(std::int64_t now_ms);
  // When the next token is available (now_ms if one is).
  std::int64_t next_ms(std::int64_t now_ms) const;

 private:
  void refill(std::int64_t now_ms);
  double rate_, burst_, tokens_;
  std::optional<std::int64_t> last_ms_;
};

// The delay before retry number `failures` (1 after the first failure): 1 s
// doubling up to `cap_s`; a provider's Retry-After (seconds) wins when given.
std::int64_t backoff_ms(int failures, std::optional<std::int64_t> retry_after_s, std::int64_t cap_s);

}  // namespace sb::transport::sms
