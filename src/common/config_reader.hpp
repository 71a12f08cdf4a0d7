// Reading a TOML table with every problem reported as FILE:LINE:COL: text (SPEC §1-2).
//
// A ConfigReader wraps one table; get()/require() mark keys as known and record
// type errors; finish() reports every key nobody asked for as unknown. Problems
// are collected (never thrown), so all of them are printed at once.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <set>
#include <toml++/toml.h>

namespace sb {

struct ConfigProblem {
  std::string file;
  int line = 0, column = 0;
  std::string text;
  std::string str() const;  // "FILE:LINE:COL: text"
};

class ConfigProblems {
 public:
  explicit ConfigProblems(std::string file) : file_(std::move(file)) {}
  void add(const toml::source_region& where, std::string text);
  void add(int line, int column, std::string text);
  const std::vector<ConfigProblem>& all() const { return problems_; }
  bool empty() const { return problems_.empty(); }
  // Orders problems by position; whole-file problems (line 0) last.
  void sort();
  const std::string& file() const { return file_; }
 private:
  std::string file_;
  std::vector<ConfigProblem> problems_;
};

// Levenshtein distance, and the closest candidate within distance 2 ("" if none),
// for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string did_you_mean(std::string_view word, const std::set<std::string, std::less<>>& candidates);

class ConfigReader {
 public:
  // `path` names the table in messages ("[xmpp]", "[[mqtt]] #1").
  ConfigReader(const toml::table& table, std::string path, ConfigProblems& problems);

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  ConfigProblems& problems() { return problems_; }

  // Optional scalar; a wrong type is a problem and yields the default.
  std::string get_string(std::string_view key, std::string def = {});
  std::int64_t get_int(std::string_view key, std::int64_t def, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  bool get_bool(std::string_view key, bool def);
  std::vector<std::string> get_strings(std::string_view key);  // array of strings
  // Required string: missing is a problem (reported at the table).
  std::string require_string(std::string_view key);
  // A secret: `key` inline or `key_file` (the file's first line, trimmed) — exactly one.
  std::string get_secret(std::string_view key, bool required);
  // Sub-table / array of tables (marked known); nullptr/empty when absent.
  const toml::table* get_table(std::string_view key);
  std::vector<const toml::table*> get_tables(std::string_view key);
  bool has(std::string_view key) const { return table_.contains(key); }
  void mark(std::string_view key) { known_.insert(std::string(key)); }
  // Where a key (or the table, for an empty/absent key) is, for problems the caller finds itself.
  toml::source_region where(std::string_view key) const;
  // Adds "PATH KEY: text" at the key (or "PATH: text" at the table when key is empty).
  void problem(std::string_view key, std::string text);
  // Reports keys not asked for: "unknown key 'prot' in [xmpp]; did you mean 'port'?".
  void finish();

 private:
  void value_problem(std::string_view key, const toml::node& value, std::string text);
  void type_problem(std::string_view key, const toml::node& value, const char* expected);

  const toml::table& table_;
  std::string path_;
  ConfigProblems& problems_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace sb
