#include <doctest/doctest.h>

#include <string>

#include "common/glob.hpp"

using sb::glob_match;

TEST_CASE("glob: allow-list patterns from SPEC §2") {
  CHECK(glob_match("*@example.org", "alice@example.org"));
  CHECK(glob_match("*@example.org", "@example.org"));
  CHECK_FALSE(glob_match("*@example.org", "alice@example.org.evil.com"));
  CHECK_FALSE(glob_match("*@example.org", "alice@evilexample.org"));
  CHECK(glob_match("alice@example.org", "alice@example.org"));
  CHECK_FALSE(glob_match("alice@example.org", "bob@example.org"));
}

TEST_CASE("glob: case-insensitive, ASCII") {
  CHECK(glob_match("*@Example.ORG", "Alice@example.org"));
  CHECK(glob_match("ALICE@*", "alice@example.org"));
}

TEST_CASE("glob: '?' matches exactly one character") {
  CHECK(glob_match("user?@x", "user1@x"));
  CHECK_FALSE(glob_match("user?@x", "user@x"));
  CHECK_FALSE(glob_match("user?@x", "user12@x"));
}

TEST_CASE("glob: stars anywhere, backtracking") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("**", "x"));
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK(glob_match("a*b*c", "abc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
  CHECK(glob_match("*@*.example.org", "bob@muc.example.org"));
  CHECK_FALSE(glob_match("*@*.example.org", "bob@example.org"));
  CHECK(glob_match("*aab", "aaaab"));  // needs backtracking after a partial match
}

TEST_CASE("glob: empty pattern matches only the empty string") {
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "a"));
  CHECK_FALSE(glob_match("a", ""));
}

TEST_CASE("glob: long hostile input finishes (no exponential backtracking)") {
  std::string text(5000, 'a');
  std::string pat;
  for (int i = 0; i < 20; ++i) pat += "*a";
  pat += "b";
  CHECK_FALSE(glob_match(pat, text));
}
