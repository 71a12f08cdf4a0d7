#include "component/xml_text.hpp"

#include <cstdint>

namespace sb::xmpp {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one UTF-8 sequence at in[i]. On success returns the code point and sets
// len; on failure returns -1 and sets len to the length of the maximal ill-formed
// subpart (Unicode §3.9 "U+FFFD substitution of maximal subparts"), at least 1, so
// one U+FFFD replaces each broken sequence.
long decode(std::string_view in, std::size_t i, std::size_t& len) {
  const auto b0 = static_cast<unsigned char>(in[i]);
  len = 1;
  if (b0 < 0x80) return b0;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return -1;  // continuation byte, C0/C1 overlong lead, F5..FF
  }
  for (int k = 0; k < need; ++k) {
    if (i + len >= in.size()) return -1;  // truncated
    const auto b = static_cast<unsigned char>(in[i + len]);
    if (b < lo || b > hi) return -1;
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    ++len;
  }
  return static_cast<long>(cp);
}

// XML 1.0 §2.2 Char, minus nothing: what may appear in character data at all.
bool xml_allowed(char32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  return cp != 0xFFFE && cp != 0xFFFF;  // surrogates never decode
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string sanitize_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b >= 0x20 && b < 0x80) {  // fast path: printable ASCII
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    std::size_t len = 1;
    const long cp = decode(in, i, len);
    if (cp < 0) {
      append_utf8(out, kReplacement);
    } else if (xml_allowed(static_cast<char32_t>(cp))) {
      out.append(in.substr(i, len));
    }  // else: a character XML 1.0 forbids; SPEC §3 says remove it
    i += len;
  }
  return out;
}

bool is_valid_utf8(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size()) {
    if (static_cast<unsigned char>(in[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 1;
    if (decode(in, i, len) < 0) return false;
    i += len;
  }
  return true;
}

std::string xml_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace sb::xmpp
