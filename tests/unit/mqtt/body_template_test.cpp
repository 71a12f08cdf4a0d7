#include <doctest/doctest.h>

#include "transports/mqtt/body_template.hpp"

using nlohmann::json;
using sb::transport::mqtt::BodyTemplate;
using sb::transport::mqtt::CommandTemplate;
using sb::transport::mqtt::json_too_deep;

namespace {

BodyTemplate body(std::string_view text) {
  std::string error;
  auto t = BodyTemplate::parse(text, error);
  INFO(text << ": " << error);
  REQUIRE(t);
  return *t;
}

std::string body_error(std::string_view text) {
  std::string error;
  return BodyTemplate::parse(text, error) ? "<parsed>" : error;
}

std::string render(std::string_view tmpl, std::string_view doc) {
  std::string missing;
  auto r = body(tmpl).render(json::parse(doc), missing);
  return r ? *r : "<missing " + missing + ">";
}

CommandTemplate command(std::string_view text) {
  std::string error;
  auto t = CommandTemplate::parse(text, error);
  INFO(text << ": " << error);
  REQUIRE(t);
  return *t;
}

std::string command_error(std::string_view text) {
  std::string error;
  return CommandTemplate::parse(text, error) ? "<parsed>" : error;
}

}  // namespace

TEST_CASE("body template: pointers render from the document") {
  CHECK(render("{/temperature} °C, {/humidity}%", R"({"temperature": 21.5, "humidity": 40})") == "21.5 °C, 40%");
  CHECK(render("{/a/b/0}", R"({"a": {"b": ["x", "y"]}})") == "x");
  CHECK(render("{/a/b/1}!", R"({"a": {"b": ["x", "y"]}})") == "y!");
  CHECK(render("no placeholders", "{}") == "no placeholders");
  CHECK(body("{/a} and {/b/c}").pointers() == std::vector<std::string>{"/a", "/b/c"});
}

TEST_CASE("body template: ~0 and ~1 escapes name keys with '~' and '/'") {
  CHECK(render("{/a~1b}", R"({"a/b": 1})") == "1");
  CHECK(render("{/m~0n}", R"({"m~n": "tilde"})") == "tilde");
  CHECK(render("{/}", R"({"": "empty key"})") == "empty key");
}

TEST_CASE("body template: strings bare, other values as compact JSON") {
  CHECK(render("{/s}", R"({"s": "he said \"hi\""})") == "he said \"hi\"");
  CHECK(render("{/n}|{/f}|{/t}|{/z}", R"({"n": -3, "f": 0.5, "t": true, "z": null})") == "-3|0.5|true|null");
  CHECK(render("{/o}", R"({"o": {"a": [1, 2], "b": "x"}})") == R"({"a":[1,2],"b":"x"})");
  CHECK(render("{/arr}", R"({"arr": [ 1 , 2 ]})") == "[1,2]");
}

TEST_CASE("body template: a missing pointer names it") {
  CHECK(render("{/temperature} °C", R"({"temp": 20})") == "<missing /temperature>");
  CHECK(render("{/a/b}", R"({"a": 5})") == "<missing /a/b>");
  CHECK(render("{/a/x}", R"({"a": [1]})") == "<missing /a/x>");  // key on an array
  CHECK(render("{/a/3}", R"({"a": [1]})") == "<missing /a/3>");
  CHECK(render("{/a}", "[1, 2]") == "<missing /a>");
}

TEST_CASE("body template: {{ and }} are literal braces") {
  CHECK(render("{{{/v}}}", R"({"v": 1})") == "{1}");
  CHECK(render("set {{}}", "{}") == "set {}");
}

TEST_CASE("body template: invalid templates are rejected") {
  CHECK(body_error("{temperature}").find("a JSON pointer starts with '/'") == 0);
  CHECK(body_error("{/a~2}").find("'~' must be followed by 0 or 1") != std::string::npos);
  CHECK(body_error("{/a~}").find("'~' must be followed by 0 or 1") != std::string::npos);
  CHECK(body_error("x {/a").find("unbalanced '{' at column 3") == 0);
  CHECK(body_error("x } y").find("unbalanced '}' at column 3") == 0);
  CHECK(body_error("a {} b").find("empty placeholder {} at column 3") == 0);
}

TEST_CASE("command template: a JSON template gets the body as escaped string content") {
  auto t = command(R"({"state": "{body}"})");
  CHECK(t.is_json());
  for (const std::string& b : std::vector<std::string>{"ON", "say \"hi\"", "back\\slash", "two\nlines\ttab", "caf\xc3\xa9 \xf0\x9f\x92\xa1",
                        std::string("nul\0ctl\x1f", 8), "}{body}{"}) {
    std::string out = t.render(b);
    INFO(out);
    auto doc = json::parse(out);  // throws -> test fails
    CHECK(doc.at("state").get<std::string>() == b);
  }
  CHECK(t.render("ON") == R"({"state": "ON"})");
  CHECK(t.render("a\"b") == R"({"state": "a\"b"})");
}

TEST_CASE("command template: several placeholders, arrays, prefix text inside the string") {
  auto t = command(R"(  [{"cmd": "set {body}", "echo": "{body}"}])");
  auto doc = json::parse(t.render("x\"y"));
  CHECK(doc[0]["cmd"] == "set x\"y");
  CHECK(doc[0]["echo"] == "x\"y");
}

TEST_CASE("command template: text templates insert the body verbatim") {
  auto t = command("turn {body} now");
  CHECK_FALSE(t.is_json());
  CHECK(t.render("on \"x\"") == "turn on \"x\" now");
  CHECK(command("{body}").render("{raw}") == "{raw}");
  CHECK_FALSE(command(" {body} {x}").is_json());
}

TEST_CASE("command template: invalid templates are rejected") {
  CHECK(command_error(R"({"state": 1})") == "must contain the placeholder {body} (the message text)");
  CHECK(command_error(R"({"state": {body}})").find("in a JSON template, {body} at column 11 must be inside a JSON string") == 0);
  CHECK(command_error(R"({"state": "{body}")").find("is not valid JSON") != std::string::npos);
  CHECK(command_error(R"({"a\"": {body}})").find("must be inside a JSON string") != std::string::npos);
}

TEST_CASE("json_too_deep: counts nesting outside strings only") {
  CHECK_FALSE(json_too_deep("", 2));
  CHECK_FALSE(json_too_deep(R"({"a": [1, {"b": 2}]})", 3));
  CHECK(json_too_deep(R"({"a": [1, {"b": 2}]})", 2));
  CHECK_FALSE(json_too_deep(R"([[1], [2], [3]])", 2));  // siblings do not add up
  CHECK_FALSE(json_too_deep(R"(["[[[[{{{{", "\"[[[[", {"k\"[[": 1}])", 2));  // brackets in strings
  CHECK(json_too_deep(std::string(300000, '['), 256));
  CHECK_FALSE(json_too_deep(std::string(256, '[') + std::string(256, ']'), 256));
  CHECK(json_too_deep(std::string(257, '{'), 256));
}
