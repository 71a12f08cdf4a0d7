// Inbound MQTT payloads as XMPP message text (SPEC §6: "binary payloads are not put
// in XML unencoded").
//
// A payload is text when it is valid UTF-8 and every character is allowed in XML 1.0
// (XML 1.0 §2.2: no NUL or C0 controls other than tab, LF, CR; no U+FFFE/U+FFFF).
// Anything else is binary and rendered as "[binary payload, N bytes, base64: …]".
// Text is capped (default 64 KiB) at a character boundary with a note, and the
// base64 excerpt is capped too, so one stanza stays well under the XMPP server's
// stanza size limit (often 256 KiB to 10 MiB; a 256 MiB MQTT payload is legal).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sb::transport::mqtt {

inline constexpr std::size_t kMaxTextBytes = 64 * 1024;
inline constexpr std::size_t kMaxBinaryExcerpt = 3 * 1024;  // bytes; 4 KiB of base64

struct PayloadText {
  std::string text;
  bool binary = false;     // rendered as base64
  bool truncated = false;  // cut at the cap
};

// (UTF-8 validity and XML 1.0 characters: common/utf8.hpp.)
// `s` with every byte sequence that is not an XML 1.0 character replaced by U+FFFD
// (for text built from JSON strings, which may carry "\u0000").
std::string xml_sanitize(std::string_view s);

PayloadText payload_text(std::string_view payload, std::size_t max_text = kMaxTextBytes,
                         std::size_t max_binary = kMaxBinaryExcerpt);

}  // namespace sb::transport::mqtt
