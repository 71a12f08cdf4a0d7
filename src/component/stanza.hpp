// A stanza: one top-level element of the stream, owning its pugixml document.
//
// pugixml does not process namespaces, so every namespace-aware look-up goes
// through the helpers here, which resolve `xmlns` / `xmlns:prefix` declarations
// up the tree; a top-level element without xmlns is in `jabber:component:accept`
// (the stream's default namespace). Never glue prefixes into names.
//
// Move-only. Pure; thread-compatible (one owner at a time).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <pugixml.hpp>

namespace sb::xmpp {

// Local name of an element ("stream:error" -> "error").
std::string_view local_name(const pugi::xml_node& n);
// Namespace of an element, resolved through ancestors' declarations.
// `top_default` is used when nothing is declared (the stream default).
std::string ns_of(const pugi::xml_node& n, std::string_view top_default = "jabber:component:accept");
// First child element with this local name and namespace; empty node if none.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name, std::string_view ns);
// Text of child(parent, name, ns), or "" if absent.
std::string child_text(const pugi::xml_node& parent, std::string_view name, std::string_view ns);
// Appends <name xmlns='ns'/> (xmlns omitted if empty or equal to the parent's) and returns it.
pugi::xml_node append(pugi::xml_node parent, std::string_view name, std::string_view ns = {});
// Appends <name>text</name>; text is sanitized (xml_text.hpp) first.
pugi::xml_node append_text(pugi::xml_node parent, std::string_view name, std::string_view text);
// Sets the text content of an element, sanitized.
void set_text(pugi::xml_node n, std::string_view text);
// Appends the attribute name='text', sanitized: for foreign text (a device id, an
// IRC nick) that a server would otherwise reject as not well-formed (SPEC §3).
void set_text_attr(pugi::xml_node n, const char* name, std::string_view text);

class Stanza {
 public:
  // Parses one complete element (as produced by StreamFramer). nullopt if not
  // well-formed XML. Does not check stanza semantics.
  static std::optional<Stanza> parse(std::string_view xml);
  // The same, parsing in place: the stanza keeps `xml` as its text storage, so no
  // copy of the element is made (the receive path: StreamFramer's bytes).
  static std::optional<Stanza> parse_owned(std::string&& xml);
  // A new empty top-level element: Stanza::make("message").
  static Stanza make(std::string_view name);

  Stanza(Stanza&&) noexcept = default;
  Stanza& operator=(Stanza&&) noexcept = default;
  Stanza(const Stanza&) = delete;
  Stanza& operator=(const Stanza&) = delete;
  Stanza clone() const;

  pugi::xml_node root() const { return doc_.document_element(); }
  std::string_view name() const { return local_name(root()); }  // "message", "presence", "iq", ...
  std::string_view attr(const char* name) const { return root().attribute(name).value(); }
  Stanza& set_attr(const char* name, std::string_view value);  // empty value removes it
  std::string_view to() const { return attr("to"); }
  std::string_view from() const { return attr("from"); }
  std::string_view id() const { return attr("id"); }
  std::string_view type() const { return attr("type"); }
  pugi::xml_node child(std::string_view name, std::string_view ns) const { return xmpp::child(root(), name, ns); }
  // Compact serialization (no indentation, no XML declaration).
  std::string str() const;

 private:
  Stanza() = default;
  // Checks a parsed document holds exactly one element and drops whitespace around it.
  static std::optional<Stanza> checked(Stanza s, pugi::xml_parse_result r);
  pugi::xml_document doc_;
  std::string buf_;  // parse_owned's text: doc_'s strings point into it (heap, so moves keep it)
};

}  // namespace sb::xmpp
