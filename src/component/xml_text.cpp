#include "component/xml_text.hpp"

#include "common/utf8.hpp"

namespace sb::xmpp {

std::string sanitize_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b >= 0x20 && b < 0x80) {  // fast path: a run of printable ASCII, appended at once
      std::size_t j = i + 1;
      while (j < in.size() && static_cast<unsigned char>(in[j]) >= 0x20 && static_cast<unsigned char>(in[j]) < 0x80) ++j;
      out.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    std::size_t len = 1;
    const long cp = utf8::decode(in, i, len);
    if (cp < 0) {
      out += utf8::kReplacement;
    } else if (utf8::xml_char(static_cast<char32_t>(cp))) {
      out.append(in.substr(i, len));
    }  // else: a character XML 1.0 forbids; SPEC §3 says remove it
    i += len;
  }
  return out;
}

bool is_clean_text(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b >= 0x20 && b < 0x80) {
      ++i;
      continue;
    }
    // The same decisions as sanitize_text, without the output.
    std::size_t len = 1;
    const long cp = utf8::decode(in, i, len);
    if (cp < 0 || !utf8::xml_char(static_cast<char32_t>(cp))) return false;
    i += len;
  }
  return true;
}

bool is_valid_utf8(std::string_view in) { return utf8::valid(in); }

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
