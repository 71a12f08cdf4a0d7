#include <doctest/doctest.h>

#include "transports/sms/numbers.hpp"

using namespace sb::transport::sms;

namespace {
NumberBook book() {
  return NumberBook({{"+15550001111", "Alice@Example.org"},
                     {"+15550003333", "alice@example.org"},
                     {"+15550002222", "bob@example.org"},
                     {"+15550004444", ""},
                     {"+15550005555", ""}});
}
}  // namespace

TEST_CASE("numbers: config owners, default first, case-insensitive users") {
  auto b = book();
  CHECK(b.owner_of("+15550001111") == "alice@example.org");
  CHECK(b.numbers_of("alice@example.org") == std::vector<std::string>{"+15550001111", "+15550003333"});
  CHECK(b.default_of("ALICE@example.org") == "+15550001111");
  CHECK(b.owns("alice@example.org", "+15550003333"));
  CHECK_FALSE(b.owns("alice@example.org", "+15550002222"));
  CHECK_FALSE(b.owner_of("+15550004444"));  // pool, unclaimed
  CHECK_FALSE(b.owner_of("+19999999999"));  // not ours
  CHECK_FALSE(b.default_of("carol@example.org"));
  CHECK(b.free_pool() == std::vector<std::string>{"+15550004444", "+15550005555"});
}

TEST_CASE("numbers: claiming from the pool by registration") {
  auto b = book();
  CHECK_FALSE(b.check_claim("carol@example.org", "+15550004444"));
  CHECK(b.set_claim("carol@example.org", "+15550004444"));
  CHECK(b.owner_of("+15550004444") == "carol@example.org");
  CHECK(b.default_of("carol@example.org") == "+15550004444");
  CHECK(b.free_pool() == std::vector<std::string>{"+15550005555"});
  // Taken, and other users' config numbers, are refused.
  CHECK(b.check_claim("dave@example.org", "+15550004444") == "The number +15550004444 belongs to someone else.");
  CHECK(b.check_claim("dave@example.org", "+15550002222"));
  CHECK(b.check_claim("dave@example.org", "+19999999999") ==
        "The number +19999999999 is not a number of this gateway.");
  CHECK_FALSE(b.set_claim("dave@example.org", "+15550004444"));
  CHECK(b.owner_of("+15550004444") == "carol@example.org");
  // Their own numbers are fine to name (nothing to claim).
  CHECK_FALSE(b.check_claim("carol@example.org", "+15550004444"));
  CHECK_FALSE(b.check_claim("bob@example.org", "+15550002222"));
  // A new registration moves the claim; removal releases it.
  CHECK(b.set_claim("carol@example.org", "+15550005555"));
  CHECK_FALSE(b.owner_of("+15550004444"));
  CHECK(b.numbers_of("carol@example.org") == std::vector<std::string>{"+15550005555"});
  b.release("Carol@example.org");
  CHECK(b.free_pool().size() == 2);
  // A config owner with a pool number too: config numbers first.
  CHECK(b.set_claim("bob@example.org", "+15550005555"));
  CHECK(b.numbers_of("bob@example.org") == std::vector<std::string>{"+15550002222", "+15550005555"});
  CHECK(b.set_claim("bob@example.org", ""));  // an empty phone: no pool number
  CHECK(b.numbers_of("bob@example.org") == std::vector<std::string>{"+15550002222"});
}

TEST_CASE("numbers: which number a message goes out from") {
  auto b = book();
  std::string why;
  CHECK(b.sender("alice@example.org", "", why) == "+15550001111");               // her default
  CHECK(b.sender("alice@example.org", "+15550003333", why) == "+15550003333");   // her other number
  CHECK(b.sender("alice@example.org", "+1 555 000 3333", why) == "+15550003333");
  CHECK_FALSE(b.sender("alice@example.org", "+15550002222", why));               // bob's
  CHECK(why == "You cannot send from +15550002222: it is not your number");
  CHECK_FALSE(b.sender("alice@example.org", "+15550004444", why));               // the pool, unclaimed
  CHECK_FALSE(b.sender("alice@example.org", "laptop", why));
  CHECK_FALSE(b.sender("carol@example.org", "", why));
  CHECK(why == "You have no number on this gateway; register to claim one");
  b.set_claim("carol@example.org", "+15550004444");
  CHECK(b.sender("carol@example.org", "", why) == "+15550004444");
}
