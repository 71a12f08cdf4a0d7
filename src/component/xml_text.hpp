// Making foreign text valid XML character data (SPEC §3 last point).
// Pure; thread-safe.
#pragma once
#include <string>
#include <string_view>

namespace sb::xmpp {

// Returns text that is valid UTF-8 and contains only characters XML 1.0 allows:
// invalid UTF-8 sequences (overlong, surrogates, > U+10FFFF, truncated) become
// U+FFFD; C0 controls except TAB, LF, CR, plus U+FFFE/U+FFFF, are removed.
// Escaping of <, &, > and quotes is done by the serializer, not here.
std::string sanitize_text(std::string_view in);
// True when sanitize_text(in) == in: the text can go into XML as it is (the common
// case, checked without building a copy).
bool is_clean_text(std::string_view in);

// True if `in` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view in);

// Appends `text` escaped for character data or, with `attribute`, a single- or
// double-quoted attribute value: & < > " ' and CR always, TAB and LF in attributes,
// so a parser reads back exactly `text`. Does not sanitise.
void append_xml_escaped(std::string& out, std::string_view text, bool attribute);
// The same after sanitize_text (copy-free when the text is already clean).
void append_sanitized_escaped(std::string& out, std::string_view text, bool attribute);
// An attribute value (append_xml_escaped) as a new string.
std::string xml_escape(std::string_view in);

}  // namespace sb::xmpp
