#include "transports/mqtt/payload.hpp"

#include "common/base64.hpp"
#include "common/utf8.hpp"

namespace sb::transport::mqtt {

std::string xml_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    const long cp = utf8::decode(s, i, len);
    if (cp >= 0 && utf8::xml_char(static_cast<char32_t>(cp))) out.append(s.substr(i, len));
    else out += utf8::kReplacement;  // unlike the core, which drops forbidden characters: keep a visible mark
    i += len;
  }
  return out;
}

PayloadText payload_text(std::string_view payload, std::size_t max_text, std::size_t max_binary) {
  PayloadText r;
  if (utf8::xml_text(payload)) {
    if (payload.size() <= max_text) {
      r.text = std::string(payload);
      return r;
    }
    r.truncated = true;
    r.text = std::string(utf8::prefix(payload, max_text));
    r.text += "\n[… truncated: " + std::to_string(payload.size()) + " bytes in total]";
    return r;
  }
  r.binary = true;
  // A multiple of 3 bytes encodes without padding, so the excerpt is a clean prefix.
  const std::size_t excerpt = max_binary / 3 * 3;
  r.truncated = payload.size() > excerpt;
  r.text = "[binary payload, " + std::to_string(payload.size()) + " bytes, base64: " +
           base64_encode(payload.substr(0, r.truncated ? excerpt : payload.size())) + (r.truncated ? "…]" : "]");
  return r;
}

}  // namespace sb::transport::mqtt
