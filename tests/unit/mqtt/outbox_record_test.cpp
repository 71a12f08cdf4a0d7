// The outbox record (outbox_record.hpp): what a held command looks like on disk.
// It must round-trip any strings, stay readable by a JSON parser, and read what
// earlier versions wrote (nlohmann::json's dump of the same keys).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include "transports/mqtt/outbox_record.hpp"

using sb::transport::mqtt::decode_outbox_record;
using sb::transport::mqtt::encode_outbox_record;
using sb::transport::mqtt::OutboxRecord;

TEST_CASE("outbox record: round trip, with quotes, backslashes, control characters and non-ASCII text") {
  OutboxRecord r;
  r.topic = "home/kitchen \"main\"/set";
  r.payload = std::string("{\"on\":true}\\ \n\r\t\x01\x1f end ") + "\xc3\xa9t\xc3\xa9 \xf0\x9f\x94\xa5" +
              std::string(1, '\0');
  r.qos = 0;
  r.retain = true;
  r.ref = 18446744073709551615ull;
  r.boot = "12345";
  r.want = true;
  r.origin = "<message from='juliet@capulet.lit/balcony' id='x'/>";
  const auto text = encode_outbox_record(r);
  // Plain JSON: any parser reads it.
  auto j = nlohmann::json::parse(text);
  CHECK(j["payload"].get<std::string>() == r.payload);
  auto back = decode_outbox_record(text);
  REQUIRE(back);
  CHECK(back->topic == r.topic);
  CHECK(back->payload == r.payload);
  CHECK(back->qos == 0);
  CHECK(back->retain);
  CHECK(back->ref == r.ref);
  CHECK(back->boot == r.boot);
  CHECK(back->want);
  CHECK(back->origin == r.origin);
}

TEST_CASE("outbox record: invalid UTF-8 is replaced, never thrown or lost") {
  OutboxRecord r;
  r.topic = "dev/1/set";
  r.payload = "ok \xff\xfe end";
  const auto text = encode_outbox_record(r);
  auto back = decode_outbox_record(text);
  REQUIRE(back);
  CHECK(back->topic == "dev/1/set");
  CHECK(back->payload == "ok \xef\xbf\xbd\xef\xbf\xbd end");  // U+FFFD twice
}

TEST_CASE("outbox record: reads what earlier versions stored, rejects what is not a record") {
  nlohmann::json old = {{"topic", "home/dev1/set"}, {"payload", "on"}, {"qos", 1},   {"retain", false},
                        {"ref", 42},              {"boot", "77"},    {"want", true}, {"origin", ""}};
  auto r = decode_outbox_record(old.dump());
  REQUIRE(r);
  CHECK(r->topic == "home/dev1/set");
  CHECK(r->payload == "on");
  CHECK(r->qos == 1);
  CHECK(r->ref == 42);
  CHECK(r->boot == "77");
  CHECK(r->want);
  auto sparse = decode_outbox_record(R"({"topic":"t"})");  // defaults for the rest
  REQUIRE(sparse);
  CHECK(sparse->qos == 1);
  CHECK_FALSE(sparse->want);
  CHECK_FALSE(decode_outbox_record("not json"));
  CHECK_FALSE(decode_outbox_record("[1,2]"));
  CHECK_FALSE(decode_outbox_record(R"({"topic":7})"));  // wrong type
  CHECK_FALSE(decode_outbox_record(""));
}
