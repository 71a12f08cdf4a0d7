// MqttClient's queue in front of Paho (publish_window.hpp): never more than `limit`
// publishes handed out and not completed, none refused for room, order kept.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>
#include "transports/mqtt/publish_window.hpp"

using sb::transport::mqtt::PublishWindow;

TEST_CASE("publish window: any number queued, at most `limit` outstanding, in order") {
  PublishWindow<int> w(64);
  for (int i = 0; i < 1000; ++i) w.push(i);
  std::vector<int> sent = w.take();
  CHECK(sent.size() == 64);
  CHECK(w.outstanding() == 64);
  CHECK(w.waiting() == 936);
  CHECK(w.take().empty());  // nothing more until something completes

  // Completions free slots one by one; everything goes out exactly once, in order.
  while (w.outstanding() > 0) {
    w.completed();
    for (int v : w.take()) sent.push_back(v);
    REQUIRE(w.outstanding() <= 64);
  }
  std::vector<int> want(1000);
  std::iota(want.begin(), want.end(), 0);
  CHECK(sent == want);
  CHECK(w.waiting() == 0);
}

TEST_CASE("publish window: the link drops -- what never reached Paho goes back, oldest first") {
  PublishWindow<int> w(3);
  for (int i = 0; i < 10; ++i) w.push(i);
  CHECK(w.take() == std::vector<int>{0, 1, 2});
  CHECK(w.take_waiting() == std::vector<int>{3, 4, 5, 6, 7, 8, 9});
  CHECK(w.waiting() == 0);
  CHECK(w.outstanding() == 3);  // Paho still has those: their completions will come
  w.completed();
  w.push(10);
  CHECK(w.take() == std::vector<int>{10});
}

TEST_CASE("publish window: a lower limit (the broker's Receive Maximum) applies at the next take") {
  PublishWindow<int> w(64);
  for (int i = 0; i < 100; ++i) w.push(i);
  CHECK(w.take().size() == 64);
  w.set_limit(20);
  for (int i = 0; i < 44; ++i) w.completed();
  CHECK(w.outstanding() == 20);
  CHECK(w.take().empty());  // still 20 outstanding
  w.completed();
  CHECK(w.take().size() == 1);
  w.set_limit(0);  // never zero: that would stall
  CHECK(w.limit() == 1);
  w.completed();  // more completions than handed out are ignored
  for (int i = 0; i < 30; ++i) w.completed();
  CHECK(w.outstanding() == 0);
}
