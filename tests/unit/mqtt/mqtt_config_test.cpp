#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "transports/mqtt/mqtt_config.hpp"

using namespace sb::transport::mqtt;

namespace {

// Parses `text`, reads its first [[mqtt]] block as the app does (common keys known).
struct Parsed {
  explicit Parsed(std::string_view text) : problems("t.toml"), root(toml::parse(text, std::string_view("t.toml"))) {
    const toml::table* block = root["mqtt"][0].as_table();
    REQUIRE(block);
    sb::ConfigReader r(*block, "[[mqtt]] #1", problems);
    for (auto k : {"domain", "secret", "secret_file", "allow"}) r.mark(k);
    config = parse_mqtt_config(r);
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
  std::optional<MqttConfig> config;
};

const char* kHead = R"([[mqtt]]
domain = "mqtt.example.org"
secret = "s"
broker = "tcp://127.0.0.1:1883"
client_id = "sb"
)";

// kHead (5 lines) + `rest`; so `rest`'s first line is line 6.
Parsed with(std::string_view rest) { return Parsed(std::string(kHead) + std::string(rest)); }

}  // namespace

TEST_CASE("mqtt config: the SPEC §2 example block parses") {
  Parsed p(R"([[mqtt]]
domain  = "mqtt.example.org"
secret  = "s3cret"
broker  = "tcp://127.0.0.1:1883"      # ssl:// for TLS; ca_file, cert_file, key_file
client_id = "switchboard-1"
allow   = ["*@example.org"]           # who may use this gateway (JID globs)
  [[mqtt.device]]                      # a route: topics <-> device JIDs
  jid          = "{id}"                # localpart, from variables captured in topics
  state        = "home/{id}/state"     # inbound: a publish becomes a message from the device JID
  command      = "home/{id}/set"       # outbound: a message body is published here
  availability = "home/{id}/status"    # payload "online"/"offline" -> presence
  format       = "json"                # "text" or "json"
  body         = "{/temperature} °C"   # JSON-pointer template for the message body
  subscribers  = ["alice@example.org"] # get every state message without subscribing
  qos = 1
)");
  CHECK(p.all().empty());
  REQUIRE(p.config);
  const MqttConfig& c = *p.config;
  CHECK(c.broker.uri == "tcp://127.0.0.1:1883");
  CHECK_FALSE(c.broker.tls);
  CHECK(c.client_id == "switchboard-1");
  CHECK(c.mqtt_version == 4);
  CHECK(c.keepalive_seconds == 30);
  CHECK(c.max_held_commands == 1000);
  CHECK(c.max_held_seconds == 300);
  REQUIRE(c.routes.size() == 1);
  const Route& r = c.routes[0];
  CHECK(r.jid.text() == "{id}");
  CHECK(r.state->filter() == "home/+/state");
  CHECK(r.command->text() == "home/{id}/set");
  CHECK(r.availability->text() == "home/{id}/status");
  CHECK(r.format == Format::Json);
  CHECK(r.body->pointers() == std::vector<std::string>{"/temperature"});
  CHECK(r.subscribers == std::vector<std::string>{"alice@example.org"});
  CHECK(r.qos == 1);
  CHECK(r.line == 7);
  CHECK(r.online == "online");
}

TEST_CASE("mqtt config: every design key is read") {
  auto p = with(R"(protocol = "5"
username = "u"
password = "p"
keepalive_seconds = 10
session_expiry_seconds = 600
max_held_commands = 5
max_held_seconds = 60
[[mqtt.device]]
jid = "{id}"
command = "cmd/{id}"
command_template = '{"state": "{body}"}'
availability = "st/{id}"
online = "1"
offline = "0"
retain = true
qos = 2
name = "Lamp"
)");
  CHECK(p.all().empty());
  REQUIRE(p.config);
  CHECK(p.config->mqtt_version == 5);
  CHECK(p.config->username == "u");
  CHECK(p.config->password == "p");
  CHECK(p.config->keepalive_seconds == 10);
  CHECK(p.config->session_expiry_seconds == 600);
  CHECK(p.config->max_held_commands == 5);
  CHECK(p.config->max_held_seconds == 60);
  const Route& r = p.config->routes.at(0);
  CHECK(r.command_template->render("a\"b") == R"({"state": "a\"b"})");
  CHECK(r.online == "1");
  CHECK(r.retain);
  CHECK(r.qos == 2);
  CHECK(r.name == "Lamp");
}

TEST_CASE("mqtt config: broker URLs") {
  std::string e;
  CHECK(parse_broker("mqtts://broker.example.org", e)->uri == "ssl://broker.example.org:8883");
  CHECK(parse_broker("mqtt://h", e)->uri == "tcp://h:1883");
  CHECK(parse_broker("SSL://h:1", e)->tls);
  CHECK(parse_broker("tcp://[::1]:1884", e)->uri == "tcp://[::1]:1884");
  CHECK(parse_broker("tcp://[::1]:1884", e)->host == "::1");
  CHECK_FALSE(parse_broker("http://h:1", e));
  CHECK(e.find("unsupported scheme 'http://'") == 0);
  CHECK_FALSE(parse_broker("tcp://h:0", e));
  CHECK_FALSE(parse_broker("tcp://h:x", e));
  CHECK_FALSE(parse_broker("tcp://h:", e));
  CHECK_FALSE(parse_broker("tcp://:1883", e));
  CHECK_FALSE(parse_broker("tcp://h/path", e));
  CHECK_FALSE(parse_broker("127.0.0.1:1883", e));
}

TEST_CASE("mqtt config: block-level problems at the value's LINE:COL") {
  SUBCASE("bad broker") {
    Parsed p("[[mqtt]]\nbroker = \"http://h\"\nclient_id = \"x\"\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n");
    CHECK(p.only().find("t.toml:2:10: [[mqtt]] #1 broker: unsupported scheme") == 0);
    CHECK_FALSE(p.config);
  }
  SUBCASE("missing client_id, reported at the table") {
    Parsed p("[[mqtt]]\nbroker = \"tcp://h\"\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n");
    CHECK(p.only() == "t.toml:1:1: [[mqtt]] #1: missing required key 'client_id'");
  }
  SUBCASE("protocol") {
    CHECK(with("protocol = \"4\"\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:6:12: [[mqtt]] #1 protocol: '4' is not supported; use \"3.1.1\" or \"5\"");
    CHECK(with("protocol = 5\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:6:12: [[mqtt]] #1 protocol: write the version as a string: \"3.1.1\" or \"5\"");
  }
  SUBCASE("session expiry must be > 0, and only with MQTT 5") {
    CHECK(with("protocol = \"5\"\nsession_expiry_seconds = 0\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:7:26: [[mqtt]] #1 session_expiry_seconds: 0 is out of range: must be between 1 and 4294967295");
    CHECK(with("session_expiry_seconds = 60\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:6:1: [[mqtt]] #1 session_expiry_seconds: only applies to protocol = \"5\"");
  }
  SUBCASE("TLS files need a TLS broker, and must exist") {
    CHECK(with("ca_file = \"/etc/hostname\"\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:6:11: [[mqtt]] #1 ca_file: only applies to a TLS broker (ssl:// or mqtts://)");
    Parsed p("[[mqtt]]\nbroker = \"ssl://h\"\nclient_id = \"x\"\nca_file = \"/nonexistent/ca.pem\"\n"
             "[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n");
    CHECK(p.only() == "t.toml:4:11: [[mqtt]] #1 ca_file: cannot read '/nonexistent/ca.pem'");
  }
  SUBCASE("a password needs a username") {
    CHECK(with("password = \"p\"\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only() ==
          "t.toml:6:1: [[mqtt]] #1 password: a password needs a 'username'");
  }
  SUBCASE("unknown block key") {
    CHECK(with("keepalive = 3\n[[mqtt.device]]\njid = \"a\"\nstate = \"s\"\n").only().find(
              "t.toml:6:1: unknown key 'keepalive'") == 0);
  }
  SUBCASE("no routes") {
    CHECK(with("").only().find("t.toml:1:1: [[mqtt]] #1: no [[mqtt.device]] routes") == 0);
  }
}

TEST_CASE("mqtt config: route problems at LINE:COL") {
  auto dev = [](std::string_view body) { return with("[[mqtt.device]]\n" + std::string(body)); };  // body: line 7
  CHECK(dev("jid = \"{id}\"\nstate = \"home/+/state\"\n").only().find(
            "t.toml:8:9: [[mqtt]] #1 device #1 state: MQTT wildcard '+' at column 6") == 0);
  CHECK(dev("jid = \"{id\"\nstate = \"s/{id}\"\n").only() ==
        "t.toml:7:7: [[mqtt]] #1 device #1 jid: unbalanced '{' at column 1");
  CHECK(dev("jid = \"{id}\"\nstate = \"home/{id}/state\"\ncommand = \"home/{room}/{id}\"\n").only().find(
            "t.toml:9:11: [[mqtt]] #1 device #1 command: {room} cannot be derived from the device id") == 0);
  CHECK(dev("jid = \"{room}-{id}\"\nstate = \"home/{id}/state\"\n").only() ==
        "t.toml:8:9: [[mqtt]] #1 device #1 state: does not capture {room}, which jid = \"{room}-{id}\" uses");
  CHECK(dev("jid = \"{id}\"\n").only() ==
        "t.toml:6:1: [[mqtt]] #1 device #1: a device route needs at least one of 'state', 'command', 'availability'");
  CHECK(dev("state = \"s\"\n").only() == "t.toml:6:1: [[mqtt]] #1 device #1: missing required key 'jid'");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nbody = \"{/x}\"\n").only() ==
        "t.toml:9:8: [[mqtt]] #1 device #1 body: a body template reads JSON pointers and needs format = \"json\"");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nformat = \"json\"\nbody = \"{x}\"\n").only().find(
            "t.toml:10:8: [[mqtt]] #1 device #1 body: a JSON pointer starts with '/'") == 0);
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nformat = \"xml\"\n").only().find(
            "t.toml:9:10: [[mqtt]] #1 device #1 format: 'xml' is not a format") == 0);
  CHECK(dev("jid = \"a\"\ncommand = \"c\"\ncommand_template = '{\"v\": {body}}'\n").only().find(
            "t.toml:9:20: [[mqtt]] #1 device #1 command_template: in a JSON template, {body}") == 0);
  CHECK(dev("jid = \"a\"\nstate = \"s\"\ncommand_template = '{body}'\n").only() ==
        "t.toml:9:20: [[mqtt]] #1 device #1 command_template: only applies with 'command'");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nonline = \"up\"\n").only() ==
        "t.toml:9:10: [[mqtt]] #1 device #1 online: only applies with 'availability'");
  CHECK(dev("jid = \"a\"\navailability = \"s\"\nonline = \"x\"\noffline = \"x\"\n").only() ==
        "t.toml:10:11: [[mqtt]] #1 device #1 offline: must differ from 'online' ('x')");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nqos = 3\n").only() ==
        "t.toml:9:7: [[mqtt]] #1 device #1 qos: 3 is out of range: must be between 0 and 2");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nsubscribers = [\"alice@example.org\", \"bob@x/res\"]\n").only() ==
        "t.toml:9:37: [[mqtt]] #1 device #1 subscribers[1]: 'bob@x/res' is not a bare JID like alice@example.org");
  CHECK(dev("jid = \"a\"\nstate = \"s\"\nstat = \"t\"\n").only().find(
            "t.toml:9:1: unknown key 'stat' in [[mqtt]] #1 device #1") == 0);
  CHECK(dev("jid = \"{id}\"\nstate = \"h/{id}/{k}\"\navailability = \"h/{id}/status\"\n").only() ==
        "t.toml:9:16: [[mqtt]] #1 device #1 availability: overlaps 'state' (\"h/{id}/{k}\"): a topic must be one or "
        "the other");
}

TEST_CASE("mqtt config: overlapping routes are reported at the second, naming the first's line") {
  auto p = with(R"([[mqtt.device]]
jid = "{id}"
state = "home/{id}/state"
[[mqtt.device]]
jid = "x-{id}"
state = "other/{id}"
availability = "home/{id}/{what}"
)");
  CHECK(p.only() == "t.toml:12:16: [[mqtt]] #1 device #2 availability: \"home/{id}/{what}\" overlaps device #1 state "
                    "\"home/{id}/state\" (line 8); a topic must belong to one route");
  CHECK_FALSE(p.config);

  auto ok = with(R"([[mqtt.device]]
jid = "{id}"
state = "home/{id}/state"
[[mqtt.device]]
jid = "x-{id}"
state = "home/{id}/status"
)");
  CHECK(ok.all().empty());
  CHECK(ok.config->routes.size() == 2);
}

TEST_CASE("mqtt config: several problems are all reported") {
  auto p = with(R"(protocol = "6"
[[mqtt.device]]
jid = "{id}"
state = "a/#"
qos = 9
)");
  CHECK(p.all().size() == 3);
}

TEST_CASE("bare JID check") {
  CHECK(looks_like_bare_jid("alice@example.org"));
  CHECK_FALSE(looks_like_bare_jid("example.org"));
  CHECK_FALSE(looks_like_bare_jid("@example.org"));
  CHECK_FALSE(looks_like_bare_jid("alice@"));
  CHECK_FALSE(looks_like_bare_jid("alice@example.org/phone"));
  CHECK_FALSE(looks_like_bare_jid("a b@example.org"));
  CHECK_FALSE(looks_like_bare_jid("a@b@c"));
}
