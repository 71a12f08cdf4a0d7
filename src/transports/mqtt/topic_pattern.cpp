#include "transports/mqtt/topic_pattern.hpp"

#include <algorithm>

namespace sb::transport::mqtt {
namespace {

using Kind = TopicPattern::Level::Kind;

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// One string can carry both prefixes when one is a prefix of the other.
bool prefixes_compatible(std::string_view a, std::string_view b) {
  return a.size() <= b.size() ? starts_with(b, a) : starts_with(a, b);
}
bool suffixes_compatible(std::string_view a, std::string_view b) {
  return a.size() <= b.size() ? ends_with(b, a) : ends_with(a, b);
}

bool level_matches(const TopicPattern::Level& l, std::string_view topic_level) {
  if (l.kind == Kind::Literal) return topic_level == l.prefix;
  return topic_level.size() > l.prefix.size() + l.suffix.size() && starts_with(topic_level, l.prefix) &&
         ends_with(topic_level, l.suffix);
}

// Some single topic level matches both pattern levels (neither is Rest).
bool levels_overlap(const TopicPattern::Level& a, const TopicPattern::Level& b) {
  if (a.kind == Kind::Literal && b.kind == Kind::Literal) return a.prefix == b.prefix;
  if (a.kind == Kind::Literal) return level_matches(b, a.prefix);
  if (b.kind == Kind::Literal) return level_matches(a, b.prefix);
  // Two variables: prefix_long + "x" + suffix_long matches both when the prefixes
  // and suffixes agree; the "x" keeps both captures non-empty.
  return prefixes_compatible(a.prefix, b.prefix) && suffixes_compatible(a.suffix, b.suffix);
}

std::string col(std::size_t offset) { return " at column " + std::to_string(offset + 1); }

}  // namespace

bool valid_var_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<TopicPattern> TopicPattern::parse(std::string_view text, std::string& error) {
  if (text.empty()) {
    error = "empty topic pattern";
    return std::nullopt;
  }
  TopicPattern p;
  p.text_ = std::string(text);
  std::size_t level_start = 0;  // offset of the current level in `text`
  for (std::string_view lv : split_levels(text)) {
    Level level;
    bool have_var = false;
    for (std::size_t i = 0; i < lv.size(); ++i) {
      const char c = lv[i];
      const std::size_t at = level_start + i;
      if (c == '+' || c == '#') {
        error = std::string("MQTT wildcard '") + c + "'" + col(at) +
                " is not allowed in a pattern; use a variable: {name} for one level, {name#} for the rest";
        return std::nullopt;
      }
      if (c == '\0') {
        error = "NUL character" + col(at);
        return std::nullopt;
      }
      if (c == '}') {
        error = "unbalanced '}'" + col(at);
        return std::nullopt;
      }
      if (c != '{') {
        (have_var ? level.suffix : level.prefix) += c;
        continue;
      }
      auto close = lv.find('}', i + 1);
      auto next_open = lv.find('{', i + 1);
      if (close == std::string_view::npos || next_open < close) {
        error = "unbalanced '{'" + col(at) + " (a variable is {name} within one level)";
        return std::nullopt;
      }
      if (have_var) {
        error = "a second variable in the same level" + col(at) + "; use one variable per level";
        return std::nullopt;
      }
      std::string_view name = lv.substr(i + 1, close - i - 1);
      bool rest = !name.empty() && name.back() == '#';
      if (rest) name.remove_suffix(1);
      if (!valid_var_name(name)) {
        error = name.empty() ? "empty variable name" + col(at)
                             : "invalid variable name '" + std::string(name) + "'" + col(at) +
                                   " (letters, digits and '_' only)";
        return std::nullopt;
      }
      if (p.has_variable(name)) {
        error = "duplicate variable '" + std::string(name) + "'" + col(at);
        return std::nullopt;
      }
      level.kind = rest ? Kind::Rest : Kind::Var;
      level.var = std::string(name);
      have_var = true;
      i = close;
    }
    if (level.kind == Kind::Rest && (!level.prefix.empty() || !level.suffix.empty())) {
      error = "{" + level.var + "#} must be a whole level" + col(level_start);
      return std::nullopt;
    }
    if (!p.levels_.empty() && p.levels_.back().kind == Kind::Rest) {
      error = "{" + p.levels_.back().var + "#} must be the last level (it matches the rest of the topic)";
      return std::nullopt;
    }
    p.levels_.push_back(std::move(level));
    level_start += lv.size() + 1;
  }
  return p;
}

std::optional<Vars> TopicPattern::match(std::string_view topic) const {
  if (levels_.empty() || topic.empty()) return std::nullopt;
  // MQTT 3.1.1 §4.7.2: wildcards at the first level do not match "$SYS/..." topics.
  if (topic.front() == '$' && levels_.front().kind != Kind::Literal && levels_.front().prefix.empty())
    return std::nullopt;
  Vars vars;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    const Level& l = levels_[i];
    if (pos > topic.size()) return std::nullopt;  // the topic has fewer levels
    if (l.kind == Kind::Rest) {
      std::string_view rest = topic.substr(pos);
      if (rest.empty()) return std::nullopt;
      vars.emplace(l.var, std::string(rest));
      return vars;
    }
    auto slash = topic.find('/', pos);
    std::string_view level = topic.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (!level_matches(l, level)) return std::nullopt;
    if (l.kind == Kind::Var)
      vars.emplace(l.var, std::string(level.substr(l.prefix.size(), level.size() - l.prefix.size() - l.suffix.size())));
    pos = slash == std::string_view::npos ? topic.size() + 1 : slash + 1;
  }
  if (pos <= topic.size()) return std::nullopt;  // the topic has more levels
  return vars;
}

std::optional<std::string> TopicPattern::expand(const Vars& vars) const {
  std::string out;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    const Level& l = levels_[i];
    if (i) out += '/';
    out += l.prefix;
    if (l.kind == Kind::Literal) continue;
    auto it = vars.find(l.var);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    const std::string& v = it->second;
    if (v.find_first_of(std::string_view("+#\0", 3)) != std::string::npos) return std::nullopt;
    if (l.kind == Kind::Var && v.find('/') != std::string::npos) return std::nullopt;
    out += v;
    out += l.suffix;
  }
  return out;
}

std::string TopicPattern::filter() const {
  std::string out;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    if (i) out += '/';
    switch (levels_[i].kind) {
      case Kind::Literal: out += levels_[i].prefix; break;
      case Kind::Var: out += '+'; break;
      case Kind::Rest: out += '#'; break;
    }
  }
  return out;
}

std::vector<std::string> TopicPattern::variables() const {
  std::vector<std::string> out;
  for (auto& l : levels_)
    if (l.kind != Kind::Literal) out.push_back(l.var);
  return out;
}

bool TopicPattern::has_variable(std::string_view name) const {
  return std::any_of(levels_.begin(), levels_.end(),
                     [&](const Level& l) { return l.kind != Kind::Literal && l.var == name; });
}

bool TopicPattern::may_overlap(const TopicPattern& a, const TopicPattern& b) {
  const auto& la = a.levels_;
  const auto& lb = b.levels_;
  for (std::size_t i = 0;; ++i) {
    const bool a_end = i == la.size(), b_end = i == lb.size();
    if (a_end || b_end) return a_end && b_end;
    const bool a_rest = la[i].kind == Kind::Rest, b_rest = lb[i].kind == Kind::Rest;
    if (a_rest && b_rest) return true;
    if (a_rest || b_rest) {
      // The rest swallows whatever the other pattern still requires — unless that is
      // exactly one empty level, which makes an empty (never captured) rest.
      const auto& other = a_rest ? lb : la;
      return !(other.size() == i + 1 && other[i].kind == Kind::Literal && other[i].prefix.empty());
    }
    if (!levels_overlap(la[i], lb[i])) return false;
  }
}

}  // namespace sb::transport::mqtt
