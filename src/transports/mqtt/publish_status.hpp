// How a publish ended, as the Paho edge reports it to the transport, and what the
// transport does about a failed one (SPEC §6: commands are held while the broker is
// down and published on reconnect; past the bound the sender gets an error, never
// silence). A failure that is not a disconnection must not leave a command waiting
// for a reconnect that is not coming: it is retried with a bounded backoff, or the
// sender is answered with an error. See DELIVERY.md "Outbound publishes".
// Pure functions, no I/O.
#pragma once
#include <chrono>
#include <optional>
#include <string>

namespace sb::transport::mqtt {

enum class PublishStatus {
  Ok,             // PUBACK (QoS 1), PUBCOMP (QoS 2), written (QoS 0)
  NotConnected,   // the link is down or went down: held, published after the next connect
  Busy,           // not taken now (client or broker out of room, write failed): retried with backoff
  Refused,        // this publish will never be taken (bad topic, broker refusal): error now
  NotAuthorized,  // MQTT 5 PUBACK reason 0x87: error now
};

// From Paho C's return code (MQTTASYNC_*, <= 0) and the MQTT 5 reason code of the
// acknowledgement (>= 0x80 is a refusal; anything else, including Paho C++'s 255
// for "MQTT 3.1.1, no reason code", is ignored).
PublishStatus classify_publish_failure(int paho_rc, int reason_code);

// "not authorized" for 0x87 and the other MQTT 5 §2.4 reason codes a PUBACK or
// PUBREC can carry; "" for anything else.
std::string reason_code_text(int reason_code);

// The wait before a command is tried again after its `failures`-th failed publish in
// a row (1 = first) ended with `status`; nullopt = give up and answer the sender.
//  - NotConnected: a short wait, not counted: publishing waits for the link anyway,
//    and the wait catches a failure reported after the link came back (Paho reports
//    in-flight publishes of a lost session as failed once it reconnects).
//  - Busy: 200 ms doubling to 5 s, at most kMaxBusyFailures times in a row.
//  - Refused, NotAuthorized: never retried.
inline constexpr int kMaxBusyFailures = 8;
inline constexpr std::chrono::milliseconds kRetryFirst{200}, kRetryMax{5000};
std::optional<std::chrono::milliseconds> retry_delay(PublishStatus status, int failures);

}  // namespace sb::transport::mqtt
