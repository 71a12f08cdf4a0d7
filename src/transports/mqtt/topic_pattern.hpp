// MQTT topic patterns for routes (SPEC §6): "home/{id}/state".
//
// A pattern is a list of topic levels separated by '/'. A level is either
//   - literal text ("home"; an empty level is legal, MQTT allows "a//b"),
//   - `{var}`, optionally with literal text around it in the same level
//     ("dev-{id}", "{id}.json"): exactly one level, at least one character, no '/',
//   - `{var#}` as the whole last level: the rest of the topic (one or more levels,
//     joined with '/').
// MQTT wildcards '+' and '#' are not allowed literally (MQTT 3.1.1 §4.7.1): use
// variables. A variable never captures an empty string, so an empty level does not
// match `{var}`. Like a broker, a pattern whose first level starts with a variable
// does not match topics beginning with '$' (MQTT 3.1.1 §4.7.2).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::transport::mqtt {

// Variable name -> captured value.
using Vars = std::map<std::string, std::string, std::less<>>;

class TopicPattern {
 public:
  struct Level {
    enum class Kind { Literal, Var, Rest } kind = Kind::Literal;
    std::string prefix;  // the literal text for Kind::Literal
    std::string var;
    std::string suffix;
  };

  TopicPattern() = default;
  // nullopt with `error` set ("unbalanced '{' at column 6", ...) when invalid.
  static std::optional<TopicPattern> parse(std::string_view text, std::string& error);

  // The variables when `topic` matches; nullopt otherwise.
  std::optional<Vars> match(std::string_view topic) const;
  // The topic for these variables; nullopt when one is missing or its value is not
  // usable: empty, containing '+', '#' or NUL, or '/' for a one-level `{var}`.
  std::optional<std::string> expand(const Vars& vars) const;
  // The MQTT subscription filter: '+' for a level with a variable, '#' for `{var#}`.
  std::string filter() const;
  std::vector<std::string> variables() const;
  bool has_variable(std::string_view name) const;
  bool has_rest() const { return !levels_.empty() && levels_.back().kind == Level::Kind::Rest; }
  const std::string& text() const { return text_; }
  const std::vector<Level>& levels() const { return levels_; }

  // True when some topic could match both patterns (overlapping routes are config
  // errors). Conservative: true whenever a common topic exists level by level.
  static bool may_overlap(const TopicPattern& a, const TopicPattern& b);

 private:
  std::string text_;
  std::vector<Level> levels_;
};

// A valid variable name: [A-Za-z0-9_]+.
bool valid_var_name(std::string_view name);

}  // namespace sb::transport::mqtt
