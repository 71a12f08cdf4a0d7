#include "common/utf8.hpp"

namespace sb::utf8 {

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

bool xml_char(char32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  if (cp <= 0xD7FF) return true;
  if (cp < 0xE000) return false;  // surrogates (a character reference may name one)
  if (cp <= 0xFFFD) return true;
  return cp >= 0x10000 && cp <= 0x10FFFF;
}

namespace {
// Walks `s`; false as soon as `ok(code point or -1)` says no.
template <class Ok>
bool all_of(std::string_view s, Ok ok) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80 && ok(static_cast<long>(s[i]))) {  // ASCII fast path
      ++i;
      continue;
    }
    std::size_t len = 1;
    if (!ok(decode(s, i, len))) return false;
    i += len;
  }
  return true;
}
}  // namespace

bool valid(std::string_view s) {
  return all_of(s, [](long cp) { return cp >= 0; });
}

bool xml_text(std::string_view s) {
  return all_of(s, [](long cp) { return cp >= 0 && xml_char(static_cast<char32_t>(cp)); });
}

void append(std::string& out, char32_t cp) {
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

std::string_view prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  // Back up over continuation bytes to the start of the character that straddles the cut.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace sb::utf8
