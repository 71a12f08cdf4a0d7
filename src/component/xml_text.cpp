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

void append_xml_escaped(std::string& out, std::string_view text, bool attribute) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* rep = nullptr;
    switch (text[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&apos;"; break;
      // XML 1.0 §2.11 would turn a raw CR into LF, and §3.3.3 TAB and LF in an
      // attribute value into spaces: as character references they stay.
      case '\r': rep = "&#13;"; break;
      case '\n': if (!attribute) continue; rep = "&#10;"; break;
      case '\t': if (!attribute) continue; rep = "&#9;"; break;
      default: continue;
    }
    out.append(text.substr(start, i - start)).append(rep);
    start = i + 1;
  }
  out.append(text.substr(start));
}

void append_sanitized_escaped(std::string& out, std::string_view text, bool attribute) {
  if (is_clean_text(text)) append_xml_escaped(out, text, attribute);
  else append_xml_escaped(out, sanitize_text(text), attribute);
}

std::string xml_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  append_xml_escaped(out, in, true);
  return out;
}

}  // namespace sb::xmpp
