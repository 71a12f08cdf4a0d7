// See message_text.hpp: why the hottest stanza skips the document.
#include "component/message_text.hpp"

#include "component/namespaces.hpp"
#include "component/xml_text.hpp"

namespace sb::xmpp {
namespace {

void attr(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.append(" ").append(name).append("=\"");
  append_sanitized_escaped(out, value, true);
  out += '"';
}

void element(std::string& out, std::string_view name, std::string_view text) {
  out.append("<").append(name);
  if (text.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  append_sanitized_escaped(out, text, false);
  out.append("</").append(name).append(">");
}

}  // namespace

std::string message_text(const MessageText& m) {
  std::string out;
  out.reserve(160 + m.from.size() + m.to.size() + m.id.size() + m.body.size() + m.origin_id.size() + m.stanza_id.size() + m.stanza_id_by.size() +
              (m.subject ? m.subject->size() : 0) + m.oob_url.size() + m.invite_jid.size());
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
  if (!m.invite_jid.empty()) {
    out.append("<x xmlns=\"").append(ns::conference).append("\"");
    attr(out, "jid", m.invite_jid);
    attr(out, "reason", m.invite_reason);
    out += "/>";
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
  if (!m.stanza_id.empty()) {
    out.append("<stanza-id xmlns=\"").append(ns::sid).append("\"");
    attr(out, "id", m.stanza_id);
    attr(out, "by", m.stanza_id_by);
    out += "/>";
  }
  out += "</message>";
  return out;
}

}  // namespace sb::xmpp
