#include <doctest/doctest.h>

#include "transports/mqtt/topic_pattern.hpp"

using sb::transport::mqtt::TopicPattern;
using sb::transport::mqtt::Vars;

namespace {

TopicPattern pat(std::string_view text) {
  std::string error;
  auto p = TopicPattern::parse(text, error);
  INFO(text << ": " << error);
  REQUIRE(p);
  return *p;
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto p = TopicPattern::parse(text, error);
  return p ? "<parsed>" : error;
}

}  // namespace

TEST_CASE("topic pattern: invalid patterns are rejected with a reason and a column") {
  CHECK(parse_error("") == "empty topic pattern");
  CHECK(parse_error("home/+/state").find("MQTT wildcard '+' at column 6") == 0);
  CHECK(parse_error("home/#").find("MQTT wildcard '#' at column 6") == 0);
  CHECK(parse_error("home/{id/state").find("unbalanced '{' at column 6") == 0);
  CHECK(parse_error("home/{id}}/state") == "unbalanced '}' at column 10");
  CHECK(parse_error("home/id}/state") == "unbalanced '}' at column 8");
  CHECK(parse_error("home/{}/state") == "empty variable name at column 6");
  CHECK(parse_error("home/{#}") == "empty variable name at column 6");
  CHECK(parse_error("home/{a b}/x").find("invalid variable name 'a b'") == 0);
  CHECK(parse_error("home/{id}/{id}") == "duplicate variable 'id' at column 11");
  CHECK(parse_error("home/{rest#}/state").find("{rest#} must be the last level") == 0);
  CHECK(parse_error("home/x{rest#}") == "{rest#} must be a whole level at column 6");
  CHECK(parse_error("home/{a}-{b}").find("a second variable in the same level at column 10") == 0);
}

TEST_CASE("topic pattern: empty levels are legal topics") {
  auto p = pat("/home//{id}");
  CHECK(p.filter() == "/home//+");
  auto v = p.match("/home//kitchen");
  REQUIRE(v);
  CHECK(v->at("id") == "kitchen");
  CHECK_FALSE(p.match("home//kitchen"));
  CHECK_FALSE(p.match("/home/kitchen"));
}

TEST_CASE("topic pattern: one-level variables match exactly one non-empty level") {
  auto p = pat("home/{room}/{id}/state");
  CHECK(p.variables() == std::vector<std::string>{"room", "id"});
  auto v = p.match("home/kitchen/t1/state");
  REQUIRE(v);
  CHECK(*v == Vars{{"room", "kitchen"}, {"id", "t1"}});
  CHECK_FALSE(p.match("home/kitchen/t1/state/extra"));
  CHECK_FALSE(p.match("home/kitchen/state"));
  CHECK_FALSE(p.match("home//t1/state"));  // a variable never captures nothing
  CHECK_FALSE(p.match("home/kitchen/t1/stat"));
  CHECK_FALSE(p.match(""));
}

TEST_CASE("topic pattern: literal prefix and suffix around a variable in a level") {
  auto p = pat("zigbee/dev-{id}.json");
  CHECK(p.filter() == "zigbee/+");
  auto v = p.match("zigbee/dev-lamp.json");
  REQUIRE(v);
  CHECK(v->at("id") == "lamp");
  CHECK_FALSE(p.match("zigbee/dev-.json"));
  CHECK_FALSE(p.match("zigbee/lamp.json"));
  CHECK_FALSE(p.match("zigbee/dev-lamp.txt"));
  CHECK(p.expand(Vars{{"id", "lamp"}}) == "zigbee/dev-lamp.json");
}

TEST_CASE("topic pattern: {x#} matches the rest, one or more levels") {
  auto p = pat("sensors/{path#}");
  CHECK(p.has_rest());
  CHECK(p.filter() == "sensors/#");
  CHECK(p.match("sensors/a")->at("path") == "a");
  CHECK(p.match("sensors/a/b/c")->at("path") == "a/b/c");
  CHECK_FALSE(p.match("sensors"));   // '#' in a filter also matches the parent; the pattern does not
  CHECK_FALSE(p.match("sensors/"));  // an empty rest
  CHECK_FALSE(p.match("other/a"));
  CHECK(p.expand(Vars{{"path", "a/b"}}) == "sensors/a/b");
}

TEST_CASE("topic pattern: match and expand round-trip") {
  for (auto text : {"home/{id}/state", "a/{x}/b/{y}", "{id}", "p-{a}/{b#}", "x/{id}_s"}) {
    auto p = pat(text);
    Vars vars;
    for (auto& name : p.variables()) vars[name] = name == "b" ? "deep/er" : "v" + name;
    auto topic = p.expand(vars);
    REQUIRE(topic);
    auto back = p.match(*topic);
    REQUIRE(back);
    CHECK(*back == vars);
  }
}

TEST_CASE("topic pattern: expand refuses values that would change the topic's shape") {
  auto p = pat("home/{id}/set");
  CHECK(p.expand(Vars{{"id", "k"}}) == "home/k/set");
  CHECK_FALSE(p.expand(Vars{}));                     // missing
  CHECK_FALSE(p.expand(Vars{{"id", ""}}));           // empty
  CHECK_FALSE(p.expand(Vars{{"id", "a/b"}}));        // '/' only for {x#}
  CHECK_FALSE(p.expand(Vars{{"id", "a+"}}));         // wildcards in a publish topic are illegal
  CHECK_FALSE(p.expand(Vars{{"id", "#"}}));
  CHECK_FALSE(p.expand(Vars{{"id", std::string("a\0b", 3)}}));
  CHECK(pat("home/{r#}").expand(Vars{{"r", "a/b"}}) == "home/a/b");
  CHECK_FALSE(pat("home/{r#}").expand(Vars{{"r", "a/+"}}));
}

TEST_CASE("topic pattern: a leading variable does not match $SYS topics, like a broker's '+'") {
  CHECK_FALSE(pat("{a}/{b}").match("$SYS/broker"));
  CHECK(pat("$SYS/{b}").match("$SYS/broker"));
  CHECK_FALSE(pat("{r#}").match("$SYS/x"));
}

TEST_CASE("topic pattern: overlap detection") {
  auto ov = [](std::string_view a, std::string_view b) {
    bool r1 = TopicPattern::may_overlap(pat(a), pat(b));
    bool r2 = TopicPattern::may_overlap(pat(b), pat(a));
    CHECK(r1 == r2);  // symmetric
    return r1;
  };
  CHECK(ov("home/{id}/state", "home/{x}/state"));
  CHECK(ov("home/{id}/state", "home/kitchen/state"));
  CHECK(ov("home/{id}/state", "home/{id}/{kind}"));
  CHECK(ov("home/{r#}", "home/a/b/c"));
  CHECK(ov("home/{r#}", "{a}/{b}"));
  CHECK(ov("a/{r#}", "a/{s#}"));
  CHECK(ov("dev-{id}", "{id}-x"));  // "dev-x" matches both
  CHECK(ov("dev-{id}", "de{id}"));
  CHECK_FALSE(ov("home/{id}/state", "home/{id}/status"));
  CHECK_FALSE(ov("home/{id}/state", "home/{id}/state/x"));
  CHECK_FALSE(ov("home/{id}", "home"));
  CHECK_FALSE(ov("home/{r#}", "home"));
  CHECK_FALSE(ov("home/{r#}", "office/{x}"));
  CHECK_FALSE(ov("home/{r#}", "home/"));  // the rest would be empty
  CHECK_FALSE(ov("dev-{id}", "sensor-{id}"));
  CHECK_FALSE(ov("{id}.json", "{id}.xml"));
  CHECK_FALSE(ov("dev-{id}", "dev-"));   // the variable would be empty
  CHECK(ov("dev-{id}", "dev-1"));
}
