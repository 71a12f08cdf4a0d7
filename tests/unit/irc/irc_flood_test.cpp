// The outgoing token bucket (SPEC §7 flood control) on a manual clock.
#include <doctest/doctest.h>

#include <vector>
#include "common/clock.hpp"
#include "transports/irc/irc_flood.hpp"

using namespace sb::transport::irc;
using namespace std::chrono_literals;

namespace {

// Sends `lines` as fast as the bucket allows, moving the clock to each wait();
// returns when each line left, relative to the start.
std::vector<std::chrono::milliseconds> send_times(FloodConfig cfg, int lines) {
  sb::ManualClock clock;
  const auto t0 = clock.now();
  TokenBucket bucket(cfg, clock.now());
  std::vector<std::chrono::milliseconds> out;
  for (int guard = 0; static_cast<int>(out.size()) < lines && guard < 1000; ++guard) {
    if (bucket.try_take(clock.now())) {
      out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - t0));
      continue;
    }
    auto w = bucket.wait(clock.now());
    REQUIRE(w > 0ns);  // no token, so there is something to wait for
    clock.advance(std::chrono::ceil<std::chrono::milliseconds>(w));
  }
  return out;
}

}  // namespace

TEST_CASE("flood: burst 2 at 1 line/s sends 5 lines over 3 seconds") {
  auto t = send_times({2, 1.0}, 5);
  REQUIRE(t.size() == 5);
  CHECK(t[0] == 0ms);
  CHECK(t[1] == 0ms);
  CHECK(t[2] >= 1000ms);
  CHECK(t[2] <= 1001ms);
  CHECK(t[3] >= 2000ms);
  CHECK(t[3] <= 2002ms);
  CHECK(t[4] >= 3000ms);
  CHECK(t[4] <= 3003ms);
}

TEST_CASE("flood: off sends everything at once") {
  sb::ManualClock clock;
  TokenBucket bucket({5, 0.0}, clock.now());
  CHECK_FALSE(bucket.enabled());
  for (int i = 0; i < 1000; ++i) REQUIRE(bucket.try_take(clock.now()));
  CHECK(bucket.wait(clock.now()) == 0ns);
}

TEST_CASE("flood: tokens come back over time, never above the burst") {
  sb::ManualClock clock;
  TokenBucket bucket({3, 2.0}, clock.now());
  for (int i = 0; i < 3; ++i) CHECK(bucket.try_take(clock.now()));
  CHECK_FALSE(bucket.try_take(clock.now()));
  CHECK(bucket.wait(clock.now()) > 499ms);
  CHECK(bucket.wait(clock.now()) < 501ms);
  clock.advance(250ms);
  CHECK_FALSE(bucket.try_take(clock.now()));  // half a token
  clock.advance(250ms);
  CHECK(bucket.try_take(clock.now()));
  // A long quiet spell refills to the burst, not beyond.
  clock.advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) CHECK(bucket.try_take(clock.now()));
  CHECK_FALSE(bucket.try_take(clock.now()));
}

TEST_CASE("flood: a timer set to wait() always finds the token (fractional rates)") {
  sb::ManualClock clock;
  TokenBucket bucket({1, 3.0}, clock.now());  // 333.33… ms per token
  CHECK(bucket.try_take(clock.now()));
  for (int i = 0; i < 50; ++i) {
    auto w = bucket.wait(clock.now());
    REQUIRE(w > 0ns);
    clock.advance(std::chrono::ceil<std::chrono::milliseconds>(w));
    REQUIRE(bucket.try_take(clock.now()));
    CHECK_FALSE(bucket.try_take(clock.now()));
  }
}

TEST_CASE("flood: a clock that does not move forward gives no tokens") {
  sb::ManualClock clock;
  clock.advance(10s);
  TokenBucket bucket({1, 1.0}, clock.now());
  CHECK(bucket.try_take(clock.now()));
  sb::ManualClock earlier;  // a time before the bucket's last refill
  CHECK_FALSE(bucket.try_take(earlier.now()));
}
