// A token bucket, for every outgoing pace: IRC flood control (SPEC §7) and the
// SMS per-number rate limit (SPEC §8). Pure: the caller passes the time.
//
// `per_second` tokens come back per second, holding at most `burst` (>= 1); one
// is taken per line or message. per_second <= 0: unlimited. Starts full.
#pragma once
#include <optional>
#include "common/clock.hpp"

namespace sb {

class TokenBucket {
 public:
  TokenBucket(double per_second, double burst);

  bool unlimited() const { return per_second_ <= 0; }
  // Takes a token if one is there at `now` (always true when unlimited).
  bool try_take(TimePoint now);
  // Exact time until the next token; 0 when one is there (or unlimited). Callers
  // round it up to their timer's unit.
  double seconds_until_token(TimePoint now) const;

 private:
  double level(TimePoint now) const;  // tokens at `now`, capped at burst

  double per_second_;
  double burst_;
  double tokens_;
  std::optional<TimePoint> last_;
};

}  // namespace sb
