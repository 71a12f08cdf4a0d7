#include <doctest/doctest.h>

#include "transports/sms/rate_limiter.hpp"

using namespace sb::transport::sms;

TEST_CASE("token bucket: 1 message/s, burst 1") {
  TokenBucket b(1.0, 1.0);
  std::int64_t t = 1000;
  CHECK(b.try_take(t));
  CHECK_FALSE(b.try_take(t));
  CHECK(b.next_ms(t) == t + 1000);
  CHECK_FALSE(b.try_take(t + 999));
  CHECK(b.try_take(t + 1000));
  CHECK_FALSE(b.try_take(t + 1500));
  CHECK(b.next_ms(t + 1500) == t + 2000);
}

TEST_CASE("token bucket: a burst, then the rate") {
  TokenBucket b(4.0, 4.0);
  for (int i = 0; i < 4; ++i) CHECK(b.try_take(0));
  CHECK_FALSE(b.try_take(0));
  CHECK(b.next_ms(0) == 250);
  CHECK(b.try_take(250));
  // A long pause refills to the burst, not beyond.
  int taken = 0;
  while (b.try_take(100'000)) ++taken;
  CHECK(taken == 4);
}

TEST_CASE("token bucket: 0 is unlimited; slow rates work") {
  TokenBucket u(0, 1);
  for (int i = 0; i < 10000; ++i) CHECK(u.try_take(0));
  TokenBucket slow(0.5, 1);
  CHECK(slow.try_take(0));
  CHECK(slow.next_ms(0) == 2000);
  CHECK_FALSE(slow.try_take(1999));
  CHECK(slow.try_take(2000));
}

TEST_CASE("backoff: 1 s doubling to the cap; Retry-After wins") {
  CHECK(backoff_ms(1, std::nullopt, 60) == 1000);
  CHECK(backoff_ms(2, std::nullopt, 60) == 2000);
  CHECK(backoff_ms(3, std::nullopt, 60) == 4000);
  CHECK(backoff_ms(7, std::nullopt, 60) == 60000);
  CHECK(backoff_ms(100, std::nullopt, 60) == 60000);
  CHECK(backoff_ms(3, 17, 60) == 17000);
  CHECK(backoff_ms(1, 0, 60) == 0);
}
