// The [[irc]] block's keys (SPEC §2, §7): defaults, servers, secrets, ranges, and
// problems with their FILE:LINE:COL.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "transports/irc/irc_config.hpp"

using namespace sb::transport::irc;

namespace {

// Parses `text` and reads its first [[irc]] block as the app does (common keys known).
struct Parsed {
  explicit Parsed(std::string_view text) : problems("t.toml"), root(toml::parse(text, std::string_view("t.toml"))) {
    const toml::table* block = root["irc"][0].as_table();
    REQUIRE(block);
    sb::ConfigReader r(*block, "[[irc]] #1", problems);
    for (auto k : {"domain", "secret", "secret_file", "allow"}) r.mark(k);
    config = read_irc_config(r);
    problems.sort();  // as the app prints them: in file order
  }
  std::vector<std::string> all() const {
    std::vector<std::string> v;
    for (auto& p : problems.all()) v.push_back(p.str());
    return v;
  }
  std::string only() const {
    INFO(problems.all().size() << " problems: " << (problems.all().empty() ? "" : problems.all().back().str()));
    CHECK(problems.all().size() == 1);
    return problems.all().empty() ? "" : problems.all().front().str();
  }
  sb::ConfigProblems problems;
  toml::table root;
  IrcConfig config;
};

const char* kHead = R"([[irc]]
domain = "irc.example.org"
secret = "s"
)";

// kHead (3 lines) + `rest`; so `rest`'s first line is line 4.
Parsed with(std::string_view rest) { return Parsed(std::string(kHead) + std::string(rest)); }

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

struct TempFile {
  explicit TempFile(const std::string& content) {
    path = (std::filesystem::temp_directory_path() / ("irc_cfg_" + std::to_string(::getpid()) + "_" +
                                                      std::to_string(reinterpret_cast<std::uintptr_t>(this))))
               .string();
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("irc config: the SPEC §2 example block") {
  Parsed p(R"([[irc]]
domain = "irc.example.org"
secret = "s3cret"
allow  = ["*@example.org"]
  [irc.servers."irc.libera.chat"]
  port = 6697
  tls  = true
)");
  CHECK(p.all().empty());
  REQUIRE(p.config.servers.size() == 1);
  const ServerConfig& s = p.config.servers.at("irc.libera.chat");
  CHECK(s.name == "irc.libera.chat");
  CHECK(s.host == "irc.libera.chat");
  CHECK(s.port == 6697);
  CHECK(s.tls);
  CHECK(s.verify);
  CHECK(s.password.empty());
  CHECK(s.flood.burst == 5);
  CHECK(s.flood.per_second == doctest::Approx(2.0));
  CHECK(p.config.fixed_server.empty());
  CHECK_FALSE(p.config.other_servers);
  CHECK(p.config.realname == "switchboard user");
  CHECK(p.config.grace_seconds == 30);
  CHECK(p.config.reconnect_max_seconds == 60);
}

TEST_CASE("irc config: every key") {
  TempFile pw("hunter2\n");
  auto p = with(R"(fixed_server = "Local"
other_servers = true
realname = "bridge"
grace_seconds = 0
flood_burst = 3
flood_per_second = 0.5
reconnect_max_seconds = 300
  [irc.servers."local"]
  host = "127.0.0.1"
  tls = false
  password_file = ")" + pw.path + R"("
  flood_per_second = 0
  [irc.servers."irc.oftc.net"]
  host = "[::1]"
  verify = false
  password = "inline"
  flood_burst = 10
)");
  CHECK(p.all().empty());
  CHECK(p.config.fixed_server == "local");
  CHECK(p.config.other_servers);
  CHECK(p.config.realname == "bridge");
  CHECK(p.config.grace_seconds == 0);
  CHECK(p.config.reconnect_max_seconds == 300);
  CHECK(p.config.flood.burst == 3);
  CHECK(p.config.flood.per_second == doctest::Approx(0.5));
  const auto& local = p.config.servers.at("local");
  CHECK(local.host == "127.0.0.1");
  CHECK(local.port == 6667);  // the plain-text default
  CHECK_FALSE(local.tls);
  CHECK(local.password == "hunter2");
  CHECK(local.flood.burst == 3);  // from the block
  CHECK_FALSE(local.flood.enabled());
  const auto& oftc = p.config.servers.at("irc.oftc.net");
  CHECK(oftc.host == "::1");  // brackets dropped for the resolver
  CHECK(oftc.port == 6697);
  CHECK_FALSE(oftc.verify);
  CHECK(oftc.password == "inline");
  CHECK(oftc.flood.burst == 10);
  CHECK(oftc.flood.per_second == doctest::Approx(0.5));
}

TEST_CASE("irc config: server() looks names up case-insensitively; unlisted only with other_servers") {
  auto p = with(R"(  [irc.servers."Irc.Example.NET"]
  port = 7000
)");
  CHECK(p.all().empty());
  auto s = p.config.server("IRC.example.net");
  REQUIRE(s);
  CHECK(s->port == 7000);
  CHECK(s->name == "irc.example.net");
  CHECK(s->host == "Irc.Example.NET");  // the table's name as written: where to connect
  CHECK_FALSE(p.config.server("irc.libera.chat"));

  p.config.other_servers = true;
  auto other = p.config.server("Irc.Libera.Chat");
  REQUIRE(other);
  CHECK(other->host == "irc.libera.chat");
  CHECK(other->port == 6697);
  CHECK(other->tls);
  CHECK(other->verify);
  CHECK(other->password.empty());
  CHECK_FALSE(p.config.server(""));
  CHECK_FALSE(p.config.server("bad name"));
}

TEST_CASE("irc config: unknown keys are errors with line numbers, in the block and in a server") {
  auto p = with(R"(flood_brust = 2
  [irc.servers."a.example"]
  prot = 6667
)");
  auto all = p.all();
  REQUIRE(all.size() == 2);
  CHECK(all[0] == "t.toml:4:1: unknown key 'flood_brust' in [[irc]] #1; did you mean 'flood_burst'?");
  CHECK(all[1] == "t.toml:6:3: unknown key 'prot' in [[irc]] #1 servers.\"a.example\"; did you mean 'port'?");
}

TEST_CASE("irc config: ranges") {
  CHECK(contains(with("  [irc.servers.a]\n  port = 0\n").only(), "t.toml:5:10: [[irc]] #1 servers.\"a\" port: 0 is out of range"));
  CHECK(contains(with("  [irc.servers.a]\n  port = 65536\n").only(), "port: 65536 is out of range"));
  CHECK(contains(with("flood_burst = 0\nother_servers = true\n").only(), "t.toml:4:15: [[irc]] #1 flood_burst: 0 is out of range"));
  CHECK(contains(with("flood_per_second = -1\nother_servers = true\n").only(), "t.toml:4:20: [[irc]] #1 flood_per_second: out of range"));
  CHECK(contains(with("flood_per_second = \"fast\"\nother_servers = true\n").only(), "flood_per_second: expected a number"));
  CHECK(contains(with("grace_seconds = -5\nother_servers = true\n").only(), "grace_seconds: -5 is out of range"));
  CHECK(contains(with("reconnect_max_seconds = 0\nother_servers = true\n").only(), "reconnect_max_seconds: 0 is out of range"));
  CHECK(contains(with("  [irc.servers.a]\n  flood_burst = 0\n").only(), "servers.\"a\" flood_burst: 0 is out of range"));
  // An integer rate is fine.
  auto p = with("flood_per_second = 3\nother_servers = true\n");
  CHECK(p.all().empty());
  CHECK(p.config.flood.per_second == doctest::Approx(3.0));
}

TEST_CASE("irc config: fixed_server must be a listed server") {
  auto p = with(R"(fixed_server = "irc.libera.chat"
  [irc.servers."irc.oftc.net"]
)");
  auto only = p.only();
  CHECK(contains(only, "t.toml:4:16: [[irc]] #1 fixed_server: 'irc.libera.chat' is not a listed server"));
}

TEST_CASE("irc config: secrets: password_file read, missing file reported, both given refused") {
  TempFile pw("  s3cret  \nsecond line\n");
  auto p = with("  [irc.servers.a]\n  password_file = \"" + pw.path + "\"\n");
  CHECK(p.all().empty());
  CHECK(p.config.servers.at("a").password == "s3cret");

  auto missing = with("  [irc.servers.a]\n  password_file = \"/nonexistent/irc.pw\"\n");
  CHECK(contains(missing.only(), "t.toml:5:19: [[irc]] #1 servers.\"a\" password_file: cannot read '/nonexistent/irc.pw'"));

  auto both = with("  [irc.servers.a]\n  password = \"x\"\n  password_file = \"" + pw.path + "\"\n");
  CHECK(contains(both.only(), "give either 'password' or 'password_file', not both"));
}

TEST_CASE("irc config: ca_file must be readable and needs TLS") {
  CHECK(contains(with("  [irc.servers.a]\n  ca_file = \"/nonexistent/ca.pem\"\n").only(), "ca_file: cannot read '/nonexistent/ca.pem'"));
  TempFile ca("-----BEGIN CERTIFICATE-----\n");
  CHECK(contains(with("  [irc.servers.a]\n  tls = false\n  ca_file = \"" + ca.path + "\"\n").only(), "ca_file: only applies with tls = true"));
  auto ok = with("  [irc.servers.a]\n  ca_file = \"" + ca.path + "\"\n");
  CHECK(ok.all().empty());
  CHECK(ok.config.servers.at("a").ca_file == ca.path);
}

TEST_CASE("irc config: wrong types are reported, not guessed") {
  CHECK(contains(with("  [irc.servers.a]\n  tls = \"yes\"\n").only(), "tls: expected a boolean"));
  CHECK(contains(with("  [irc.servers.a]\n  port = \"6697\"\n").only(), "port: expected an integer"));
  CHECK(contains(with("servers = 3\nother_servers = true\n").only(), "servers: expected a table"));
  CHECK(contains(with("other_servers = true\n  [irc.servers]\n  a = 1\n").only(), "servers.\"a\": must be a table"));
}

TEST_CASE("irc config: server names that cannot be part of an address, and duplicates") {
  CHECK(contains(with("other_servers = true\n  [irc.servers.\"irc@x\"]\n").only(),
                 "t.toml:5:16: [[irc]] #1 servers.\"irc@x\": 'irc@x' cannot be part of an address"));
  auto dup = with("  [irc.servers.\"Libera\"]\n  [irc.servers.\"libera\"]\n");
  CHECK(contains(dup.only(), "t.toml:5:16: [[irc]] #1 servers.\"libera\": the same server as \"libera\""));
}

TEST_CASE("irc config: a block that can reach no server is a problem") {
  auto p = with("");
  CHECK(contains(p.only(), "t.toml:1:1: [[irc]] #1: no server can be reached"));
  CHECK(with("other_servers = true\n").all().empty());
}

TEST_CASE("irc config: realname must be one line") {
  CHECK(contains(with("realname = \"a\\nb\"\nother_servers = true\n").only(), "realname: must be one line"));
}
