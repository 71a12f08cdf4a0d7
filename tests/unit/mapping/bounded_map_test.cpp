// BoundedMap (mapping/core_state.hpp): the core's maps of requests waiting for an
// answer — bounded by count, and with a maximum age by time.
#include <doctest/doctest.h>

#include <string>

#include "mapping/core_state.hpp"

using sb::mapping::detail::BoundedMap;

TEST_CASE("past its count the oldest entries go first") {
  BoundedMap<int, std::string> m(3);
  for (int k = 1; k <= 5; ++k) m.put(k, std::to_string(k), 0);
  CHECK(m.size() == 3);
  CHECK_FALSE(m.take(1));
  CHECK_FALSE(m.take(2));
  CHECK(m.take(3) == "3");
  CHECK(m.take(5) == "5");
  CHECK(m.size() == 1);
}

TEST_CASE("with a maximum age a put forgets what is that old, and only that") {
  BoundedMap<int, std::string> m(100, 1000);
  m.put(1, "a", 0);
  m.put(2, "b", 500);
  m.put(3, "c", 999);
  CHECK(m.size() == 3);  // nothing 1000 ms old yet
  m.put(4, "d", 1000);   // 1 is 1000 ms old now
  CHECK(m.size() == 3);
  CHECK_FALSE(m.take(1));
  m.put(5, "e", 1600);  // 2 is 1100 ms old; 3 is 601
  CHECK_FALSE(m.take(2));
  CHECK(m.take(3) == "c");
  CHECK(m.take(4) == "d");
  CHECK(m.take(5) == "e");
  CHECK(m.size() == 0);
}

TEST_CASE("a key taken and put again ages from its new put; its old place does not evict it") {
  BoundedMap<int, std::string> m(100, 1000);
  m.put(1, "first", 0);
  m.put(2, "x", 10);
  REQUIRE(m.take(1) == "first");
  m.put(1, "again", 900);  // e.g. a receipt still awaited after the transport accepted it
  m.put(3, "y", 1500);     // 1's first place (0) and 2 (10) are over 1000 ms old; 1 itself is 600
  CHECK_FALSE(m.take(2));
  CHECK(m.take(1) == "again");
  // Put again without a take: the newer time counts.
  m.put(4, "v1", 1500);
  m.put(4, "v2", 2400);
  m.put(5, "z", 2600);  // 4's first place is 1100 ms old, its value only 200
  CHECK(m.take(4) == "v2");
}

TEST_CASE("a key taken and put again within the same millisecond is not evicted from its old place") {
  BoundedMap<int, std::string> m(2);
  m.put(1, "a", 5);
  m.put(2, "b", 5);
  REQUIRE(m.take(1) == "a");
  m.put(1, "again", 5);
  m.put(3, "c", 5);  // over the count: 2 is the oldest current entry, not 1
  CHECK_FALSE(m.take(2));
  CHECK(m.take(1) == "again");
  CHECK(m.take(3) == "c");
}

TEST_CASE("slots of taken keys are compacted: taking everything keeps the map's memory flat") {
  BoundedMap<int, int> m(10);
  for (int k = 0; k < 100000; ++k) {
    m.put(k, k, 0);
    REQUIRE(m.take(k) == k);
  }
  CHECK(m.size() == 0);
  m.put(1, 1, 0);
  CHECK(m.take(1) == 1);
}
