// Outgoing flood control for one IRC connection (SPEC §7): the common token
// bucket (common/token_bucket.hpp) set from FloodConfig, with its wait rounded
// up for the connection's timer. Pure: the caller passes the time.
//
// `burst` lines may leave at once; after that one token comes back every
// 1/per_second seconds, up to `burst`. per_second = 0 turns it off (every line
// leaves at once). Servers kill clients that flood ("Excess Flood"), which would
// drop every room of the user, so the connection holds lines back instead.
#pragma once
#include <chrono>
#include "common/clock.hpp"
#include "common/token_bucket.hpp"
#include "transports/irc/irc_config.hpp"

namespace sb::transport::irc {

class TokenBucket {
 public:
  // Starts full (`now` is when the connection starts; the bucket is full then).
  TokenBucket(FloodConfig cfg, TimePoint now);

  bool enabled() const { return !bucket_.unlimited(); }
  // Takes a token if one is there (always true when off).
  bool try_take(TimePoint now) { return bucket_.try_take(now); }
  // How long until the next token is there; zero when one is (or off). Rounded
  // up, so a timer set to it finds the token.
  std::chrono::steady_clock::duration wait(TimePoint now) const;

 private:
  sb::TokenBucket bucket_;
};

}  // namespace sb::transport::irc
