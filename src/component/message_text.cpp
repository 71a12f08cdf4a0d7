// See message_text.hpp: why the hottest stanza skips the document.
#include "component/message_text.hpp"

#include "component/namespaces.hpp"
#include "component/xml_text.hpp"

namespace sb::xmpp {
namespace {

// Escapes markup; CR always (XML 1.0 §2.11 would turn a raw one into LF), and in
// attribute values TAB and LF too (§3.3.3 would turn them into spaces).
void escape_clean(std::string& out, std::string_view clean, bool attribute) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const char* rep = nullptr;
    switch (clean[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&apos;"; break;
      case '\r': rep = "&#13;"; break;
      case '\n': if (!attribute) continue; rep = "&#10;"; break;
      case '\t': if (!attribute) continue; rep = "&#9;"; break;
      default: continue;
    }
    out.append(clean.substr(start, i - start)).append(rep);
    start = i + 1;
  }
  out.append(clean.substr(start));
}

void attr(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.append(" ").append(name).append("=\"");
  append_escaped(out, value, true);
  out += '"';
}

void element(std::string& out, std::string_view name, std::string_view text) {
  out.append("<").append(name);
  if (text.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  append_escaped(out, text, false);
  out.append("</").append(name).append(">");
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, bool attribute) {
  if (is_clean_text(text)) {
    escape_clean(out, text, attribute);
  } else {
    escape_clean(out, sanitize_text(text), attribute);
  }
}

std::string message_text(const MessageText& m) {
  std::string out;
  out.reserve(160 + m.from.size() + m.to.size() + m.id.size() + m.body.size() + m.origin_id.size() +
              (m.subject ? m.subject->size() : 0) + m.oob_url.size());
  out += "<message";
  attr(out, "from", m.from);
  attr(out, "to", m.to);
  attr(out, "type", m.type);
  attr(out, "id", m.id);
  out += '>';
  if (m.subject) element(out, "subject", *m.subject);
  if (!m.body.empty()) element(out, "body", m.body);
  if (!m.oob_url.empty()) {
    out.append("<x xmlns=\"").append(ns::oob).append("\">");
    element(out, "url", m.oob_url);
    out += "</x>";
  }
  if (!m.delay_stamp.empty()) {
    out.append("<delay xmlns=\"").append(ns::delay).append("\"");
    attr(out, "from", m.delay_from);
    attr(out, "stamp", m.delay_stamp);
    out += "/>";
  }
  if (!m.origin_id.empty()) {
    out.append("<origin-id xmlns=\"").append(ns::sid).append("\"");
    attr(out, "id", m.origin_id);
    out += "/>";
  }
  out += "</message>";
  return out;
}

}  // namespace sb::xmpp
