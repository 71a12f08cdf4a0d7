// The stream framer's scanner: one byte-level state machine, with tight loops
// for the common runs (character data, attribute values, CDATA) so that typical
// traffic never goes through the per-byte switch. See stream_framer.hpp.
#include "component/stream_framer.hpp"

#include "common/utf8.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sb::xmpp {
namespace {

using u8 = unsigned char;

constexpr const char* kNotWellFormed = "not-well-formed";
constexpr const char* kRestricted = "restricted-xml";
constexpr const char* kPolicy = "policy-violation";
// Nesting bound: pugixml and our namespace look-ups walk ancestors; an element
// of 512 KiB could otherwise nest 170k deep.
constexpr std::size_t kMaxDepth = 256;
constexpr std::size_t kMaxDeclBytes = 256;

enum : u8 {
  kWs = 1,         // S: space, tab, CR, LF
  kNameStart = 2,  // letter, '_', ':', any non-ASCII byte (approximation of XML NameStartChar)
  kName = 4,       // kNameStart + digits, '-', '.'
  kTextStop = 8,   // stops the character-data fast loop
  kAttrStop = 16,  // stops the attribute-value fast loop
  kCdataStop = 32, // stops the CDATA fast loop
  kCtl = 64,       // C0 control other than TAB/LF/CR: never allowed (XML 1.0 §2.2)
};

constexpr std::array<u8, 256> make_classes() {
  std::array<u8, 256> t{};
  for (int c = 0; c < 256; ++c) {
    u8 f = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') f |= kWs;
    if (alpha || c == '_' || c == ':' || c >= 0x80) f |= kNameStart | kName;
    if (digit || c == '-' || c == '.') f |= kName;
    if (c < 0x20 && !(f & kWs)) f |= kCtl | kTextStop | kAttrStop | kCdataStop;
    if (c >= 0x80) f |= kTextStop | kAttrStop | kCdataStop;
    if (c == '<' || c == '&' || c == ']' || c == '>') f |= kTextStop;
    if (c == '<' || c == '&' || c == '"' || c == '\'') f |= kAttrStop;
    if (c == ']' || c == '>') f |= kCdataStop;  // "]]>" ends the section
    t[static_cast<std::size_t>(c)] = f;
  }
  return t;
}
constexpr std::array<u8, 256> kClass = make_classes();

inline bool is(u8 c, u8 flag) { return (kClass[c] & flag) != 0; }

using utf8::xml_char;  // XML 1.0 §2.2 Char (also for character references)

// Length of the complete, valid UTF-8 sequence of an XML Char at p; 0 if it is
// cut by `e` or invalid (the incremental decoder then decides, byte by byte).
// UTF-8 lead byte: how many continuation bytes follow, the code point bits so
// far, and the allowed range of the first continuation byte, which excludes
// overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4). False if b is no lead.
inline bool utf8_lead(u8 b, u8& need, std::uint32_t& cp, u8& lo, u8& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) { need = 1; cp = b & 0x1F; return true; }
  if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    return true;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    return true;
  }
  return false;
}

inline std::size_t utf8_run(const u8* p, const u8* e) {
  u8 need, lo, hi;
  std::uint32_t cp;
  if (!utf8_lead(p[0], need, cp, lo, hi)) return 0;
  if (static_cast<std::size_t>(e - p) <= need) return 0;
  for (std::size_t k = 1; k <= need; ++k) {
    if (p[k] < lo || p[k] > hi) return 0;
    lo = 0x80; hi = 0xBF;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  return xml_char(cp) ? need + 1 : 0;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) { out += static_cast<char>(cp); }
  else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes an attribute value the scanner has already validated: the five
// predefined entities and character references.
std::string decode_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '&') { out += v[i]; continue; }
    const auto semi = v.find(';', i);
    const auto ref = v.substr(i + 1, semi - i - 1);
    if (ref == "amp") out += '&';
    else if (ref == "lt") out += '<';
    else if (ref == "gt") out += '>';
    else if (ref == "quot") out += '"';
    else if (ref == "apos") out += '\'';
    else if (ref.size() > 1 && ref[0] == '#') {
      std::uint32_t cp = 0;
      const bool hex = ref[1] == 'x';
      for (char c : ref.substr(hex ? 2 : 1)) {
        const std::uint32_t d = c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
        cp = cp * (hex ? 16 : 10) + d;
      }
      append_utf8(out, cp);
    }
    i = semi;
  }
  return out;
}

// Attributes of a start tag the scanner has validated ("<name a='v' b="w">").
std::map<std::string, std::string> tag_attributes(std::string_view tag) {
  std::map<std::string, std::string> attrs;
  std::size_t i = 1;
  while (i < tag.size() && !is(static_cast<u8>(tag[i]), kWs) && tag[i] != '>' && tag[i] != '/') ++i;
  for (;;) {
    while (i < tag.size() && is(static_cast<u8>(tag[i]), kWs)) ++i;
    if (i >= tag.size() || tag[i] == '>' || tag[i] == '/') break;
    const auto name_start = i;
    while (tag[i] != '=' && !is(static_cast<u8>(tag[i]), kWs)) ++i;
    std::string name(tag.substr(name_start, i - name_start));
    while (tag[i] != '\'' && tag[i] != '"') ++i;
    const char q = tag[i++];
    const auto end = tag.find(q, i);
    attrs.emplace(std::move(name), decode_value(tag.substr(i, end - i)));
    i = end + 1;
  }
  return attrs;
}

}  // namespace

struct StreamFramer::State {
  enum class S : u8 {
    Prolog, PrologLt, PiName, XmlDecl, XmlDeclQ,
    TagName, AttrWait, AttrName, AttrEq, AttrQuote, AttrValue, AfterValue, SelfClose,
    EndName, EndWs,
    Body, BodyLt, Text, ContentLt, Bang, CData,
    Ref, RefName, RefChar, RefDec, RefHex,
    Done,
  };
  S s = S::Prolog;
  S ret = S::Text;        // where a reference returns to
  bool decl_seen = false;
  bool header = false;    // the tag being scanned is <stream:stream>
  char quote = 0;         // attribute value delimiter
  std::size_t count = 0;  // per-state counter: matched chars, ']' run, digits
  std::uint32_t ref_val = 0;
  char ref_name[5] = {};
  // Incremental UTF-8 (only for sequences cut by a read or seen in markup).
  u8 u_need = 0, u_lo = 0x80, u_hi = 0xBF;
  std::uint32_t u_cp = 0;
  // Open element names, concatenated; [0] is the stream header's.
  std::string names;
  std::vector<std::uint32_t> name_off;
  std::size_t cmp = 0;    // end tag: next byte of names to compare
  // Bytes of the element (or stream header) being captured.
  bool capturing = false;
  std::string buf;
  std::size_t cap_start = 0, stop = 0;

  const char* error = nullptr;

  void feed(const u8* d, std::size_t n, std::size_t max, std::vector<FramerEvent>& out);
};

StreamFramer::StreamFramer(std::size_t max_element_bytes)
    : max_(max_element_bytes), st_(std::make_unique<State>()) {}
StreamFramer::~StreamFramer() = default;
StreamFramer::StreamFramer(StreamFramer&&) noexcept = default;
StreamFramer& StreamFramer::operator=(StreamFramer&&) noexcept = default;

void StreamFramer::reset() {
  st_ = std::make_unique<State>();
  failed_ = false;
}

void StreamFramer::feed(std::string_view bytes, std::vector<FramerEvent>& out) {
  if (failed_ || bytes.empty()) return;
  st_->feed(reinterpret_cast<const u8*>(bytes.data()), bytes.size(), max_, out);
  if (st_->error) {
    failed_ = true;
    out.push_back(FramerEvent{FramerEvent::Kind::Error, st_->error, {}});
    // Free the partial element now: the stream is over.
    st_->buf = std::string();
    st_->names = std::string();
  }
}

void StreamFramer::State::feed(const u8* d, std::size_t n, std::size_t max,
                               std::vector<FramerEvent>& out) {
  if (s == S::Done) return;
  cap_start = 0;
  stop = capturing ? max - buf.size() : 0;
  std::size_t i = 0;

  auto fail = [&](const char* condition) { error = condition; };
  auto begin_capture = [&] {
    capturing = true;
    buf.clear();
    cap_start = i;
    stop = i + max;
  };
  auto take = [&](std::size_t last) {  // captured bytes up to and including d[last]
    std::string bytes;
    if (buf.empty()) {
      bytes.assign(reinterpret_cast<const char*>(d + cap_start), last + 1 - cap_start);
    } else {
      buf.append(reinterpret_cast<const char*>(d + cap_start), last + 1 - cap_start);
      bytes = std::move(buf);
      buf = std::string();
    }
    capturing = false;
    return bytes;
  };
  // A byte of a non-ASCII name: recorded in a start tag, compared in an end tag
  // (false: the end tag does not match).
  auto name_byte = [&](u8 c) -> bool {
    if (s == S::TagName) names += static_cast<char>(c);
    else if (s == S::EndName) {
      if (cmp >= names.size() || static_cast<u8>(names[cmp]) != c) return false;
      ++cmp;
    }
    return true;
  };
  auto push_name = [&]() -> bool {
    if (name_off.size() > kMaxDepth) { fail(kPolicy); return false; }
    name_off.push_back(static_cast<std::uint32_t>(names.size()));
    return true;
  };
  auto pop_name = [&] {
    names.resize(name_off.back());
    name_off.pop_back();
  };
  // A start tag ended at d[i] ('>').
  auto start_tag_done = [&](bool self_closing) {
    if (header) {
      header = false;
      std::string tag = take(i);
      const std::string_view name(names);
      if (name != "stream" && (name.size() < 7 || name.substr(name.size() - 7) != ":stream")) {
        fail(kNotWellFormed);  // RFC 6120 §4.2: the root must be <stream/>
        return;
      }
      out.push_back(FramerEvent{FramerEvent::Kind::StreamOpen, {}, tag_attributes(tag)});
      if (self_closing) {
        out.push_back(FramerEvent{FramerEvent::Kind::StreamClose, {}, {}});
        s = S::Done;
      } else {
        s = S::Body;
      }
      return;
    }
    if (self_closing) pop_name();
    if (name_off.size() == 1) {
      out.push_back(FramerEvent{FramerEvent::Kind::Element, take(i), {}});
      s = S::Body;
    } else {
      s = S::Text;
      count = 0;
    }
  };

  while (i < n && !error) {
    if (s == S::Done) return;  // after </stream:stream>, input is ignored
    if (capturing && i >= stop) { fail(kPolicy); break; }
    // Fast loops over runs that need no state change.
    if (u_need == 0) {
      const std::size_t end = capturing ? std::min(n, stop) : n;
      u8 flag = 0;
      if (s == S::Text) flag = kTextStop;
      else if (s == S::AttrValue) flag = kAttrStop;
      else if (s == S::CData) flag = kCdataStop;
      if (flag) {
        std::size_t j = i;
        while (j < end) {
          const u8 c = d[j];
          if (!is(c, flag)) { ++j; continue; }
          if (c < 0x80) break;
          const std::size_t len = utf8_run(d + j, d + end);
          if (len == 0) break;
          j += len;
        }
        if (j != i) {
          if (s != S::AttrValue) count = 0;  // a run breaks any "]]" sequence
          i = j;
          continue;
        }
      } else if (s == S::TagName || s == S::AttrName || s == S::EndName) {
        // Runs of ASCII name characters (after the first one).
        std::size_t j = i;
        while (j < end && d[j] < 0x80 && is(d[j], kName)) ++j;
        if (s == S::EndName && j != i) {
          if (cmp == name_off.back() && !is(d[i], kNameStart)) { fail(kNotWellFormed); break; }
          if (j - i > names.size() - cmp || names.compare(cmp, j - i, reinterpret_cast<const char*>(d + i), j - i) != 0) {
            fail(kNotWellFormed);
            break;
          }
          cmp += j - i;
        } else if (s == S::TagName) {
          names.append(reinterpret_cast<const char*>(d + i), j - i);
        }
        if (j != i) {
          i = j;
          continue;
        }
      }
    }

    const u8 c = d[i];
    if (u_need) {  // continuation byte of a multi-byte character
      if (c < u_lo || c > u_hi) { fail(kNotWellFormed); break; }
      u_lo = 0x80; u_hi = 0xBF;
      u_cp = (u_cp << 6) | (c & 0x3F);
      if (--u_need == 0 && !xml_char(u_cp)) { fail(kNotWellFormed); break; }
      if (!name_byte(c)) { fail(kNotWellFormed); break; }
      ++i;
      continue;
    }
    if (c >= 0x80) {
      // Lead byte. Only text, attribute values, CDATA and names may hold one.
      switch (s) {
        case S::Text: case S::CData: count = 0; break;
        case S::AttrValue: case S::TagName: case S::AttrName: case S::RefName: break;
        case S::AttrWait: s = S::AttrName; break;
        case S::EndName: break;
        case S::ContentLt: case S::BodyLt:
          if (!push_name()) continue;
          s = S::TagName;
          break;
        case S::PrologLt:
          if (!push_name()) continue;
          header = true;
          s = S::TagName;
          break;
        case S::Ref: s = S::RefName; count = 5; break;  // not predefined, whatever it is
        default: fail(kNotWellFormed); continue;
      }
      if (!utf8_lead(c, u_need, u_cp, u_lo, u_hi) || !name_byte(c)) { fail(kNotWellFormed); continue; }
      ++i;
      continue;
    }

    switch (s) {
      case S::Prolog:
        if (c == '<') { begin_capture(); s = S::PrologLt; }
        else if (!is(c, kWs)) fail(kNotWellFormed);
        break;
      case S::PrologLt:
        if (c == '?') {
          capturing = false;
          buf.clear();
          s = S::PiName;
          count = 0;
        } else if (c == '!') {
          fail(kRestricted);  // <!DOCTYPE or a comment: RFC 6120 §11.1
        } else if (is(c, kNameStart)) {
          if (!push_name()) break;
          names += static_cast<char>(c);
          header = true;
          s = S::TagName;
        } else {
          fail(kNotWellFormed);
        }
        break;
      case S::PiName:
        // Only "<?xml " (the declaration, once, before the header) is allowed;
        // any other processing instruction is restricted (RFC 6120 §11.1).
        if (count < 3) {
          if (c == "xml"[count]) ++count;
          else fail(is(c, kName) ? kRestricted : kNotWellFormed);
        } else if (is(c, kWs)) {
          if (decl_seen) fail(kRestricted);
          s = S::XmlDecl;
          count = 0;
        } else {
          fail(is(c, kName) ? kRestricted : kNotWellFormed);
        }
        break;
      case S::XmlDecl:
      case S::XmlDeclQ:
        if (++count > kMaxDeclBytes || c == '<' || is(c, kCtl)) fail(kNotWellFormed);
        else if (c == '?') s = S::XmlDeclQ;
        else if (c == '>' && s == S::XmlDeclQ) { decl_seen = true; s = S::Prolog; }
        else s = S::XmlDecl;
        break;

      case S::TagName:
        if (is(c, kName)) names += static_cast<char>(c);
        else if (is(c, kWs)) s = S::AttrWait;
        else if (c == '/') s = S::SelfClose;
        else if (c == '>') start_tag_done(false);
        else fail(kNotWellFormed);
        break;
      case S::AttrWait:
      case S::AfterValue:
        if (is(c, kWs)) s = S::AttrWait;
        else if (c == '/') s = S::SelfClose;
        else if (c == '>') start_tag_done(false);
        else if (s == S::AttrWait && is(c, kNameStart)) s = S::AttrName;
        else fail(kNotWellFormed);  // includes a missing space between attributes
        break;
      case S::AttrName:
        if (is(c, kName)) break;
        if (is(c, kWs)) s = S::AttrEq;
        else if (c == '=') s = S::AttrQuote;
        else fail(kNotWellFormed);
        break;
      case S::AttrEq:
        if (c == '=') s = S::AttrQuote;
        else if (!is(c, kWs)) fail(kNotWellFormed);
        break;
      case S::AttrQuote:
        if (c == '"' || c == '\'') { quote = static_cast<char>(c); s = S::AttrValue; }
        else if (!is(c, kWs)) fail(kNotWellFormed);
        break;
      case S::AttrValue:
        if (c == static_cast<u8>(quote)) s = S::AfterValue;
        else if (c == '&') { ret = S::AttrValue; s = S::Ref; }
        else if (c == '<' || is(c, kCtl)) fail(kNotWellFormed);  // XML 1.0 §3.1 AttValue
        break;
      case S::SelfClose:
        if (c == '>') start_tag_done(true);
        else fail(kNotWellFormed);
        break;

      case S::EndName:
        if (is(c, kName) && !(cmp == name_off.back() && !is(c, kNameStart))) {
          if (cmp >= names.size() || static_cast<u8>(names[cmp]) != c) fail(kNotWellFormed);
          ++cmp;
          break;
        }
        if (cmp != names.size() || cmp == name_off.back()) { fail(kNotWellFormed); break; }
        s = S::EndWs;
        [[fallthrough]];
      case S::EndWs:
        if (is(c, kWs)) break;
        if (c != '>') { fail(kNotWellFormed); break; }
        pop_name();
        if (name_off.empty()) {  // </stream:stream>
          capturing = false;
          buf = std::string();
          out.push_back(FramerEvent{FramerEvent::Kind::StreamClose, {}, {}});
          s = S::Done;
          return;
        }
        if (name_off.size() == 1) {
          out.push_back(FramerEvent{FramerEvent::Kind::Element, take(i), {}});
          s = S::Body;
        } else {
          s = S::Text;
          count = 0;
        }
        break;

      case S::Body:
        // Between stanzas only whitespace (keepalives, RFC 6120 §4.6.1) is allowed.
        if (c == '<') { begin_capture(); s = S::BodyLt; }
        else if (!is(c, kWs)) fail(kNotWellFormed);
        break;
      case S::BodyLt:
      case S::ContentLt:
        if (c == '/') { s = S::EndName; cmp = name_off.back(); }
        else if (c == '!') {
          if (s == S::BodyLt) fail(kRestricted);  // comment (CDATA is not allowed here either)
          else { s = S::Bang; count = 0; }
        } else if (c == '?') fail(kRestricted);  // processing instruction
        else if (is(c, kNameStart)) {
          if (!push_name()) break;
          names += static_cast<char>(c);
          s = S::TagName;
        } else fail(kNotWellFormed);
        break;
      case S::Text:
        if (c == '<') s = S::ContentLt;
        else if (c == '&') { ret = S::Text; s = S::Ref; }
        else if (c == ']') ++count;
        else if (c == '>') { if (count >= 2) fail(kNotWellFormed); count = 0; }  // "]]>" in text, XML 1.0 §2.4
        else if (is(c, kCtl)) fail(kNotWellFormed);
        else count = 0;
        break;
      case S::Bang:
        // "<![CDATA[" is fine inside an element; every other "<!" is a comment or
        // a declaration (RFC 6120 §11.1).
        if (c == "[CDATA["[count]) {
          if (++count == 7) { s = S::CData; count = 0; }
        } else {
          fail(count == 0 ? kRestricted : kNotWellFormed);
        }
        break;
      case S::CData:
        if (c == ']') ++count;
        else if (c == '>' && count >= 2) { s = S::Text; count = 0; }
        else if (is(c, kCtl)) fail(kNotWellFormed);
        else count = 0;
        break;

      case S::Ref:
        if (c == '#') { s = S::RefChar; }
        else if (is(c, kNameStart)) { s = S::RefName; count = 1; ref_name[0] = static_cast<char>(c); }
        else fail(kNotWellFormed);
        break;
      case S::RefName:
        if (c == ';') {
          const std::string_view name(ref_name, std::min<std::size_t>(count, 5));
          // XML 1.0 §4.6: the five predefined entities; any other needs a DTD.
          if (count <= 4 && (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos")) {
            s = ret;
            count = 0;
          } else {
            fail(kRestricted);
          }
        } else if (is(c, kName)) {
          if (count < 5) ref_name[count] = static_cast<char>(c);
          if (count < 5) ++count;
        } else {
          fail(kNotWellFormed);
        }
        break;
      case S::RefChar:
        count = 0;
        ref_val = 0;
        if (c == 'x') s = S::RefHex;
        else if (c >= '0' && c <= '9') { s = S::RefDec; ref_val = c - '0'; count = 1; }
        else fail(kNotWellFormed);
        break;
      case S::RefDec:
      case S::RefHex: {
        if (c == ';') {
          if (count == 0 || !xml_char(ref_val)) { fail(kNotWellFormed); break; }
          s = ret;
          count = 0;
          break;
        }
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (s == S::RefHex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (s == S::RefHex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) { fail(kNotWellFormed); break; }
        ref_val = std::min<std::uint32_t>(ref_val * (s == S::RefHex ? 16 : 10) + v, 0x110000);
        ++count;
        break;
      }
      case S::Done:
        return;
    }
    ++i;
  }
  if (!error && capturing) {
    // Bounded: stop guarantees buf never exceeds max.
    buf.append(reinterpret_cast<const char*>(d + cap_start), n - cap_start);
  }
}

}  // namespace sb::xmpp
