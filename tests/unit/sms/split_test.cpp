#include <doctest/doctest.h>

#include "transports/sms/split.hpp"

using namespace sb::transport::sms;

namespace {
std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : " ") + p;
  return s;
}
}  // namespace

TEST_CASE("split: a text that fits is one part, unchanged") {
  CHECK(split_body("hello", 1600) == std::vector<std::string>{"hello"});
  CHECK(split_body(std::string(1600, 'a'), 1600).size() == 1);
  CHECK(split_body("", 1600).empty());
}

TEST_CASE("split: long texts break at spaces, each part within the limit") {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "word" + std::to_string(i) + " ";
  text.pop_back();
  auto parts = split_body(text, 160);
  CHECK(parts.size() > 1);
  for (const auto& p : parts) {
    CHECK(count_chars(p) <= 160);
    CHECK(p.front() != ' ');
    CHECK(p.back() != ' ');
  }
  CHECK(join(parts) == text);  // nothing lost but the spaces it broke at
}

TEST_CASE("split: characters, not bytes, and never inside a UTF-8 sequence") {
  // 10 four-byte emoji and 10 two-byte letters: 20 characters, 60 bytes.
  std::string text;
  for (int i = 0; i < 10; ++i) text += "\xF0\x9F\x91\x8B\xC3\xA9";
  CHECK(count_chars(text) == 20);
  CHECK(split_body(text, 20).size() == 1);
  auto parts = split_body(text, 7);
  REQUIRE(parts.size() == 3);
  CHECK(count_chars(parts[0]) == 7);
  CHECK(count_chars(parts[2]) == 6);
  std::string rejoined;
  for (auto& p : parts) rejoined += p;
  CHECK(rejoined == text);  // hard cuts keep every byte
}

TEST_CASE("split: a word longer than a part is cut hard; a late space is not worth a tiny part") {
  auto parts = split_body("a " + std::string(30, 'x'), 10);
  // The only space is at the start of the window: cutting there would waste the part.
  CHECK(parts.front().size() == 10);
  for (auto& p : parts) CHECK(count_chars(p) <= 10);
  CHECK(split_body("aaaa bbbb cccc", 9) == std::vector<std::string>{"aaaa bbbb", "cccc"});
}
