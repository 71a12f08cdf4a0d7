#include "transports/sms/split.hpp"

namespace sb::transport::sms {
namespace {
// Length of the UTF-8 sequence starting at s[i] (1 for a stray byte).
std::size_t seq_len(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}
bool space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
}  // namespace

std::size_t count_chars(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); i += seq_len(text, i)) ++n;
  return n;
}

std::vector<std::string> split_body(std::string_view text, std::size_t max_chars) {
  std::vector<std::string> parts;
  if (max_chars == 0) max_chars = 1;
  while (!text.empty()) {
    // Walk up to max_chars characters, remembering the last whitespace seen.
    std::size_t i = 0, chars = 0, last_space = std::string_view::npos, space_chars = 0;
    while (i < text.size() && chars < max_chars) {
      if (space(text[i])) {
        last_space = i;
        space_chars = chars;
      }
      i += seq_len(text, i);
      ++chars;
    }
    if (i >= text.size()) {
      parts.emplace_back(text);
      break;
    }
    // The next character is whitespace: a clean cut right here.
    if (space(text[i])) {
      parts.emplace_back(text.substr(0, i));
      text.remove_prefix(i + 1);
      continue;
    }
    if (last_space != std::string_view::npos && space_chars >= max_chars / 2 && last_space > 0) {
      parts.emplace_back(text.substr(0, last_space));
      text.remove_prefix(last_space + 1);
    } else {
      parts.emplace_back(text.substr(0, i));
      text.remove_prefix(i);
    }
  }
  return parts;
}

}  // namespace sb::transport::sms
