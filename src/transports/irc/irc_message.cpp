// IRC line parser and serialiser (SPEC §7; RFC 2812 §2.3.1, IRCv3 message-tags).
// See irc_message.hpp for the contract; the comments here say why each rule is so.
#include "transports/irc/irc_message.hpp"
#include <algorithm>

namespace sb::transport::irc {
namespace {

bool breaks_line(char c) { return c == '\r' || c == '\n' || c == '\0'; }

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// IRCv3 message-tags "Escaping values": \: ; \s space, \\ \, \r CR, \n LF; any
// other escaped character stands for itself and a lone trailing '\' is dropped.
std::string unescape_tag_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      out += v[i];
      continue;
    }
    if (++i == v.size()) break;  // trailing backslash
    switch (v[i]) {
      case ':': out += ';'; break;
      case 's': out += ' '; break;
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      default: out += v[i]; break;  // "\\" -> "\", "\x" -> "x"
    }
  }
  return out;
}

void parse_tags(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(';', start);
    if (end == std::string_view::npos) end = s.size();
    auto tag = s.substr(start, end - start);
    start = end + 1;
    if (tag.empty()) continue;  // "a;;b" or a trailing ';': nothing there
    auto eq = tag.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(tag), std::string());
    } else if (eq > 0) {  // "=value" has no key: ignored
      out.emplace_back(std::string(tag.substr(0, eq)), unescape_tag_value(tag.substr(eq + 1)));
    }
  }
}

// The next space-delimited word at `pos` (after skipping spaces); advances `pos`.
std::string_view next_word(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  auto end = s.find(' ', pos);
  if (end == std::string_view::npos) end = s.size();
  auto w = s.substr(pos, end - pos);
  pos = end;
  return w;
}

// s without the characters `drop` selects. Nearly always there are none: then s
// itself comes back and nothing is copied; otherwise the copy is made in `scratch`.
std::string_view without(std::string_view s, bool (*drop)(char), std::string& scratch) {
  auto it = std::find_if(s.begin(), s.end(), drop);
  if (it == s.end()) return s;
  scratch.assign(s.begin(), it);
  for (++it; it != s.end(); ++it)
    if (!drop(*it)) scratch += *it;
  return scratch;
}

bool breaks_word(char c) { return breaks_line(c) || c == ' '; }

}  // namespace

const std::string* IrcMessage::tag(std::string_view key) const {
  // IRCv3: when a key is repeated, the last value is the one that counts.
  for (auto it = tags.rbegin(); it != tags.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

std::string_view IrcMessage::nick() const {
  std::string_view p = prefix;
  return p.substr(0, p.find_first_of("!@"));
}

const std::string& IrcMessage::param(std::size_t i) const {
  static const std::string empty;
  return i < params.size() ? params[i] : empty;
}

std::optional<IrcMessage> parse_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  IrcMessage m;
  std::size_t pos = 0;
  while (pos < line.size() && line[pos] == ' ') ++pos;  // some servers pad; harmless
  if (pos < line.size() && line[pos] == '@') {
    auto tags = next_word(line, pos);
    parse_tags(tags.substr(1), m.tags);
  }
  while (pos < line.size() && line[pos] == ' ') ++pos;
  if (pos < line.size() && line[pos] == ':') {
    m.prefix = std::string(next_word(line, pos).substr(1));
  }
  auto command = next_word(line, pos);
  if (command.empty()) return std::nullopt;
  m.command.reserve(command.size());
  for (char c : command) m.command += ascii_upper(c);
  for (;;) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos >= line.size()) break;
    if (line[pos] == ':') {  // trailing: the rest of the line, spaces and all
      m.params.emplace_back(line.substr(pos + 1));
      break;
    }
    m.params.emplace_back(next_word(line, pos));
  }
  return m;
}

std::string serialize(const IrcMessage& m) {
  // Only letters and digits can form a command; anything else could shift the
  // parameters or start a prefix/tag section, so it is dropped.
  std::string command;
  for (char c : m.command)
    if (ascii_alnum(c)) command += c;
  if (command.empty()) return {};  // nothing a server could act on

  std::string out;
  std::size_t size = m.prefix.size() + command.size() + 3;
  for (auto& p : m.params) size += p.size() + 2;
  out.reserve(size);
  std::string scratch;
  auto prefix = without(m.prefix, breaks_word, scratch);
  if (!prefix.empty()) out.append(":").append(prefix).append(" ");
  out += command;
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    out += ' ';
    if (i + 1 < m.params.size()) {
      // A middle parameter must be one non-empty word that does not start with
      // ':' (else it would swallow the rest as the trailing one). We never build
      // such a message on purpose; if a caller does, it is made harmless instead
      // of changing the parameter count: spaces and leading ':' are removed, and
      // an empty one becomes "*" (the usual "no value" placeholder in IRC).
      auto p = without(m.params[i], breaks_word, scratch);
      const auto start = p.find_first_not_of(':');
      p = start == std::string_view::npos ? std::string_view{} : p.substr(start);
      out += p.empty() ? std::string_view("*") : p;
    } else {
      auto p = without(m.params[i], breaks_line, scratch);
      if (p.empty() || p.front() == ':' || p.find(' ') != std::string_view::npos) out += ':';
      out += p;
    }
  }
  return out;
}

std::string make_line(std::string_view command, std::vector<std::string> params) {
  IrcMessage m;
  m.command = std::string(command);
  m.params = std::move(params);
  return serialize(m);
}

std::string strip_line_breaks(std::string_view s) {
  std::string scratch;
  return std::string(without(s, breaks_line, scratch));
}

std::string irc_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    else if (c == '[') c = '{';
    else if (c == ']') c = '}';
    else if (c == '\\') c = '|';
    else if (c == '~') c = '^';
  }
  return out;
}

}  // namespace sb::transport::irc
