#include "transports/mqtt/outbox_record.hpp"

#include <nlohmann/json.hpp>
#include "common/utf8.hpp"

namespace sb::transport::mqtt {
namespace {

// A JSON string literal (RFC 8259 §7) for valid UTF-8: quote, backslash and the
// control characters escaped, everything else as is.
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string encode_outbox_record(const OutboxRecord& r) {
  if (!utf8::valid(r.topic) || !utf8::valid(r.payload) || !utf8::valid(r.boot) || !utf8::valid(r.origin)) {
    // Rare: let nlohmann replace the bad bytes.
    nlohmann::json j = {{"topic", r.topic}, {"payload", r.payload}, {"qos", r.qos}, {"retain", r.retain},
                        {"ref", r.ref},     {"boot", r.boot},       {"want", r.want}, {"origin", r.origin}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(96 + r.topic.size() + r.payload.size() + r.boot.size() + r.origin.size());
  out += "{\"topic\":";
  append_string(out, r.topic);
  out += ",\"payload\":";
  append_string(out, r.payload);
  out += ",\"qos\":";
  out += std::to_string(r.qos);
  out += r.retain ? ",\"retain\":true" : ",\"retain\":false";
  out += ",\"ref\":";
  out += std::to_string(r.ref);
  out += ",\"boot\":";
  append_string(out, r.boot);
  out += r.want ? ",\"want\":true" : ",\"want\":false";
  out += ",\"origin\":";
  append_string(out, r.origin);
  out.push_back('}');
  return out;
}

std::optional<OutboxRecord> decode_outbox_record(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    OutboxRecord r;
    r.topic = j.value("topic", "");
    r.payload = j.value("payload", "");
    r.qos = j.value("qos", 1);
    r.retain = j.value("retain", false);
    r.ref = j.value("ref", std::uint64_t{0});
    r.boot = j.value("boot", "");
    r.want = j.value("want", false);
    r.origin = j.value("origin", "");
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a key with a value of the wrong type
  }
}

}  // namespace sb::transport::mqtt
