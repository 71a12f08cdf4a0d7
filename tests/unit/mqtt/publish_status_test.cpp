// How a failed publish is classified and retried (publish_status.hpp): a lost link
// waits for the link, a lack of room is retried with a bounded backoff, a refusal is
// answered at once -- never a command waiting for a reconnect that is not coming.
#include <doctest/doctest.h>

#include "transports/mqtt/publish_status.hpp"

using namespace std::chrono_literals;
using sb::transport::mqtt::classify_publish_failure;
using sb::transport::mqtt::kMaxBusyFailures;
using sb::transport::mqtt::kRetryMax;
using sb::transport::mqtt::PublishStatus;
using sb::transport::mqtt::reason_code_text;
using sb::transport::mqtt::retry_delay;

TEST_CASE("publish status: Paho's 'no more messages can be buffered' while connected is a lack of room") {
  // The issue 3 stall: -12 used to leave the command waiting for the next connection.
  CHECK(classify_publish_failure(-12, 255) == PublishStatus::Busy);  // 255: Paho C++'s "MQTT 3.1.1"
  CHECK(classify_publish_failure(-12, 0) == PublishStatus::Busy);
  CHECK(classify_publish_failure(-10, 255) == PublishStatus::Busy);  // no message id free
  CHECK(classify_publish_failure(-1, 255) == PublishStatus::Busy);   // a failed write
  CHECK(classify_publish_failure(-999, 0) == PublishStatus::Busy);   // unknown: tried again, boundedly
}

TEST_CASE("publish status: a lost link and a lost session mean 'not connected'") {
  CHECK(classify_publish_failure(-3, 255) == PublishStatus::NotConnected);   // MQTTASYNC_DISCONNECTED
  CHECK(classify_publish_failure(-11, 255) == PublishStatus::NotConnected);  // in flight when the session went
  CHECK(classify_publish_failure(-11, 0) == PublishStatus::NotConnected);
}

TEST_CASE("publish status: MQTT 5 refusals in a PUBACK") {
  CHECK(classify_publish_failure(0, 0x87) == PublishStatus::NotAuthorized);
  CHECK(classify_publish_failure(0, 0x90) == PublishStatus::Refused);  // topic name invalid
  CHECK(classify_publish_failure(0, 0x99) == PublishStatus::Refused);  // payload format invalid
  CHECK(classify_publish_failure(0, 0x80) == PublishStatus::Refused);  // unspecified
  CHECK(classify_publish_failure(0, 0x97) == PublishStatus::Busy);     // quota exceeded: later
  CHECK(classify_publish_failure(0, 0x93) == PublishStatus::Busy);     // receive maximum exceeded
  // A reason code below 0x80 is not a refusal; 255 is not a protocol code.
  CHECK(classify_publish_failure(-3, 0x10) == PublishStatus::NotConnected);
  CHECK(classify_publish_failure(-3, 255) == PublishStatus::NotConnected);
  CHECK(reason_code_text(0x87) == "not authorized");
  CHECK(reason_code_text(0x97) == "quota exceeded");
  CHECK(reason_code_text(0x42).empty());
}

TEST_CASE("publish status: commands Paho can never publish are refused, not retried") {
  CHECK(classify_publish_failure(-5, 255) == PublishStatus::Refused);  // topic not UTF-8
  CHECK(classify_publish_failure(-7, 255) == PublishStatus::Refused);  // NUL in the topic
  CHECK(classify_publish_failure(-9, 255) == PublishStatus::Refused);  // bad QoS
}

TEST_CASE("publish status: retry delays") {
  SUBCASE("a lack of room: 200 ms doubling to at most 5 s, then the sender is answered") {
    CHECK(retry_delay(PublishStatus::Busy, 1) == 200ms);
    CHECK(retry_delay(PublishStatus::Busy, 2) == 400ms);
    CHECK(retry_delay(PublishStatus::Busy, 3) == 800ms);
    std::chrono::milliseconds total{0};
    for (int i = 1; i <= kMaxBusyFailures; ++i) {
      CAPTURE(i);
      auto d = retry_delay(PublishStatus::Busy, i);
      REQUIRE(d.has_value());
      CHECK(*d <= kRetryMax);
      total += *d;
    }
    CHECK(total < 30s);  // the sender hears within half a minute
    CHECK_FALSE(retry_delay(PublishStatus::Busy, kMaxBusyFailures + 1).has_value());
    CHECK_FALSE(retry_delay(PublishStatus::Busy, 1000000).has_value());
  }
  SUBCASE("a lost link: a short wait, however often (publishing waits for the link)") {
    CHECK(retry_delay(PublishStatus::NotConnected, 0) == 200ms);
    CHECK(retry_delay(PublishStatus::NotConnected, 1000) == 200ms);
  }
  SUBCASE("refusals: never retried") {
    CHECK_FALSE(retry_delay(PublishStatus::Refused, 1).has_value());
    CHECK_FALSE(retry_delay(PublishStatus::NotAuthorized, 1).has_value());
  }
}
