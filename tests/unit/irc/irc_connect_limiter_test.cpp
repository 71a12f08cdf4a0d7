// Connections in progress per IRC server (SPEC §7, a burst of joins must not
// overflow a small server's listen backlog): at most N connecting, the rest in order.
#include <doctest/doctest.h>

#include <vector>
#include "transports/irc/irc_connect_limiter.hpp"

using namespace sb::transport::irc;
using Ids = std::vector<std::uint64_t>;

TEST_CASE("a burst of connections to one server: N start, the rest wait and start in arrival order") {
  ConnectLimiter lim(3);
  Ids started;
  for (std::uint64_t id = 1; id <= 7; ++id)
    if (lim.request("irc.example.org", id)) started.push_back(id);
  CHECK(started == Ids{1, 2, 3});
  CHECK(lim.in_progress("irc.example.org") == 3);
  CHECK(lim.waiting("irc.example.org") == 4);

  // 2 registered: the first waiting one starts.
  CHECK(lim.release("irc.example.org", 2) == Ids{4});
  // 1 and 3 closed (failed or timed out): the next two, in order.
  CHECK(lim.release("irc.example.org", 1) == Ids{5});
  CHECK(lim.release("irc.example.org", 3) == Ids{6});
  CHECK(lim.in_progress("irc.example.org") == 3);
  CHECK(lim.waiting("irc.example.org") == 1);
  for (std::uint64_t id : {4, 5, 6}) {
    auto next = lim.release("irc.example.org", id);
    if (id == 4) CHECK(next == Ids{7});
    else CHECK(next.empty());
  }
  CHECK(lim.release("irc.example.org", 7).empty());
  CHECK(lim.in_progress("irc.example.org") == 0);
  CHECK(lim.servers() == 0);  // nothing kept once the burst is over
}

TEST_CASE("servers are limited separately") {
  ConnectLimiter lim(1);
  CHECK(lim.request("a", 1));
  CHECK_FALSE(lim.request("a", 2));
  CHECK(lim.request("b", 3));  // another server: its own slot
  CHECK(lim.release("b", 3).empty());
  CHECK(lim.release("a", 1) == Ids{2});
}

TEST_CASE("a waiting connection dropped before it started gives up its place, not a slot") {
  ConnectLimiter lim(1);
  CHECK(lim.request("s", 1));
  CHECK_FALSE(lim.request("s", 2));
  CHECK_FALSE(lim.request("s", 3));
  CHECK(lim.release("s", 2).empty());  // the user left before it was its turn
  CHECK(lim.in_progress("s") == 1);
  CHECK(lim.release("s", 1) == Ids{3});
}

TEST_CASE("a newcomer does not overtake those waiting, and repeats and unknown ids change nothing") {
  ConnectLimiter lim(2);
  CHECK(lim.request("s", 1));
  CHECK(lim.request("s", 2));
  CHECK_FALSE(lim.request("s", 3));
  CHECK(lim.request("s", 1));        // already holds a slot
  CHECK_FALSE(lim.request("s", 3));  // already waiting: not queued twice
  CHECK(lim.waiting("s") == 1);
  CHECK(lim.release("s", 99).empty());
  CHECK(lim.release("other", 1).empty());
  CHECK(lim.release("s", 1) == Ids{3});
  CHECK(lim.release("s", 1).empty());  // released twice: the second is ignored
  CHECK(lim.in_progress("s") == 2);
  CHECK_FALSE(lim.request("s", 4));  // full again: 4 waits
  CHECK(lim.release("s", 2) == Ids{4});
}
