// OccupantList: the packed, case-insensitively sorted occupants of a channel.
#include <doctest/doctest.h>

#include <string>
#include <vector>
#include "transports/irc/irc_occupants.hpp"

using namespace sb::transport::irc;

namespace {
std::vector<std::string> nicks(const OccupantList& l) {
  std::vector<std::string> v;
  l.each([&](std::string_view n, std::uint8_t) { v.emplace_back(n); });
  return v;
}
}  // namespace

TEST_CASE("occupants: sorted by RFC 1459 case mapping, found in any case, modes merged") {
  OccupantList l;
  CHECK(l.add("carol", 0, 10));
  CHECK(l.add("Bob", 4, 10));
  CHECK(l.add("alice", 1, 10));
  CHECK(l.add("[x]", 0, 10));
  CHECK(nicks(l) == std::vector<std::string>{"alice", "Bob", "carol", "[x]"});
  REQUIRE(l.get("BOB"));
  CHECK(l.get("BOB")->first == "Bob");
  CHECK(l.get("bob")->second == 4);
  CHECK(l.get("{X}"));  // '[' and '{' are the same letter
  CHECK(l.add("bob", 1, 10));  // already there: modes OR-ed, no second entry
  CHECK(l.get("Bob")->second == 5);
  CHECK(l.size() == 4);
  CHECK(l.set_modes("ALICE", 0));
  CHECK(l.get("alice")->second == 0);
  CHECK_FALSE(l.get("dave"));
  CHECK_FALSE(l.set_modes("dave", 1));
}

TEST_CASE("occupants: removal, bounds, odd input") {
  OccupantList l;
  for (int i = 0; i < 5; ++i) CHECK(l.add("n" + std::to_string(i), 0, 5));
  CHECK_FALSE(l.add("n9", 0, 5));  // full
  CHECK(l.add("N3", 2, 5));        // but an existing one still updates
  auto r = l.remove("n3");
  REQUIRE(r);
  CHECK(r->first == "n3");
  CHECK(r->second == 2);
  CHECK_FALSE(l.remove("n3"));
  CHECK(l.size() == 4);
  CHECK_FALSE(l.add("", 0, 10));
  CHECK_FALSE(l.add(std::string(256, 'a'), 0, 10));
  CHECK(l.add(std::string(255, 'a'), 0, 10));
  CHECK(l.get(std::string(255, 'A')));
  l.clear();
  CHECK(l.size() == 0);
  CHECK(nicks(l).empty());
}
