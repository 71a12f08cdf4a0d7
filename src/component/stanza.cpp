#include "component/stanza.hpp"

#include <cstring>

#include "component/namespaces.hpp"
#include "component/xml_memory.hpp"
#include "component/xml_text.hpp"

namespace sb::xmpp {
namespace {

constexpr const char* kXmlNs = "http://www.w3.org/XML/1998/namespace";

// Links xml_memory.cpp, whose static initializer gives pugixml its page cache.
[[maybe_unused]] const bool kXmlMemoryLinked = xml_memory::installed();

// pugixml 1.13 takes NUL-terminated names only.
std::string z(std::string_view s) { return std::string(s); }

// The declaration `xmlns` (prefix empty) or `xmlns:prefix` on element e, if any.
pugi::xml_attribute find_decl(const pugi::xml_node& e, std::string_view prefix) {
  for (auto a : e.attributes()) {
    std::string_view an = a.name();
    if (prefix.empty()) {
      if (an == "xmlns") return a;
    } else if (an.size() == 6 + prefix.size() && an.substr(0, 6) == "xmlns:" && an.substr(6) == prefix) {
      return a;
    }
  }
  return {};
}

// Sets an attribute's or node's value to foreign text made valid (xml_text.hpp);
// clean text (nearly all) is copied once, straight into the document.
template <class Target>
void set_sanitized(Target t, std::string_view text) {
  if (is_clean_text(text)) {
    t.set_value(text.data(), text.size());
  } else {
    const auto clean = sanitize_text(text);
    t.set_value(clean.data(), clean.size());
  }
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, std::size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

}  // namespace

std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

namespace {
// ns_of without the copy: the value lives in the document (or is static, or is
// top_default). child() and append() run it for every element of every stanza.
std::string_view ns_view(const pugi::xml_node& n, std::string_view top_default) {
  if (!n || n.type() != pugi::node_element) return {};
  std::string_view name = n.name();
  const auto colon = name.find(':');
  const std::string_view prefix = colon == std::string_view::npos ? std::string_view{} : name.substr(0, colon);
  // Namespaces in XML §6.1: the nearest declaration in scope wins.
  for (auto e = n; e && e.type() == pugi::node_element; e = e.parent()) {
    if (auto a = find_decl(e, prefix)) return a.value();
  }
  if (prefix.empty()) return top_default;
  if (prefix == "xml") return kXmlNs;
  // The stream header (outside this element) declares xmlns:stream; an element
  // framed out of the stream cannot see it.
  if (prefix == "stream") return ns::stream;
  return {};
}
constexpr std::string_view kTopDefault = "jabber:component:accept";  // ns_of's default
}  // namespace

std::string ns_of(const pugi::xml_node& n, std::string_view top_default) {
  return std::string(ns_view(n, top_default));
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name, std::string_view ns) {
  for (auto c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c) == name && ns_view(c, kTopDefault) == ns) return c;
  }
  return {};
}

std::string child_text(const pugi::xml_node& parent, std::string_view name, std::string_view ns) {
  auto c = child(parent, name, ns);
  if (!c) return {};
  // Concatenate PCDATA and CDATA children; child_value() would return only the first.
  std::string out;
  for (auto t = c.first_child(); t; t = t.next_sibling()) {
    if (t.type() == pugi::node_pcdata || t.type() == pugi::node_cdata) out += t.value();
  }
  return out;
}

pugi::xml_node append(pugi::xml_node parent, std::string_view name, std::string_view ns) {
  auto c = parent.append_child(z(name).c_str());
  if (!ns.empty() && (parent.type() != pugi::node_element || ns_view(parent, kTopDefault) != ns)) {
    c.append_attribute("xmlns").set_value(z(ns).c_str());
  }
  return c;
}

pugi::xml_node append_text(pugi::xml_node parent, std::string_view name, std::string_view text) {
  auto c = parent.append_child(z(name).c_str());
  set_text(c, text);
  return c;
}

void set_text(pugi::xml_node n, std::string_view text) {
  // Replace all character data, keep child elements.
  for (auto c = n.first_child(); c;) {
    auto next = c.next_sibling();
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) n.remove_child(c);
    c = next;
  }
  if (text.empty()) return;
  set_sanitized(n.append_child(pugi::node_pcdata), text);
}

void set_text_attr(pugi::xml_node n, const char* name, std::string_view text) {
  set_sanitized(n.append_attribute(name), text);
}

namespace {
// parse_default is what XML 1.0 requires and nothing more: escapes (§4.6),
// CDATA, end-of-line (§2.11) and attribute-value normalisation (§3.3.3);
// comments, PIs and DOCTYPE are not kept (the framer already refused them).
// Added: parse_ws_pcdata, so a body of only spaces (what the user typed)
// survives.
constexpr unsigned kParseFlags = pugi::parse_default | pugi::parse_ws_pcdata;
}  // namespace

std::optional<Stanza> Stanza::parse(std::string_view xml) {
  Stanza s;
  const auto r = s.doc_.load_buffer(xml.data(), xml.size(), kParseFlags, pugi::encoding_utf8);
  return checked(std::move(s), r);
}

std::optional<Stanza> Stanza::parse_owned(std::string&& xml) {
  // A short string lives inside the std::string object (SSO) and would move with
  // it; only a heap buffer stays put when the Stanza is moved.
  if (xml.size() < 64) return parse(xml);
  Stanza s;
  s.buf_ = std::move(xml);
  const auto r = s.doc_.load_buffer_inplace(s.buf_.data(), s.buf_.size(), kParseFlags, pugi::encoding_utf8);
  return checked(std::move(s), r);
}

std::optional<Stanza> Stanza::checked(Stanza s, pugi::xml_parse_result r) {
  if (!r) return std::nullopt;
  int elements = 0;
  for (auto c = s.doc_.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      ++elements;
    } else if (c.type() == pugi::node_pcdata) {
      for (const char* p = c.value(); *p; ++p)
        if (!std::strchr(" \t\r\n", *p)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (elements != 1) return std::nullopt;
  // Drop surrounding whitespace nodes so str() is just the element.
  for (auto c = s.doc_.first_child(); c;) {
    auto next = c.next_sibling();
    if (c.type() != pugi::node_element) s.doc_.remove_child(c);
    c = next;
  }
  return s;
}

Stanza Stanza::make(std::string_view name) {
  Stanza s;
  s.doc_.append_child(z(name).c_str());
  return s;
}

Stanza Stanza::clone() const {
  Stanza s;
  s.doc_.reset(doc_);
  return s;
}

Stanza& Stanza::set_attr(const char* name, std::string_view value) {
  auto r = root();
  if (value.empty()) {
    r.remove_attribute(name);
    return *this;
  }
  auto a = r.attribute(name);
  if (!a) a = r.append_attribute(name);
  set_sanitized(a, value);
  return *this;
}

std::string Stanza::str() const {
  StringWriter w;
  doc_.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return std::move(w.out);
}

}  // namespace sb::xmpp
