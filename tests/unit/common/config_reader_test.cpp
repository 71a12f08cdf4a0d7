#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/config_reader.hpp"

using sb::ConfigProblems;
using sb::ConfigReader;

namespace {

// A parsed document plus the problems list, for one test.
struct Doc {
  explicit Doc(std::string_view text) : problems("test.toml"), root(toml::parse(text, std::string_view("test.toml"))) {}
  ConfigProblems problems;
  toml::table root;
  const toml::table& table(std::string_view name) { return *root.get_as<toml::table>(name); }
  std::string first() const { return problems.all().empty() ? "" : problems.all().front().str(); }
};

// A file in the temp dir, removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& content) {
    path = (std::filesystem::temp_directory_path() / ("sb_cfgreader_" + std::to_string(::getpid()) + "_" +
                                                      std::to_string(counter++)))
               .string();
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("ConfigProblem::str formats FILE:LINE:COL, or FILE: without a position") {
  sb::ConfigProblem p{"a.toml", 3, 7, "bad"};
  CHECK(p.str() == "a.toml:3:7: bad");
  p.line = 0;
  CHECK(p.str() == "a.toml: bad");
}

TEST_CASE("typed getters return values, and defaults when absent") {
  Doc d("[t]\ns = \"hello\"\ni = 42\nb = true\nl = [\"x\", \"y\"]\n");
  ConfigReader r(d.table("t"), "[t]", d.problems);
  CHECK(r.get_string("s") == "hello");
  CHECK(r.get_int("i", 0) == 42);
  CHECK(r.get_bool("b", false) == true);
  CHECK(r.get_strings("l") == std::vector<std::string>{"x", "y"});
  CHECK(r.get_string("absent", "def") == "def");
  CHECK(r.get_int("absent_i", 7) == 7);
  CHECK(r.get_bool("absent_b", true) == true);
  CHECK(r.get_strings("absent_l").empty());
  CHECK(r.get_table("absent_t") == nullptr);
  CHECK(r.get_tables("absent_ts").empty());
  r.finish();
  CHECK(d.problems.empty());
}

TEST_CASE("a wrong type says what was expected, at the value, and yields the default") {
  Doc d("[xmpp]\nport = \"5347\"\nhost = 12\n");
  ConfigReader r(d.table("xmpp"), "[xmpp]", d.problems);
  CHECK(r.get_int("port", 5347) == 5347);
  CHECK(r.get_string("host", "h") == "h");
  r.finish();
  REQUIRE(d.problems.all().size() == 2);
  CHECK(d.problems.all()[0].str() == "test.toml:2:8: [xmpp] port: expected an integer, got string");
  CHECK(d.problems.all()[1].str() == "test.toml:3:8: [xmpp] host: expected a string, got integer");
}

TEST_CASE("an integer out of range names the range") {
  Doc d("[xmpp]\nport = 70000\nlow = -1\nhigh = 11\n");
  ConfigReader r(d.table("xmpp"), "[xmpp]", d.problems);
  CHECK(r.get_int("port", 5347, 1, 65535) == 5347);
  CHECK(r.get_int("low", 5, 0) == 5);
  CHECK(r.get_int("high", 5, INT64_MIN, 10) == 5);
  REQUIRE(d.problems.all().size() == 3);
  CHECK(d.problems.all()[0].str() == "test.toml:2:8: [xmpp] port: 70000 is out of range: must be between 1 and 65535");
  CHECK(d.problems.all()[1].text == "[xmpp] low: -1 is out of range: must be at least 0");
  CHECK(d.problems.all()[2].text == "[xmpp] high: 11 is out of range: must be at most 10");
}

TEST_CASE("array of strings: a non-string element is reported at that element") {
  Doc d("[t]\nallow = [\"a\", 3, \"b\"]\nnot_array = \"x\"\n");
  ConfigReader r(d.table("t"), "[t]", d.problems);
  CHECK(r.get_strings("allow") == std::vector<std::string>{"a", "b"});
  CHECK(r.get_strings("not_array").empty());
  REQUIRE(d.problems.all().size() == 2);
  CHECK(d.problems.all()[0].str() == "test.toml:2:15: [t] allow[1]: expected a string, got integer");
  CHECK(d.problems.all()[1].str() == "test.toml:3:13: [t] not_array: expected an array of strings, got string");
}

TEST_CASE("require_string: missing is reported at the table, empty at the value") {
  Doc d("x = 1\n[t]\nempty = \"\"\n");
  ConfigReader r(d.table("t"), "[t]", d.problems);
  CHECK(r.require_string("domain").empty());
  CHECK(r.require_string("empty").empty());
  REQUIRE(d.problems.all().size() == 2);
  CHECK(d.problems.all()[0].str() == "test.toml:2:1: [t]: missing required key 'domain'");
  CHECK(d.problems.all()[1].str() == "test.toml:3:9: [t] empty: must not be empty");
}

TEST_CASE("finish reports every key not asked for, in file order, with a suggestion") {
  Doc d("[xmpp]\nhost = \"h\"\nzzz = 1\n  prot = 5347\n");
  ConfigReader r(d.table("xmpp"), "[xmpp]", d.problems);
  r.get_string("host");
  r.get_int("port", 5347);
  r.finish();
  REQUIRE(d.problems.all().size() == 2);
  CHECK(d.problems.all()[0].str() == "test.toml:3:1: unknown key 'zzz' in [xmpp]");
  CHECK(d.problems.all()[1].str() == "test.toml:4:3: unknown key 'prot' in [xmpp]; did you mean 'port'?");
}

TEST_CASE("mark() makes a key known without reading it") {
  Doc d("[t]\nextra = 1\n");
  ConfigReader r(d.table("t"), "[t]", d.problems);
  r.mark("extra");
  r.finish();
  CHECK(d.problems.empty());
}

TEST_CASE("edit distance and suggestions") {
  CHECK(sb::edit_distance("port", "prot") == 2);
  CHECK(sb::edit_distance("", "abc") == 3);
  CHECK(sb::edit_distance("secret", "secret") == 0);
  std::set<std::string, std::less<>> known{"port", "host", "max_queue"};
  CHECK(sb::did_you_mean("hots", known) == "host");
  CHECK(sb::did_you_mean("max_queu", known) == "max_queue");
  CHECK(sb::did_you_mean("completely_else", known) == "");
}

TEST_CASE("secret inline") {
  Doc d("[b]\nsecret = \"s3cret\"\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  CHECK(r.get_secret("secret", true) == "s3cret");
  r.finish();
  CHECK(d.problems.empty());
}

TEST_CASE("secret_file: first line, trimmed; secret_file is a known key") {
  TempFile f("  tok3n \r\nsecond line ignored\n");
  Doc d("[b]\ntoken_file = \"" + f.path + "\"\n");
  ConfigReader r(d.table("b"), "[[sms]] #1", d.problems);
  CHECK(r.get_secret("token", true) == "tok3n");
  r.finish();
  CHECK(d.problems.empty());
}

TEST_CASE("secret: both given is a problem at the _file key") {
  Doc d("[b]\nsecret = \"x\"\nsecret_file = \"/nonexistent\"\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  r.get_secret("secret", true);
  r.finish();
  REQUIRE(d.problems.all().size() == 1);
  CHECK(d.first() == "test.toml:3:1: [[mqtt]] #1 secret_file: give either 'secret' or 'secret_file', not both");
}

TEST_CASE("secret: missing when required, fine when optional") {
  Doc d("[b]\nother = 1\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  CHECK(r.get_secret("password", false).empty());
  CHECK(d.problems.empty());
  r.get_secret("secret", true);
  REQUIRE(d.problems.all().size() == 1);
  CHECK(d.first() == "test.toml:1:1: [[mqtt]] #1: missing required key 'secret' (or 'secret_file')");
}

TEST_CASE("secret_file unreadable: names the path, at the value") {
  Doc d("[b]\nsecret_file = \"/nonexistent/dir/secret\"\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  CHECK(r.get_secret("secret", true).empty());
  REQUIRE(d.problems.all().size() == 1);
  CHECK(d.first() ==
        "test.toml:2:15: [[mqtt]] #1 secret_file: cannot read '/nonexistent/dir/secret': No such file or directory");
}

TEST_CASE("secret_file that is a directory") {
  Doc d("[b]\nsecret_file = \"/tmp\"\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  r.get_secret("secret", true);
  CHECK(d.first() == "test.toml:2:15: [[mqtt]] #1 secret_file: cannot read '/tmp': it is a directory");
}

TEST_CASE("secret_file empty: a problem that names the path") {
  TempFile f("\n");
  Doc d("[b]\nsecret_file = \"" + f.path + "\"\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  r.get_secret("secret", true);
  REQUIRE(d.problems.all().size() == 1);
  CHECK(d.problems.all()[0].text.find(f.path) != std::string::npos);
  CHECK(d.problems.all()[0].text.find("empty") != std::string::npos);
}

TEST_CASE("secret of the wrong type does not echo the value") {
  Doc d("[b]\nsecret = 123456\n");
  ConfigReader r(d.table("b"), "[[mqtt]] #1", d.problems);
  r.get_secret("secret", true);
  REQUIRE(d.problems.all().size() == 1);
  CHECK(d.first() == "test.toml:2:10: [[mqtt]] #1 secret: expected a string, got integer");
}

TEST_CASE("sub-tables and arrays of tables") {
  Doc d("[[irc]]\ndomain = \"x\"\n  [irc.servers.a]\n  port = 1\n  [[irc.chan]]\n  n = 1\n  [[irc.chan]]\n  n = 2\n");
  const auto& block = *d.root.get_as<toml::array>("irc")->get(0)->as_table();
  ConfigReader r(block, "[[irc]] #1", d.problems);
  r.mark("domain");
  const toml::table* servers = r.get_table("servers");
  REQUIRE(servers);
  CHECK(servers->contains("a"));
  auto chans = r.get_tables("chan");
  REQUIRE(chans.size() == 2);
  CHECK(chans[1]->get("n")->value<int64_t>() == 2);
  r.finish();
  CHECK(d.problems.empty());
}

TEST_CASE("problem() prefixes path and key; sort puts whole-file problems last") {
  Doc d("[t]\na = 1\nb = 2\n");
  ConfigReader r(d.table("t"), "[t]", d.problems);
  d.problems.add(0, 0, "summary");
  r.problem("b", "custom b");
  r.problem("a", "custom a");
  d.problems.sort();
  REQUIRE(d.problems.all().size() == 3);
  CHECK(d.problems.all()[0].str() == "test.toml:2:1: [t] a: custom a");
  CHECK(d.problems.all()[1].str() == "test.toml:3:1: [t] b: custom b");
  CHECK(d.problems.all()[2].str() == "test.toml: summary");
}
