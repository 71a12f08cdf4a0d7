#include "transports/mqtt/publish_status.hpp"

#include <algorithm>

namespace sb::transport::mqtt {

PublishStatus classify_publish_failure(int paho_rc, int reason_code) {
  // MQTT 5 §3.4.2.1 (PUBACK) / §3.5.2.1 (PUBREC): 0x80 and above is a refusal.
  // 255 is not a protocol code (Paho C++'s marker for MQTT 3.1.1).
  if (reason_code >= 0x80 && reason_code < 0xFF) {
    switch (reason_code) {
      case 0x87: return PublishStatus::NotAuthorized;
      case 0x89:  // server busy
      case 0x91:  // packet identifier in use
      case 0x93:  // receive maximum exceeded
      case 0x96:  // message rate too high
      case 0x97:  // quota exceeded
        return PublishStatus::Busy;
      default: return PublishStatus::Refused;
    }
  }
  switch (paho_rc) {  // MQTTAsync.h, Paho C 1.3
    case -3:   // MQTTASYNC_DISCONNECTED
    case -11:  // MQTTASYNC_OPERATION_INCOMPLETE: in flight when the session was cleaned or the client destroyed
      return PublishStatus::NotConnected;
    case -5:   // MQTTASYNC_BAD_UTF8_STRING (topic)
    case -6:   // MQTTASYNC_NULL_PARAMETER
    case -7:   // MQTTASYNC_TOPICNAME_TRUNCATED (a NUL in the topic)
    case -8:   // MQTTASYNC_BAD_STRUCTURE
    case -9:   // MQTTASYNC_BAD_QOS
    case -14:  // MQTTASYNC_BAD_PROTOCOL
    case -15:  // MQTTASYNC_BAD_MQTT_OPTION
    case -16:  // MQTTASYNC_WRONG_MQTT_VERSION
      return PublishStatus::Refused;
    default:
      // -1 (a failed write: the link is going down), -4 / -10 / -12 (out of room:
      // in-flight window, message ids, MQTTASYNC_MAX_BUFFERED_MESSAGES), -18, and
      // anything unknown: worth another try, a bounded number of times.
      return PublishStatus::Busy;
  }
}

std::string reason_code_text(int reason_code) {
  switch (reason_code) {
    case 0x80: return "unspecified error";
    case 0x83: return "implementation specific error";
    case 0x87: return "not authorized";
    case 0x89: return "server busy";
    case 0x90: return "topic name invalid";
    case 0x91: return "packet identifier in use";
    case 0x93: return "receive maximum exceeded";
    case 0x95: return "packet too large";
    case 0x96: return "message rate too high";
    case 0x97: return "quota exceeded";
    case 0x99: return "payload format invalid";
    case 0x9A: return "retain not supported";
    case 0x9B: return "QoS not supported";
    default: return {};
  }
}

std::optional<std::chrono::milliseconds> retry_delay(PublishStatus status, int failures) {
  switch (status) {
    case PublishStatus::Ok:
    case PublishStatus::NotConnected:
      return kRetryFirst;
    case PublishStatus::Busy: {
      if (failures > kMaxBusyFailures) return std::nullopt;
      const int shift = std::clamp(failures - 1, 0, 10);
      return std::min(kRetryMax, kRetryFirst * (1 << shift));
    }
    case PublishStatus::Refused:
    case PublishStatus::NotAuthorized:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace sb::transport::mqtt
