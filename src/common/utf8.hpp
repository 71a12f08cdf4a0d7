// UTF-8 and XML 1.0 characters, for every ring that turns foreign bytes into XML
// text (the core's sanitize_text, the MQTT payload renderer). Pure; thread-safe.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sb::utf8 {

// Decodes one UTF-8 sequence at s[i] (i < s.size()). Returns the code point, or
// -1 for an ill-formed sequence (overlong, surrogate, > U+10FFFF, truncated, stray
// continuation byte). `len` is set to the bytes consumed: the sequence, or the
// maximal ill-formed subpart (Unicode §3.9), at least 1 — so one U+FFFD replaces
// each broken sequence.
long decode(std::string_view s, std::size_t i, std::size_t& len);
// XML 1.0 §2.2 Char: no C0 controls but TAB, LF, CR; no surrogates, U+FFFE,
// U+FFFF or anything above U+10FFFF.
bool xml_char(char32_t cp);
// RFC 3629 well-formed UTF-8.
bool valid(std::string_view s);
// Well-formed UTF-8 made only of XML 1.0 characters.
bool xml_text(std::string_view s);
void append(std::string& out, char32_t cp);
// The longest prefix of well-formed `s` of at most `max` bytes that does not split a character.
std::string_view prefix(std::string_view s, std::size_t max);

inline constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace sb::utf8
