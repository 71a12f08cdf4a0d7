// A command held in the MQTT transport's durable outbox (SPEC §6: commands are
// held while the broker is down, published on reconnect, receipts after PUBACK),
// and its stored form: one JSON object per queue item,
//   {"topic":…,"payload":…,"qos":1,"retain":false,"ref":7,"boot":"…","want":true,"origin":"…"}
// the format earlier versions wrote with nlohmann::json, so outboxes left by them
// still load. Encoding is hand-written: building and dumping a JSON tree per
// command was ~7 % of switchboard's CPU per XMPP -> MQTT message (issue 3,
// perf on bench_mqtt.py).
// Pure functions, no I/O.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::transport::mqtt {

struct OutboxRecord {
  std::string topic, payload;
  int qos = 1;
  bool retain = false;
  std::uint64_t ref = 0;  // the core's ref for the outcome, meaningful only within run `boot`
  std::string boot;       // the run that stored it
  bool want = false;      // the sender asked for an outcome (XEP-0184 receipt)
  std::string origin;     // opaque to the transport: how the core answers after a restart
};

// Strings that are not valid UTF-8 have each bad byte replaced by U+FFFD (JSON
// text is UTF-8, RFC 8259 §8.1): a command is never lost to its encoding.
std::string encode_outbox_record(const OutboxRecord& r);
// nullopt when `text` is not such an object (corrupt item); missing keys take the
// defaults above.
std::optional<OutboxRecord> decode_outbox_record(std::string_view text);

}  // namespace sb::transport::mqtt
