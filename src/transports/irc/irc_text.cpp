// IRC text <-> XMPP text (SPEC §7: mIRC formatting stripped, non-UTF-8 decoded,
// long and multi-line messages split to fit 512-byte lines). See irc_text.hpp.
#include "transports/irc/irc_text.hpp"

#include <algorithm>

#include "common/utf8.hpp"

namespace sb::transport::irc {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Up to `max` characters at s[i] that satisfy `ok`; returns how many.
template <class Ok>
std::size_t run(std::string_view s, std::size_t i, std::size_t max, Ok ok) {
  std::size_t n = 0;
  while (n < max && i + n < s.size() && ok(s[i + n])) ++n;
  return n;
}

bool six_hex(std::string_view s, std::size_t i) { return run(s, i, 6, is_hex) == 6; }

// Windows-1252 0x80-0x9F. The five bytes it leaves undefined (0x81, 0x8D, 0x8F,
// 0x90, 0x9D) become U+FFFD rather than their C1 control code points: a C1
// control is invisible in every client, U+FFFD at least shows something was there.
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,  // 88-8F
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,  // 98-9F
};

std::string from_cp1252(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) out += c;
    else if (b < 0xA0) utf8::append(out, kCp1252High[b - 0x80]);
    else utf8::append(out, b);  // 0xA0-0xFF: the same code points as latin-1
  }
  return out;
}

// Bytes of the unit at s[i]: a whole UTF-8 character, or 1 for a byte that does
// not start a well-formed one (it is then carried as is, never split further).
std::size_t unit_len(std::string_view s, std::size_t i) {
  std::size_t len = 1;
  return utf8::decode(s, i, len) < 0 ? 1 : len;
}

// One line (no CR/LF) into chunks of at most `max` (>= 1) bytes.
void split_line(std::string_view raw, std::size_t max, std::vector<std::string>& out) {
  // NUL ends a C string on many servers: never sent. A character wider than the
  // whole budget (only possible for budgets under 4 bytes) cannot be sent in one
  // piece without splitting it, so it becomes '?': progress is always made.
  // NUL goes first: removing it can join bytes into a new character.
  // The usual case, a line that fits and holds no NUL, is sent as it is: with a
  // budget of 4 bytes or more every character fits (bytes that are no UTF-8 pass
  // one by one), so the steps below would rebuild the same line.
  if (max >= 4 && raw.size() <= max && raw.find('\0') == std::string_view::npos) {
    if (!raw.empty()) out.emplace_back(raw);
    return;
  }
  std::string no_nul;
  no_nul.reserve(raw.size());
  for (char c : raw)
    if (c != '\0') no_nul += c;
  std::string line;
  line.reserve(no_nul.size());
  for (std::size_t i = 0; i < no_nul.size();) {
    const auto len = unit_len(no_nul, i);
    if (len > max) line += '?';
    else line.append(no_nul, i, len);
    i += len;
  }
  std::size_t pos = 0;
  while (line.size() - pos > max) {
    // The last character boundary that keeps the chunk within `max`.
    std::size_t end = pos;
    for (std::size_t i = pos; i < line.size();) {
      const auto len = unit_len(line, i);
      if (i + len - pos > max) break;
      i += len;
      end = i;
    }
    // Cannot happen (every unit fits, and '?' never joins a neighbour), but a
    // loop on input from the network must be seen to end.
    if (end == pos) end = pos + 1;
    // Prefer breaking at the last space within the final 64 bytes (the space
    // right after the chunk counts too); that space is dropped, not sent.
    std::size_t cut = end;
    std::size_t next = end;
    const std::size_t lo = end > pos + 64 ? end - 64 : pos + 1;
    for (std::size_t k = end; k >= lo; --k) {
      if (line[k] == ' ') {
        cut = k;
        next = k + 1;
        break;
      }
    }
    out.push_back(line.substr(pos, cut - pos));
    pos = next;
  }
  if (pos < line.size()) out.push_back(line.substr(pos));
}

}  // namespace

std::string strip_formatting(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i++];
    switch (c) {
      case '\x02': case '\x0F': case '\x11': case '\x16': case '\x1D': case '\x1E': case '\x1F':
        break;
      case '\x03':  // ^C[fg[,bg]]: the comma belongs to the code only if a digit follows
        if (auto fg = run(s, i, 2, is_digit); fg > 0) {  // no foreground, no background
          i += fg;
          if (i + 1 < s.size() && s[i] == ',' && is_digit(s[i + 1])) i += 1 + run(s, i + 1, 2, is_digit);
        }
        break;
      case '\x04':  // ^D[RRGGBB[,RRGGBB]]
        if (six_hex(s, i)) {
          i += 6;
          if (i < s.size() && s[i] == ',' && six_hex(s, i + 1)) i += 7;
        }
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string decode_irc_text(std::string_view bytes) {
  bool multibyte = false;  // seen a well-formed non-ASCII character: evidence of UTF-8
  for (std::size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {  // ASCII: the same in both encodings
      ++i;
      continue;
    }
    std::size_t len = 1;
    if (utf8::decode(bytes, i, len) >= 0) {
      multibyte = multibyte || len > 1;
      i += len;
      continue;
    }
    // Servers cut lines at 512 bytes, often inside the last character of UTF-8
    // text: keep that text and mark the cut, rather than turning all of it into
    // latin-1 mojibake. Without earlier UTF-8 characters a lone high byte at the
    // end ("caf\xE9") is far more likely latin-1, so it is decoded as such.
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (multibyte && i + len == bytes.size() && lead >= 0xC2 && lead <= 0xF4) {
      return std::string(bytes.substr(0, i)).append(utf8::kReplacement);
    }
    return from_cp1252(bytes);
  }
  return std::string(bytes);
}

std::string irc_to_xmpp_text(std::string_view bytes) {
  // Most lines are plain printable ASCII: nothing to decode, nothing to strip.
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c >= 0x20 && c < 0x7F; }))
    return std::string(bytes);
  // Decode first: stripping works on the ASCII control bytes, which are the same
  // in both encodings, and the decoded text is what must stay valid.
  return strip_formatting(decode_irc_text(bytes));
}

std::optional<std::string> ctcp_action(std::string_view text) {
  constexpr std::string_view kAction = "\x01" "ACTION";
  if (text.substr(0, kAction.size()) != kAction) return std::nullopt;
  auto rest = text.substr(kAction.size());
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\x01') return std::nullopt;  // "\x01ACTIONS"
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  // Some clients omit the closing \x01; accept both.
  if (!rest.empty() && rest.back() == '\x01') rest.remove_suffix(1);
  return std::string(rest);
}

std::string make_ctcp_action(std::string_view text) {
  std::string out = "\x01" "ACTION ";
  for (char c : text)
    if (c != '\x01') out += c;  // a \x01 inside would end the CTCP early
  out += '\x01';
  return out;
}

std::optional<std::string> ctcp_command(std::string_view text) {
  if (text.empty() || text.front() != '\x01') return std::nullopt;
  auto word = text.substr(1, text.find_first_of(" \x01", 1) - 1);
  if (word.empty()) return std::nullopt;
  std::string cmd(word);
  for (char& c : cmd)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (cmd == "ACTION") return std::nullopt;
  return cmd;
}

std::vector<std::string> split_for_irc(std::string_view body, std::size_t max_bytes) {
  std::vector<std::string> out;
  const std::size_t max = std::max<std::size_t>(max_bytes, 1);  // 0 could never make progress
  std::size_t start = 0;
  for (;;) {
    // Not find_first_of("\r\n"): libstdc++ runs a memchr over the set per byte.
    std::size_t end = start;
    while (end < body.size() && body[end] != '\r' && body[end] != '\n') ++end;
    split_line(body.substr(start, end - start), max, out);
    if (end == body.size()) break;
    start = end + ((body[end] == '\r' && end + 1 < body.size() && body[end + 1] == '\n') ? 2 : 1);
  }
  return out;
}

std::size_t text_budget(std::string_view nick, std::string_view user, std::string_view command,
                        std::string_view target, std::size_t host_len) {
  constexpr std::size_t kLine = 512 - 2;  // CR LF
  constexpr std::size_t kFloor = 32;      // a silly-long target still gets usable chunks
  // ":" nick "!" user "@" host " " command " " target " :"
  const std::size_t overhead = 7 + nick.size() + user.size() + host_len + command.size() + target.size();
  return overhead + kFloor >= kLine ? kFloor : kLine - overhead;
}

}  // namespace sb::transport::irc
