#include <doctest/doctest.h>

#include "transports/mqtt/routes.hpp"

using namespace sb::transport::mqtt;

namespace {

TopicPattern pat(std::string_view text) {
  std::string error;
  auto p = TopicPattern::parse(text, error);
  REQUIRE(p);
  return *p;
}

IdTemplate idt(std::string_view text) {
  std::string error;
  auto t = IdTemplate::parse(text, error);
  INFO(error);
  REQUIRE(t);
  return *t;
}

std::string id_error(std::string_view text) {
  std::string error;
  return IdTemplate::parse(text, error) ? "<parsed>" : error;
}

Route route(std::string_view jid, std::string_view state, std::string_view command, std::string_view avail = {}) {
  Route r;
  r.jid = idt(jid);
  if (!state.empty()) r.state = pat(state);
  if (!command.empty()) r.command = pat(command);
  if (!avail.empty()) r.availability = pat(avail);
  return r;
}

}  // namespace

TEST_CASE("id template: render and parse back") {
  auto t = idt("{room}-{id}");
  CHECK(t.variables() == std::vector<std::string>{"room", "id"});
  CHECK(t.render(Vars{{"room", "Kitchen"}, {"id", "t1"}}) == "Kitchen-t1");
  CHECK_FALSE(t.render(Vars{{"room", "Kitchen"}}));
  CHECK(t.parse_id("Kitchen-t1") == Vars{{"room", "Kitchen"}, {"id", "t1"}});
  CHECK(t.parse_id("a-b-c") == Vars{{"room", "a"}, {"id", "b-c"}});  // split at the first separator
  CHECK_FALSE(t.parse_id("kitchen"));
  CHECK_FALSE(t.parse_id("-t1"));
  auto lit = idt("Sensor.{id}.x");
  CHECK(lit.parse_id("sensor.abc.X") == Vars{{"id", "abc"}});  // literals case-insensitive
  CHECK(idt("thermostat").parse_id("Thermostat") == Vars{});
  CHECK_FALSE(idt("thermostat").parse_id("other"));
}

TEST_CASE("id template: invalid templates") {
  CHECK(id_error("") == "empty device id template");
  CHECK(id_error("{a}{b}").find("two variables with nothing between them at column 4") == 0);
  CHECK(id_error("{id#}").find("write {id} at column 1") == 0);
  CHECK(id_error("{id") == "unbalanced '{' at column 1");
  CHECK(id_error("{a}-{a}") == "duplicate variable 'a' at column 5");
}

TEST_CASE("route table: classify state and availability topics") {
  std::vector<Route> rs;
  rs.push_back(route("{id}", "home/{id}/state", "home/{id}/set", "home/{id}/status"));
  rs.push_back(route("{room}-{id}", "rooms/{room}/{id}", ""));
  RouteTable table(std::move(rs));

  auto a = table.classify("home/kitchen/state");
  REQUIRE(a);
  CHECK(a->route == 0);
  CHECK(a->kind == Inbound::Kind::State);
  CHECK(a->device == "kitchen");

  auto b = table.classify("home/kitchen/status");
  REQUIRE(b);
  CHECK(b->kind == Inbound::Kind::Availability);

  auto c = table.classify("rooms/hall/lamp");
  REQUIRE(c);
  CHECK(c->route == 1);
  CHECK(c->device == "hall-lamp");
  CHECK(c->vars == Vars{{"room", "hall"}, {"id", "lamp"}});

  CHECK_FALSE(table.classify("home/kitchen/set"));  // our own commands are not state
  CHECK_FALSE(table.classify("elsewhere"));
}

TEST_CASE("route table: command topics, case-insensitive ids keep the published case") {
  std::vector<Route> rs;
  rs.push_back(route("{id}", "home/{id}/state", "home/{id}/set"));
  RouteTable table(std::move(rs));
  const Route* r = nullptr;

  // Never seen: the id as given (the core hands back lower case).
  CHECK(table.command_topic("kitchen", r) == "home/kitchen/set");
  CHECK(r == &table.routes()[0]);

  // Published as "LivingRoom": a command to "livingroom" goes to the original topic.
  REQUIRE(table.classify("home/LivingRoom/state"));
  CHECK(table.command_topic("livingroom", r) == "home/LivingRoom/set");
  CHECK(table.command_topic("LIVINGROOM", r) == "home/LivingRoom/set");
  CHECK(table.original_id("livingroom") == "LivingRoom");
  CHECK(table.route_of("livingroom") == &table.routes()[0]);
  CHECK(table.known_ids() == 1);

  // An id a topic cannot carry.
  CHECK_FALSE(table.command_topic("a/b", r));
  CHECK_FALSE(table.command_topic("a+", r));
}

TEST_CASE("route table: a device without a command pattern has no command topic") {
  std::vector<Route> rs;
  rs.push_back(route("sensor-{id}", "sensors/{id}", ""));
  rs.push_back(route("{id}", "lights/{id}/state", "lights/{id}/set"));
  RouteTable table(std::move(rs));
  const Route* r = nullptr;
  REQUIRE(table.classify("sensors/t1"));
  CHECK_FALSE(table.command_topic("sensor-t1", r));
  CHECK(r == &table.routes()[0]);
  // Unseen ids: the first route that fits and has a command.
  CHECK(table.command_topic("sensor-t2", r) == "lights/sensor-t2/set");
  CHECK(r == &table.routes()[1]);
  CHECK(table.command_topic("desk", r) == "lights/desk/set");
}

TEST_CASE("route table: command variables come from the id template") {
  std::vector<Route> rs;
  rs.push_back(route("{room}-{id}", "rooms/{room}/{id}/state", "rooms/{room}/{id}/set"));
  RouteTable table(std::move(rs));
  const Route* r = nullptr;
  CHECK(table.command_topic("hall-lamp", r) == "rooms/hall/lamp/set");
  // Seen ids use the captured variables, even when the id would split differently.
  REQUIRE(table.classify("rooms/a-b/c/state"));
  CHECK(table.command_topic("a-b-c", r) == "rooms/a-b/c/set");
}

TEST_CASE("route table: the id memory is bounded") {
  std::vector<Route> rs;
  rs.push_back(route("{id}", "h/{id}", "h/{id}/set"));
  RouteTable table(std::move(rs), 3);
  for (auto t : {"h/A", "h/B", "h/C", "h/D", "h/E"}) REQUIRE(table.classify(t));
  CHECK(table.known_ids() == 3);
  const Route* r = nullptr;
  CHECK(table.command_topic("e", r) == "h/E/set");  // the latest is always remembered
}

TEST_CASE("route table: subscription filters are deduplicated, always QoS 1 whatever the route's qos") {
  // SPEC §6 "QoS 1 subscriptions": the route's qos is for published commands. QoS 0
  // would queue nothing while we are down; QoS 2 loses a message on a kill -9
  // between PUBREC and PUBREL (MQTT 3.1.1, no Paho persistence).
  std::vector<Route> rs;
  rs.push_back(route("{id}", "home/{id}/state", "home/{id}/set", "home/{id}/status"));
  rs.back().qos = 0;
  rs.push_back(route("x-{id}", "home/{id}/state", "", "other/{id}"));
  rs.back().qos = 1;
  rs.push_back(route("y-{id}", "y/{id}/state", "y/{id}/set"));
  rs.back().qos = 2;
  RouteTable table(std::move(rs));
  CHECK(table.filters() ==
        std::vector<Subscription>{{"home/+/state", 1}, {"home/+/status", 1}, {"other/+", 1}, {"y/+/state", 1}});
}

TEST_CASE("route table: a fixed device is not hidden by a catch-all route listed before it") {
  std::vector<Route> rs;
  rs.push_back(route("{id}", "home/{id}/state", ""));             // catch-all, state only
  rs.push_back(route("garage-door", "", "garage/set"));            // fixed, command only
  rs.push_back(route("{room}-{id}", "rooms/{room}/{id}", "rooms/{room}/{id}/set"));
  RouteTable table(std::move(rs));
  const Route* r = nullptr;
  CHECK(table.route_of("garage-door") == &table.routes()[1]);
  CHECK(table.route_of("Garage-Door") == &table.routes()[1]);
  CHECK(table.command_topic("garage-door", r) == "garage/set");
  CHECK(r == &table.routes()[1]);
  // Even once the catch-all has seen a publish for that id, the exact id wins.
  REQUIRE(table.classify("home/garage-door/state"));
  CHECK(table.route_of("garage-door") == &table.routes()[1]);
  CHECK(table.command_topic("garage-door", r) == "garage/set");
  CHECK(r == &table.routes()[1]);
  // Templated ids keep config order.
  CHECK(table.route_of("kitchen") == &table.routes()[0]);
  CHECK(table.route_of("hall-lamp") == &table.routes()[0]);
  CHECK(table.command_topic("hall-lamp", r) == "rooms/hall/lamp/set");
  CHECK(r == &table.routes()[2]);
}

TEST_CASE("command_payload: the body or its template; no body, no command") {
  Route plain = route("{id}", "", "c/{id}");
  CHECK(command_payload(plain, "ON") == "ON");
  CHECK_FALSE(command_payload(plain, ""));  // subject only / empty <body/>: refused
  Route tmpl = route("{id}", "", "c/{id}");
  std::string error;
  tmpl.command_template = CommandTemplate::parse(R"({"state": "{body}"})", error);
  REQUIRE(tmpl.command_template);
  CHECK(command_payload(tmpl, "ON") == R"({"state": "ON"})");
  CHECK_FALSE(command_payload(tmpl, ""));
  Route retained = plain;
  retained.retain = true;  // an empty payload would delete the retained command
  CHECK_FALSE(command_payload(retained, ""));
}

TEST_CASE("render_state: text, JSON body, and raw fallbacks with a warning") {
  Route text = route("{id}", "s/{id}", "");
  std::string warning;
  CHECK(render_state(text, "hello", warning) == "hello");
  CHECK(warning.empty());
  CHECK(render_state(text, std::string("\x00\x01", 2), warning) == "[binary payload, 2 bytes, base64: AAE=]");
  CHECK(warning.find("binary") != std::string::npos);

  Route js = route("{id}", "s/{id}", "");
  js.format = Format::Json;
  std::string error;
  js.body = *BodyTemplate::parse("{/t} °C", error);
  CHECK(render_state(js, R"({"t": 21})", warning) == "21 °C");
  CHECK(warning.empty());
  CHECK(render_state(js, "not json", warning) == "not json");
  CHECK(warning.find("not valid JSON") != std::string::npos);
  CHECK(render_state(js, R"({"h": 1})", warning) == R"({"h": 1})");
  CHECK(warning.find("/t") != std::string::npos);
  // A JSON string may carry characters XML cannot: replaced, not put in the stanza.
  CHECK(render_state(js, R"({"t": "a\u0000b"})", warning) == "a\xef\xbf\xbd" "b °C");
}

TEST_CASE("render_state: JSON nested too deep is delivered raw, never parsed (no stack overflow)") {
  Route js = route("{id}", "s/{id}", "");
  js.format = Format::Json;
  std::string error;
  js.body = *BodyTemplate::parse("{/t}", error);
  // 200 KB: {"t": [[[[...]]]]} with 100k levels; rendering /t would dump it recursively.
  std::string deep = R"({"t": )";
  deep.append(100000, '[');
  deep.append(100000, ']');
  deep += "}";
  std::string warning;
  std::string out = render_state(js, deep, warning);
  CHECK(warning.find("not valid JSON") != std::string::npos);
  CHECK(warning.find("deeper than 256") != std::string::npos);
  CHECK(out == payload_text(deep).text);  // raw (truncated to the text cap)
  // Only an opening bracket run, as a broken publisher might send.
  const std::string open_only(200000, '[');
  CHECK(render_state(js, open_only, warning) == payload_text(open_only).text);
  CHECK(warning.find("not valid JSON") != std::string::npos);
  // Up to the limit it is still JSON.
  std::string ok = R"({"t": )";
  ok.append(255, '[');
  ok.append(255, ']');
  ok += "}";
  CHECK(render_state(js, ok, warning) == std::string(255, '[') + std::string(255, ']'));
  CHECK(warning.empty());
}

TEST_CASE("availability payloads") {
  Route r = route("{id}", "", "", "s/{id}");
  r.online = "ON";
  r.offline = "OFF";
  CHECK(availability_of(r, "ON") == true);
  CHECK(availability_of(r, " OFF\n") == false);
  CHECK_FALSE(availability_of(r, "online"));
}
