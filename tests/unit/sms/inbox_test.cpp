#include <doctest/doctest.h>

#include "unit/sms/memory_store.hpp"
#include "transports/sms/inbox.hpp"

using namespace sb::transport::sms;

namespace {
StoredInbound sms(std::string id, std::string text = "hi", std::vector<std::string> media = {}) {
  StoredInbound m;
  m.provider_id = std::move(id);
  m.user = "alice@example.org";
  m.from = "+15557654321";
  m.to = "+15550001111";
  m.text = std::move(text);
  m.media = std::move(media);
  m.received_ms = 1'700'000'000'000;
  return m;
}
}  // namespace

TEST_CASE("inbox: stored once; a provider's retry is a duplicate") {
  sb::test::MemoryStore store;
  sb::ManualClock clock;
  Inbox in(store, "sms.test", clock);
  in.load();
  std::int64_t id = 0;
  CHECK(in.accept(sms("SM1"), id) == Inbox::Result::Stored);
  CHECK(id > 0);
  CHECK(store.queue_size("sms.test", "inbox") == 1);
  std::int64_t again = 0;
  CHECK(in.accept(sms("SM1"), again) == Inbox::Result::Duplicate);
  CHECK(store.queue_size("sms.test", "inbox") == 1);
  in.delivered(id);
  in.flush();
  CHECK(store.queue_size("sms.test", "inbox") == 0);
  CHECK(store.kv.count("seen/SM1") == 1);
  CHECK(in.accept(sms("SM1"), again) == Inbox::Result::Duplicate);  // still, after delivery
}

TEST_CASE("inbox: not stored -> Failed (the provider gets a 500 and retries)") {
  sb::test::MemoryStore store;
  sb::ManualClock clock;
  Inbox in(store, "sms.test", clock);
  in.load();
  store.fail_enqueue = true;
  std::int64_t id = 0;
  CHECK(in.accept(sms("SM1"), id) == Inbox::Result::Failed);
  store.fail_enqueue = false;
  CHECK(in.accept(sms("SM1"), id) == Inbox::Result::Stored);  // the retry is not mistaken for a duplicate
}

TEST_CASE("inbox: a crash before the seen-mark was written still dedupes, and replays") {
  sb::test::MemoryStore store;
  sb::ManualClock clock;
  {
    Inbox in(store, "sms.test", clock);
    in.load();
    std::int64_t id = 0;
    CHECK(in.accept(sms("SM7", "kept"), id) == Inbox::Result::Stored);
    // killed: no flush, no delivery
  }
  CHECK(store.kv.empty());
  Inbox in(store, "sms.test", clock);
  auto left = in.load();
  REQUIRE(left.size() == 1);
  CHECK(left[0].second.text == "kept");
  CHECK(store.kv.count("seen/SM7") == 1);
  std::int64_t id = 0;
  CHECK(in.accept(sms("SM7", "kept"), id) == Inbox::Result::Duplicate);
}

TEST_CASE("inbox: seen ids are bounded by count and age") {
  sb::test::MemoryStore store;
  sb::ManualClock clock;
  Inbox in(store, "sms.test", clock, 3, 7);
  in.load();
  std::int64_t id = 0;
  for (int i = 0; i < 5; ++i) {
    auto m = sms("SM" + std::to_string(i));
    m.received_ms = clock.unix_ms();
    in.accept(m, id);
  }
  in.flush();
  CHECK(in.seen() == 3);
  CHECK(store.states("sms.test", "seen/").size() == 3);
  clock.advance(std::chrono::hours(24 * 7));
  in.flush();
  CHECK(in.seen() == 0);
  CHECK(store.states("sms.test", "seen/").empty());
}

TEST_CASE("inbound messages: owner, peer, the number it came to, media") {
  const std::optional<std::string> alice_default = "+15550001111";
  auto plain = inbound_messages(sms("SM1", "hello"), 5, alice_default, false);
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].user == "alice@example.org");
  CHECK(plain[0].peer == "+15557654321");
  CHECK(plain[0].peer_resource.empty());  // to her default number
  CHECK(plain[0].body == "hello");
  CHECK(plain[0].id == "SM1");
  CHECK(plain[0].delivery_token == 5);
  CHECK_FALSE(plain[0].timestamp_ms);

  auto second = sms("SM2", "to my other phone");
  second.to = "+15550003333";
  auto m = inbound_messages(second, 6, alice_default, true);
  CHECK(m[0].peer_resource == "+15550003333");  // a reply goes out from that number
  CHECK(m[0].timestamp_ms == 1'700'000'000'000);  // replayed: XEP-0203 delay

  auto mms = inbound_messages(sms("SM3", "look", {"https://m/1", "https://m/2"}), 7, alice_default, false);
  REQUIRE(mms.size() == 2);
  CHECK(mms[0].body == "look");
  CHECK(mms[0].oob_url == "https://m/1");
  CHECK(mms[0].delivery_token == 0);
  CHECK(mms[1].body.empty());
  CHECK(mms[1].oob_url == "https://m/2");
  CHECK(mms[1].id == "SM3/1");
  CHECK(mms[1].delivery_token == 7);  // on the last: proving it proves the first
}

TEST_CASE("stored inbound round trip") {
  auto m = sms("SM1", "x\xff", {"u"});
  auto back = StoredInbound::from_json(m.to_json());
  REQUIRE(back);
  CHECK(back->provider_id == "SM1");
  CHECK(back->media == std::vector<std::string>{"u"});
  CHECK_FALSE(StoredInbound::from_json("{}"));
  CHECK_FALSE(StoredInbound::from_json("nope"));
}
