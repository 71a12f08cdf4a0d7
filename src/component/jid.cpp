#include "component/jid.hpp"

#include <array>

#include "component/xml_text.hpp"

namespace sb::xmpp {
namespace {

constexpr std::size_t kMaxPart = 1023;  // RFC 7622 §3.1: each part 1..1023 bytes

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Valid UTF-8 and no C0/C1 controls or DEL (RFC 7622 / PRECIS exclude controls).
bool clean_text(std::string_view s) {
  if (!is_valid_utf8(s)) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    // C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;
  }
  return true;
}

void lower_ascii(std::string& s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
}

// RFC 7622 §4.3.2 prohibits these in a localpart.
bool local_prohibited(unsigned char c) {
  switch (c) {
    case '"': case '&': case '\'': case '/': case ':': case '<': case '>': case '@':
      return true;
    default:
      return is_space(c);
  }
}

bool valid_local(std::string_view s) {
  if (s.empty() || s.size() > kMaxPart || !clean_text(s)) return false;
  for (char c : s)
    if (local_prohibited(static_cast<unsigned char>(c))) return false;
  return true;
}

// A domainpart is a DNS name (labels of letters, digits, '-', '_', or non-ASCII
// IDN characters) or an IP literal. RFC 7622 §3.2.
bool valid_domain(std::string_view s) {
  if (s.empty() || s.size() > kMaxPart || !clean_text(s)) return false;
  if (s.front() == '[') {  // IPv6 literal, RFC 7622 §3.2.1
    if (s.size() < 3 || s.back() != ']') return false;
    for (char c : s.substr(1, s.size() - 2)) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
    return true;
  }
  std::size_t label = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0) return false;  // empty label
      label = 0;
      continue;
    }
    const bool ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label != 0;
}

// XEP-0106 §3: the ten characters and their escape sequences.
struct Escape {
  char raw;
  const char* seq;  // without the backslash
};
constexpr std::array<Escape, 10> kEscapes{{{' ', "20"}, {'"', "22"}, {'&', "26"}, {'\'', "27"},
                                          {'/', "2f"}, {':', "3a"}, {'<', "3c"}, {'>', "3e"},
                                          {'@', "40"}, {'\\', "5c"}}};

// The raw character for the escape sequence starting at s[i] ('\\'), or 0.
char escape_at(std::string_view s, std::size_t i) {
  if (i + 2 >= s.size()) return 0;
  for (const auto& e : kEscapes)
    if (s[i + 1] == e.seq[0] && s[i + 2] == e.seq[1]) return e.raw;
  return 0;
}

}  // namespace

std::optional<Jid> Jid::parse(std::string_view s) {
  // RFC 7622 §3.1: the resource starts at the first '/', the localpart ends at
  // the first '@' before it.
  Jid j;
  std::string_view rest = s;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const auto res = rest.substr(slash + 1);
    if (res.empty() || res.size() > kMaxPart || !clean_text(res)) return std::nullopt;
    j.resource_.assign(res);
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    const auto local = rest.substr(0, at);
    if (!valid_local(local)) return std::nullopt;
    j.local_.assign(local);
    lower_ascii(j.local_);
    rest = rest.substr(at + 1);
  }
  // RFC 7622 §3.2: a trailing dot is stripped before anything else.
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (!valid_domain(rest)) return std::nullopt;
  j.domain_.assign(rest);
  lower_ascii(j.domain_);
  return j;
}

Jid Jid::bare() const {
  Jid j = *this;
  j.resource_.clear();
  return j;
}

std::string Jid::bare_str() const {
  if (local_.empty()) return domain_;
  std::string out;
  out.reserve(local_.size() + 1 + domain_.size());
  out += local_;
  out += '@';
  out += domain_;
  return out;
}

std::string Jid::str() const {
  std::string out = bare_str();
  if (!resource_.empty()) {
    out += '/';
    out += resource_;
  }
  return out;
}

std::string escape_localpart(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + 8);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    // XEP-0106 §4.2: a backslash is escaped only when it would otherwise be read
    // as the start of an escape sequence.
    if (c == '\\' && escape_at(raw, i) == 0) {
      out += c;
      continue;
    }
    bool escaped = false;
    for (const auto& e : kEscapes) {
      if (e.raw == c) {
        out += '\\';
        out += e.seq;
        escaped = true;
        break;
      }
    }
    if (!escaped) out += c;
  }
  return out;
}

std::string unescape_localpart(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\') {
      if (const char raw = escape_at(escaped, i)) {
        out += raw;
        i += 2;
        continue;
      }
    }
    out += escaped[i];
  }
  return out;
}

}  // namespace sb::xmpp
