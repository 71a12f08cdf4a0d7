#include "transports/mqtt/payload.hpp"

#include <cstdint>

namespace sb::transport::mqtt {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid) and the
// code point. RFC 3629 §4 table of well-formed byte sequences.
std::size_t decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len;
  std::uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (!cont(k)) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool xml_char(std::uint32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  return cp != 0xFFFE && cp != 0xFFFF;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = decode(s, i, cp);
    if (!n) return false;
    i += n;
  }
  return true;
}

bool is_xml_text(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = decode(s, i, cp);
    if (!n || !xml_char(cp)) return false;
    i += n;
  }
  return true;
}

std::string xml_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = decode(s, i, cp);
    if (n && xml_char(cp)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      i += n ? n : 1;
    }
  }
  return out;
}

std::string base64(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
    out += tbl[v & 63];
  }
  if (std::size_t rem = in.size() - i) {
    std::uint32_t v = byte(i) << 16 | (rem == 2 ? byte(i + 1) << 8 : 0);
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += rem == 2 ? tbl[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  // Back up over continuation bytes to the start of the character that straddles the cut.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

PayloadText payload_text(std::string_view payload, std::size_t max_text, std::size_t max_binary) {
  PayloadText r;
  if (is_xml_text(payload)) {
    if (payload.size() <= max_text) {
      r.text = std::string(payload);
      return r;
    }
    r.truncated = true;
    r.text = std::string(utf8_prefix(payload, max_text));
    r.text += "\n[… truncated: " + std::to_string(payload.size()) + " bytes in total]";
    return r;
  }
  r.binary = true;
  // A multiple of 3 bytes encodes without padding, so the excerpt is a clean prefix.
  const std::size_t excerpt = max_binary / 3 * 3;
  r.truncated = payload.size() > excerpt;
  r.text = "[binary payload, " + std::to_string(payload.size()) + " bytes, base64: " +
           base64(payload.substr(0, r.truncated ? excerpt : payload.size())) + (r.truncated ? "…]" : "]");
  return r;
}

}  // namespace sb::transport::mqtt
