// Outgoing flood control for one IRC connection (SPEC §7): a token bucket. Pure:
// the caller passes the time, so tests drive it with a manual clock.
//
// `burst` lines may leave at once; after that one token comes back every
// 1/per_second seconds, up to `burst`. per_second = 0 turns it off (every line
// leaves at once). Servers kill clients that flood ("Excess Flood"), which would
// drop every room of the user, so the connection holds lines back instead.
#pragma once
#include <chrono>
#include "common/clock.hpp"
#include "transports/irc/irc_config.hpp"

namespace sb::transport::irc {

class TokenBucket {
 public:
  // Starts full at `now`.
  TokenBucket(FloodConfig cfg, TimePoint now);

  bool enabled() const { return per_second_ > 0; }
  // Takes a token if one is there (always true when off).
  bool try_take(TimePoint now);
  // How long until the next token is there; zero when one is (or off). Rounded
  // up, so a timer set to it finds the token.
  std::chrono::steady_clock::duration wait(TimePoint now) const;

 private:
  double level(TimePoint now) const;  // tokens at `now`, capped at burst

  double burst_;
  double per_second_;
  double tokens_;
  TimePoint last_;
};

}  // namespace sb::transport::irc
