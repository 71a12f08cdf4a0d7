#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "app/cli.hpp"
#include "app/config.hpp"

// Show problem lists in failure messages.
namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string s = "{";
    for (const auto& e : v) s += "\n  \"" + e + "\"";
    return (s + "}").c_str();
  }
};
}  // namespace doctest

using sb::ConfigProblems;
using sb::app::Config;

namespace {

const std::vector<std::string> kKinds = {"mqtt", "irc", "sms", "loopback"};

struct Parsed {
  ConfigProblems problems{"sb.toml"};
  Config cfg;
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& p : problems.all()) out.push_back(p.str());
    return out;
  }
};

Parsed parse(std::string_view text, const std::vector<std::string>& kinds = kKinds) {
  Parsed p;
  p.cfg = sb::app::parse_config(text, "sb.toml", kinds, p.problems);
  return p;
}

std::string temp_path(const std::string& tag) {
  static int n = 0;
  return (std::filesystem::temp_directory_path() /
          ("sb_config_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++)))
      .string();
}

const char* kMinimal = "[[loopback]]\ndomain = \"echo.localhost\"\nsecret = \"secret\"\n";

}  // namespace

TEST_CASE("a minimal config gets every default") {
  auto p = parse(kMinimal);
  REQUIRE(p.lines().empty());
  const Config& c = p.cfg;
  CHECK(c.xmpp.host == "127.0.0.1");
  CHECK(c.xmpp.port == 5347);
  CHECK(c.xmpp.max_stanza_bytes == 512 * 1024);
  CHECK(c.xmpp.keepalive_seconds == 60);
  CHECK(c.xmpp.ping_timeout_seconds == 30);
  CHECK(c.xmpp.server_domain.empty());
  CHECK(c.xmpp.max_queue == 100000);
  CHECK(c.storage.path == "var/switchboard.sqlite");
  CHECK(c.http.listen == "127.0.0.1:8080");
  CHECK(c.log.level == "info");
  CHECK(c.admins.empty());
  REQUIRE(c.components.size() == 1);
  CHECK(c.components[0].kind == "loopback");
  CHECK(c.components[0].domain == "echo.localhost");
  CHECK(c.components[0].secret == "secret");
  CHECK(c.components[0].allow.empty());
  CHECK(c.components[0].line == 1);
}

TEST_CASE("a full config is read into typed values") {
  auto p = parse(R"([xmpp]
host = "::1"
port = 15347
max_stanza_bytes = 2048
keepalive_seconds = 10
ping_timeout_seconds = 5
server_domain = "example.org"
max_queue = 50

[storage]
path = "/tmp/x.sqlite"

[http]
listen = "[::1]:9090"

[log]
level = "debug"

[admins]
jids = ["Admin@Example.org", "root@localhost"]

[[mqtt]]
domain = "mqtt.example.org"
secret = "s1"
allow = ["*@example.org"]
broker = "tcp://127.0.0.1:1883"
  [[mqtt.device]]
  jid = "{id}"

[[mqtt]]
domain = "mqtt2.example.org"
secret = "s2"
)");
  REQUIRE(p.lines().empty());
  const Config& c = p.cfg;
  CHECK(c.xmpp.host == "::1");
  CHECK(c.xmpp.port == 15347);
  CHECK(c.xmpp.max_stanza_bytes == 2048);
  CHECK(c.xmpp.keepalive_seconds == 10);
  CHECK(c.xmpp.ping_timeout_seconds == 5);
  CHECK(c.xmpp.server_domain == "example.org");
  CHECK(c.xmpp.max_queue == 50);
  CHECK(c.storage.path == "/tmp/x.sqlite");
  CHECK(c.http.listen == "[::1]:9090");
  CHECK(c.log.level == "debug");
  CHECK(c.admins == std::vector<std::string>{"admin@example.org", "root@localhost"});
  REQUIRE(c.components.size() == 2);
  CHECK(c.components[0].domain == "mqtt.example.org");
  CHECK(c.components[0].allow == std::vector<std::string>{"*@example.org"});
  CHECK(c.components[0].line == 22);
  CHECK(c.components[1].secret == "s2");
  CHECK(c.components[1].index == 2);
}

TEST_CASE("the transport factory reads its own keys from the block, with positions") {
  auto p = parse(R"([[mqtt]]
domain = "mqtt.example.org"
secret = "s1"
broker = "tcp://127.0.0.1:1883"
clientid = "x"
)");
  REQUIRE(p.lines().empty());
  const auto& comp = p.cfg.components.at(0);
  REQUIRE(comp.block);
  auto r = sb::app::component_reader(comp, p.problems);
  CHECK(r.get_string("broker") == "tcp://127.0.0.1:1883");
  r.get_string("client_id");
  r.finish();
  // domain/secret were marked known by the app; only the typo is left.
  CHECK(p.lines() ==
        std::vector<std::string>{"sb.toml:5:1: unknown key 'clientid' in [[mqtt]] #1; did you mean 'client_id'?"});
}

TEST_CASE("the block outlives the Config value that produced it") {
  std::shared_ptr<toml::table> block;
  {
    auto p = parse(kMinimal);
    block = p.cfg.components.at(0).block;
  }
  CHECK(block->get("domain")->value<std::string>() == "echo.localhost");
}

TEST_CASE("unknown key in a section, with suggestion, at its position") {
  auto p = parse(std::string("[xmpp]\nhost = \"h\"\nprot = 5347\n") + kMinimal);
  CHECK(p.lines() == std::vector<std::string>{"sb.toml:3:1: unknown key 'prot' in [xmpp]; did you mean 'port'?"});
}

TEST_CASE("wrong type and out-of-range values") {
  auto p = parse(std::string("[xmpp]\nport = \"5347\"\nmax_stanza_bytes = 100\n[http]\nlisten = \"nohostport\"\n") +
                 kMinimal);
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:2:8: [xmpp] port: expected an integer, got string",
                         "sb.toml:3:20: [xmpp] max_stanza_bytes: 100 is out of range: must be between 1024 and 67108864",
                         "sb.toml:5:1: [http] listen: 'nohostport' is not HOST:PORT or [IPV6]:PORT (port 1..65535), or "
                         "\"\" to disable",
                     });
  auto q = parse(std::string("[xmpp]\nport = 0\n") + kMinimal);
  CHECK(q.lines() == std::vector<std::string>{"sb.toml:2:8: [xmpp] port: 0 is out of range: must be between 1 and 65535"});
}

TEST_CASE("http listen forms") {
  using sb::app::parse_listen;
  auto a = parse_listen("127.0.0.1:8080");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8080);
  auto b = parse_listen("[::1]:80");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == 80);
  CHECK(parse_listen("localhost:1"));
  CHECK_FALSE(parse_listen("::1:80"));          // IPv6 needs brackets
  CHECK_FALSE(parse_listen("[127.0.0.1]:80"));  // brackets are for IPv6
  CHECK_FALSE(parse_listen("host:"));
  CHECK_FALSE(parse_listen(":80"));
  CHECK_FALSE(parse_listen("host:65536"));
  CHECK_FALSE(parse_listen("host:0"));
  CHECK_FALSE(parse_listen("host:8o"));
  CHECK_FALSE(parse_listen("[::1]80"));
  // "" disables the listener: not a problem.
  auto p = parse(std::string("[http]\nlisten = \"\"\n") + kMinimal);
  CHECK(p.lines().empty());
  CHECK(p.cfg.http.listen.empty());
}

TEST_CASE("log level must be a known name") {
  auto p = parse(std::string("[log]\nlevel = \"verbose\"\n") + kMinimal);
  CHECK(p.lines() == std::vector<std::string>{"sb.toml:2:1: [log] level: unknown level 'verbose' (expected one of "
                                              "trace, debug, info, warn, error, critical, off)"});
}

TEST_CASE("admins must be bare JIDs") {
  auto p = parse(std::string("[admins]\njids = [\"ok@example.org\", \"a@b/res\", \"example.org\", \"bad@\"]\n") +
                 kMinimal);
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:2:27: [admins] jids: 'a@b/res' is not a bare JID (user@domain)",
                         "sb.toml:2:38: [admins] jids: 'example.org' is not a bare JID (user@domain)",
                         "sb.toml:2:53: [admins] jids: 'bad@' is not a bare JID (user@domain)",
                     });
}

TEST_CASE("component blocks: missing domain, invalid domain, missing secret") {
  auto p = parse("[[loopback]]\nsecret = \"s\"\n\n[[loopback]]\ndomain = \"a b\"\nsecret = \"s\"\n\n"
                 "[[loopback]]\ndomain = \"ok.localhost\"\n");
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:1:1: [[loopback]] #1: missing required key 'domain'",
                         "sb.toml:5:1: [[loopback]] #2 domain: 'a b' is not a valid domain",
                         "sb.toml:8:1: [[loopback]] #3: missing required key 'secret' (or 'secret_file')",
                     });
}

TEST_CASE("duplicate domain across blocks is reported at the second, even across kinds") {
  auto p = parse("[[mqtt]]\ndomain = \"gw.example.org\"\nsecret = \"s\"\n"
                 "[[irc]]\ndomain = \"GW.example.org\"\nsecret = \"s\"\n");
  CHECK(p.lines() == std::vector<std::string>{"sb.toml:5:1: [[irc]] #1 domain: duplicate domain 'gw.example.org' "
                                              "(already used by [[mqtt]] #1 at line 1)"});
}

TEST_CASE("secret and secret_file both given") {
  auto p = parse("[[loopback]]\ndomain = \"echo.localhost\"\nsecret = \"s\"\nsecret_file = \"/x\"\n");
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:4:1: [[loopback]] #1 secret_file: give either 'secret' or 'secret_file', not both"});
}

TEST_CASE("secret_file is read; an unreadable one is named, the secret never printed") {
  std::string path = temp_path("secret");
  std::ofstream(path) << "from-file\n";
  auto p = parse("[[loopback]]\ndomain = \"echo.localhost\"\nsecret_file = \"" + path + "\"\n");
  CHECK(p.lines().empty());
  CHECK(p.cfg.components.at(0).secret == "from-file");
  std::remove(path.c_str());
  auto q = parse("[[loopback]]\ndomain = \"echo.localhost\"\nsecret_file = \"" + path + "\"\n");
  CHECK(q.lines() == std::vector<std::string>{"sb.toml:3:15: [[loopback]] #1 secret_file: cannot read '" + path +
                                              "': No such file or directory"});
}

TEST_CASE("TOML syntax errors are reported as FILE:LINE:COL") {
  auto p = parse("[xmpp]\nport = = 5\n");
  REQUIRE(p.problems.all().size() == 1);
  const auto& pr = p.problems.all()[0];
  CHECK(pr.file == "sb.toml");
  CHECK(pr.line == 2);
  CHECK(pr.column == 8);
  CHECK(pr.str().rfind("sb.toml:2:8: ", 0) == 0);
}

TEST_CASE("unknown sections and transports not built in") {
  auto p = parse(std::string("[xmp]\nhost = \"h\"\n[[sms]]\ndomain = \"sms.x\"\nsecret = \"s\"\n") + kMinimal,
                 {"loopback"});
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:1:2: unknown section 'xmp'; did you mean 'xmpp'?",
                         "sb.toml:3:3: transport 'sms' is not built into this switchboard",
                     });
  auto l = parse(kMinimal, {"mqtt"});
  CHECK(l.lines() == std::vector<std::string>{"sb.toml:1:3: transport 'loopback' is not built into this switchboard "
                                              "(it is the test transport: configure with -DSB_TEST_TRANSPORT=ON)"});
  auto q = parse(std::string("debug = true\n") + kMinimal);
  CHECK(q.lines() == std::vector<std::string>{"sb.toml:1:1: unknown section 'debug'"});
}

TEST_CASE("a transport written as a single table is explained") {
  auto p = parse(std::string("[mqtt]\ndomain = \"m.x\"\n") + kMinimal);
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:1:2: 'mqtt' must be written [[mqtt]]: one block per component domain"});
}

TEST_CASE("no component blocks at all") {
  auto p = parse("[xmpp]\nport = 5347\n");
  CHECK(p.lines() ==
        std::vector<std::string>{"sb.toml: no component blocks: add at least one [[mqtt]], [[irc]] or [[sms]] block"});
}

TEST_CASE("every problem is reported at once, in file order") {
  auto p = parse(R"([[loopback]]
domain = "echo.localhost"
secret = "s"
[xmpp]
port = 99999
colour = "blue"
[log]
level = "loud"
[[loopback]]
domain = "echo.localhost"
)");
  CHECK(p.lines() == std::vector<std::string>{
                         "sb.toml:5:8: [xmpp] port: 99999 is out of range: must be between 1 and 65535",
                         "sb.toml:6:1: unknown key 'colour' in [xmpp]",
                         "sb.toml:8:1: [log] level: unknown level 'loud' (expected one of trace, debug, info, warn, "
                         "error, critical, off)",
                         "sb.toml:9:1: [[loopback]] #2: missing required key 'secret' (or 'secret_file')",
                         "sb.toml:10:1: [[loopback]] #2 domain: duplicate domain 'echo.localhost' (already used by "
                         "[[loopback]] #1 at line 1)",
                     });
}

TEST_CASE("load_config: reads a file; a missing file is one problem without position") {
  std::string path = temp_path("cfg");
  std::ofstream(path) << kMinimal;
  ConfigProblems ok(path);
  auto cfg = sb::app::load_config(path, kKinds, ok);
  CHECK(ok.empty());
  CHECK(cfg.file == path);
  CHECK(cfg.components.size() == 1);
  std::remove(path.c_str());

  ConfigProblems bad(path);
  sb::app::load_config(path, kKinds, bad);
  REQUIRE(bad.all().size() == 1);
  CHECK(bad.all()[0].str() == path + ": cannot read the configuration file: No such file or directory");
}

TEST_CASE("the shipped example configs are valid") {
  for (const char* name : {"config/switchboard.example.toml", "config/switchboard.loopback.toml"}) {
    CAPTURE(name);
    // tests/unit/app/config_test.cpp -> the source tree's root.
    auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
    std::string path = (root / name).string();
    ConfigProblems problems(path);
    auto cfg = sb::app::load_config(path, kKinds, problems);
    for (const auto& pr : problems.all()) FAIL_CHECK(pr.str());
    CHECK_FALSE(cfg.components.empty());
  }
}

// ---- Command line (SPEC §1) ----

namespace {

struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    args.insert(args.begin(), "switchboard");
    for (auto& s : args) ptrs.push_back(s.data());
  }
  int argc() const { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

std::optional<sb::app::CliOptions> cli(std::vector<std::string> args, std::string& error) {
  Argv a(std::move(args));
  return sb::app::parse_cli(a.argc(), a.argv(), error);
}

}  // namespace

using sb::app::CliOptions;

TEST_CASE("cli: no arguments runs ./switchboard.toml with the config's log level") {
  std::string err;
  auto o = cli({}, err);
  REQUIRE(o);
  CHECK(o->mode == CliOptions::Run);
  CHECK(o->config == "switchboard.toml");
  CHECK(o->log_level.empty());
}

TEST_CASE("cli: --config FILE and --config=FILE") {
  std::string err;
  auto a = cli({"--config", "/etc/sb.toml"}, err);
  REQUIRE(a);
  CHECK(a->mode == CliOptions::Run);
  CHECK(a->config == "/etc/sb.toml");
  auto b = cli({"--config=/etc/other.toml"}, err);
  REQUIRE(b);
  CHECK(b->config == "/etc/other.toml");
}

TEST_CASE("cli: --check-config FILE") {
  std::string err;
  auto o = cli({"--check-config", "x.toml"}, err);
  REQUIRE(o);
  CHECK(o->mode == CliOptions::CheckConfig);
  CHECK(o->config == "x.toml");
  auto e = cli({"--check-config=y.toml"}, err);
  REQUIRE(e);
  CHECK(e->mode == CliOptions::CheckConfig);
  CHECK(e->config == "y.toml");
}

TEST_CASE("cli: --log-level overrides, and must be a known level") {
  std::string err;
  auto o = cli({"--log-level", "debug", "--config", "c.toml"}, err);
  REQUIRE(o);
  CHECK(o->log_level == "debug");
  CHECK(o->config == "c.toml");
  CHECK_FALSE(cli({"--log-level=loud"}, err));
  CHECK(err == "unknown log level 'loud' (expected one of trace, debug, info, warn, error, critical, off)");
}

TEST_CASE("cli: --version and --help / -h win over other options") {
  std::string err;
  CHECK(cli({"--version"}, err)->mode == CliOptions::Version);
  CHECK(cli({"--help"}, err)->mode == CliOptions::Help);
  CHECK(cli({"-h"}, err)->mode == CliOptions::Help);
  CHECK(cli({"--config", "a.toml", "--version"}, err)->mode == CliOptions::Version);
  CHECK(sb::app::version_text() == std::string("switchboard ") + SB_VERSION);
  auto u = sb::app::usage_text();
  for (const char* opt : {"--config FILE", "--check-config FILE", "--log-level LEVEL", "--version", "--help"}) {
    CAPTURE(opt);
    CHECK(u.find(opt) != std::string::npos);
  }
}

TEST_CASE("cli: errors for unknown options, stray arguments, missing values") {
  std::string err;
  CHECK_FALSE(cli({"--verbose"}, err));
  CHECK(err == "unknown option '--verbose'");
  CHECK_FALSE(cli({"--configfile=x"}, err));
  CHECK(err == "unknown option '--configfile=x'");
  CHECK_FALSE(cli({"sb.toml"}, err));
  CHECK(err == "unexpected argument 'sb.toml' (did you mean --config sb.toml?)");
  CHECK_FALSE(cli({"--config"}, err));
  CHECK(err == "option --config needs a value");
  CHECK_FALSE(cli({"--check-config"}, err));
  CHECK(err == "option --check-config needs a value");
  CHECK_FALSE(cli({"--config="}, err));
  CHECK(err == "option --config needs a file name");
}
