#include "common/config_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

namespace sb {
namespace {

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "floating-point number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string ConfigProblem::str() const {
  // A problem with the file as a whole (unreadable, no blocks) has no position.
  if (line == 0) return file + ": " + text;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + text;
}

void ConfigProblems::add(const toml::source_region& where, std::string text) {
  add(static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), std::move(text));
}

void ConfigProblems::add(int line, int column, std::string text) {
  problems_.push_back(ConfigProblem{file_, line, column, std::move(text)});
}

void ConfigProblems::sort() {
  // File order reads best; whole-file problems (line 0) come last, as a summary.
  std::stable_sort(problems_.begin(), problems_.end(), [](const ConfigProblem& a, const ConfigProblem& b) {
    auto key = [](const ConfigProblem& p) { return std::tuple(p.line == 0, p.line, p.column); };
    return key(a) < key(b);
  });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Levenshtein, two rows; keys are short.
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view word, const std::set<std::string, std::less<>>& candidates) {
  std::string best;
  std::size_t best_d = 3;  // suggest only within distance 2
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    // Do not "correct" a one-letter key into any other short key.
    if (d < best_d && d < std::max(word.size(), c.size())) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

ConfigReader::ConfigReader(const toml::table& table, std::string path, ConfigProblems& problems)
    : table_(table), path_(std::move(path)), problems_(problems) {}

toml::source_region ConfigReader::where(std::string_view key) const {
  if (auto it = table_.find(key); it != table_.end()) return it->first.source();
  return table_.source();
}

void ConfigReader::problem(std::string_view key, std::string text) {
  std::string prefix = path_;
  if (!key.empty()) prefix.append(" ").append(key);  // not " " + string: GCC 12 -O2 -Wrestrict false positive
  problems_.add(where(key), prefix + ": " + text);
}

void ConfigReader::value_problem(std::string_view key, const toml::node& value, std::string text) {
  problems_.add(value.source(), path_ + " " + std::string(key) + ": " + text);
}

void ConfigReader::type_problem(std::string_view key, const toml::node& value, const char* expected) {
  value_problem(key, value, std::string("expected ") + expected + ", got " + type_name(value.type()));
}

std::string ConfigReader::get_string(std::string_view key, std::string def) {
  mark(key);
  const toml::node* n = table_.get(key);
  if (!n) return def;
  if (auto s = n->as_string()) return s->get();
  type_problem(key, *n, "a string");
  return def;
}

std::int64_t ConfigReader::get_int(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max) {
  mark(key);
  const toml::node* n = table_.get(key);
  if (!n) return def;
  auto i = n->as_integer();
  if (!i) {
    type_problem(key, *n, "an integer");
    return def;
  }
  std::int64_t v = i->get();
  if (v < min || v > max) {
    std::string range;
    if (max == INT64_MAX) range = "must be at least " + std::to_string(min);
    else if (min == INT64_MIN) range = "must be at most " + std::to_string(max);
    else range = "must be between " + std::to_string(min) + " and " + std::to_string(max);
    value_problem(key, *n, std::to_string(v) + " is out of range: " + range);
    return def;
  }
  return v;
}

bool ConfigReader::get_bool(std::string_view key, bool def) {
  mark(key);
  const toml::node* n = table_.get(key);
  if (!n) return def;
  if (auto b = n->as_boolean()) return b->get();
  type_problem(key, *n, "a boolean (true or false)");
  return def;
}

std::vector<std::string> ConfigReader::get_strings(std::string_view key) {
  mark(key);
  std::vector<std::string> out;
  const toml::node* n = table_.get(key);
  if (!n) return out;
  auto arr = n->as_array();
  if (!arr) {
    type_problem(key, *n, "an array of strings");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    if (auto s = e.as_string()) {
      out.push_back(s->get());
    } else {
      type_problem(std::string(key) + "[" + std::to_string(i) + "]", e, "a string");
    }
  }
  return out;
}

std::string ConfigReader::require_string(std::string_view key) {
  mark(key);
  const toml::node* n = table_.get(key);
  if (!n) {
    problem({}, "missing required key '" + std::string(key) + "'");
    return {};
  }
  auto s = n->as_string();
  if (!s) {
    type_problem(key, *n, "a string");
    return {};
  }
  if (s->get().empty()) value_problem(key, *n, "must not be empty");
  return s->get();
}

std::string ConfigReader::get_secret(std::string_view key, bool required) {
  const std::string file_key = std::string(key) + "_file";
  mark(key);
  mark(file_key);
  const toml::node* inline_node = table_.get(key);
  const toml::node* file_node = table_.get(file_key);
  if (inline_node && file_node) {
    problem(file_key, "give either '" + std::string(key) + "' or '" + file_key + "', not both");
    return {};
  }
  if (!inline_node && !file_node) {
    if (required) problem({}, "missing required key '" + std::string(key) + "' (or '" + file_key + "')");
    return {};
  }
  if (inline_node) {
    auto s = inline_node->as_string();
    if (!s) {
      // Say the type only: the value itself may be the secret.
      type_problem(key, *inline_node, "a string");
      return {};
    }
    if (s->get().empty()) value_problem(key, *inline_node, "must not be empty");
    return s->get();
  }
  auto p = file_node->as_string();
  if (!p) {
    type_problem(file_key, *file_node, "a string (a file path)");
    return {};
  }
  const std::string& path = p->get();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    value_problem(file_key, *file_node, "cannot read '" + path + "': it is a directory");
    return {};
  }
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    value_problem(file_key, *file_node, "cannot read '" + path + "': " + std::strerror(err));
    return {};
  }
  std::string line;
  std::getline(in, line);
  line = trim(std::move(line));
  if (line.empty()) {
    // Never echo the file's content: only its path.
    value_problem(file_key, *file_node, "'" + path + "' is empty (the secret is its first line)");
  }
  return line;
}

const toml::table* ConfigReader::get_table(std::string_view key) {
  mark(key);
  const toml::node* n = table_.get(key);
  if (!n) return nullptr;
  if (auto t = n->as_table()) return t;
  type_problem(key, *n, "a table");
  return nullptr;
}

std::vector<const toml::table*> ConfigReader::get_tables(std::string_view key) {
  mark(key);
  std::vector<const toml::table*> out;
  const toml::node* n = table_.get(key);
  if (!n) return out;
  auto arr = n->as_array();
  if (!arr) {
    type_problem(key, *n, "an array of tables ([[...]] blocks)");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    if (auto t = e.as_table()) out.push_back(t);
    else type_problem(std::string(key) + "[" + std::to_string(i) + "]", e, "a table");
  }
  return out;
}

void ConfigReader::finish() {
  // SPEC §2: unknown keys are errors, not ignored. Reported in file order.
  std::vector<const toml::key*> unknown;
  for (const auto& [k, v] : table_) {
    if (!known_.count(k.str())) unknown.push_back(&k);
  }
  std::sort(unknown.begin(), unknown.end(), [](const toml::key* a, const toml::key* b) {
    return std::pair(a->source().begin.line, a->source().begin.column) <
           std::pair(b->source().begin.line, b->source().begin.column);
  });
  for (const toml::key* k : unknown) {
    std::string text = "unknown key '" + std::string(k->str()) + "' in " + path_;
    if (auto s = did_you_mean(k->str(), known_); !s.empty()) text += "; did you mean '" + s + "'?";
    problems_.add(k->source(), std::move(text));
  }
}

}  // namespace sb
