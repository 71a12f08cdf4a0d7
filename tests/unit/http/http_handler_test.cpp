// The pure request handler: routes, 404/405, /healthz JSON and status (SPEC §9).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "common/metrics.hpp"
#include "http/http_handler.hpp"

using sb::http::ComponentHealth;
using sb::http::HttpHandler;
using sb::http::HttpRequestFull;
using sb::http::HttpResponse;

namespace {

HttpRequestFull request(std::string method, std::string target) {
  HttpRequestFull r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

// The built-in routes answer synchronously; this captures the one answer.
HttpResponse call(const HttpHandler& h, const HttpRequestFull& req) {
  std::optional<HttpResponse> out;
  int calls = 0;
  h.handle(req, [&](HttpResponse r) {
    ++calls;
    out = std::move(r);
  });
  REQUIRE(calls == 1);
  return *out;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

ComponentHealth component(std::string domain, std::string kind, bool auth, bool up, std::string text) {
  return ComponentHealth{std::move(domain), std::move(kind), auth, up, std::move(text)};
}

}  // namespace

TEST_CASE("handler: /healthz is 200 with status ok when every component is up") {
  std::vector<ComponentHealth> comps{component("mqtt.example.org", "mqtt", true, true, "connected"),
                                     component("irc.example.org", "irc", true, true, "2 servers")};
  HttpHandler h([&] { return comps; });
  auto r = call(h, request("GET", "/healthz"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "ok");
  CHECK(j["components"].size() == 2);
  CHECK(j["components"]["mqtt.example.org"]["kind"] == "mqtt");
  CHECK(j["components"]["mqtt.example.org"]["authenticated"] == true);
  CHECK(j["components"]["mqtt.example.org"]["backend"] == "up");
  CHECK(j["components"]["mqtt.example.org"]["text"] == "connected");
  CHECK(j["components"]["irc.example.org"]["text"] == "2 servers");
}

TEST_CASE("handler: /healthz is 503 with the same JSON when a backend is down or not authenticated") {
  std::vector<ComponentHealth> comps{component("mqtt.example.org", "mqtt", true, false, "broker refused"),
                                     component("sms.example.org", "sms", true, true, "ok")};
  HttpHandler h([&] { return comps; });
  auto r = call(h, request("GET", "/healthz"));
  CHECK(r.status == 503);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "degraded");
  CHECK(j["components"]["mqtt.example.org"]["backend"] == "down");
  CHECK(j["components"]["mqtt.example.org"]["text"] == "broker refused");
  CHECK(j["components"]["sms.example.org"]["backend"] == "up");

  // The provider is asked on every request: recovery is visible at once.
  comps[0].backend_up = true;
  CHECK(call(h, request("GET", "/healthz")).status == 200);
  comps[1].authenticated = false;  // the XMPP server dropped the component
  auto r2 = call(h, request("GET", "/healthz"));
  CHECK(r2.status == 503);
  CHECK(nlohmann::json::parse(r2.body)["components"]["sms.example.org"]["authenticated"] == false);
}

TEST_CASE("handler: /healthz with no components (or no provider) is ok; the query string is ignored") {
  HttpHandler h(nullptr);
  auto r = call(h, request("GET", "/healthz?verbose=1"));
  CHECK(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "ok");
  CHECK(j["components"].is_object());
  CHECK(j["components"].empty());
}

TEST_CASE("handler: /metrics renders the registry as Prometheus text 0.0.4") {
  sb::Metrics m;
  m.counter("switchboard_stanzas_total", "Stanzas", {{"direction", "in"}}).inc(7);
  HttpHandler h(nullptr, m);
  auto r = call(h, request("GET", "/metrics"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4");
  CHECK(r.body.find("switchboard_stanzas_total{direction=\"in\"} 7\n") != std::string::npos);
}

TEST_CASE("handler: unknown paths are 404, a wrong method on a known path is 405 with Allow") {
  HttpHandler h(nullptr);
  CHECK(call(h, request("GET", "/")).status == 404);
  CHECK(call(h, request("GET", "/healthz/")).status == 404);
  CHECK(call(h, request("GET", "/HEALTHZ")).status == 404);
  auto r = call(h, request("POST", "/healthz"));
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "GET");
  CHECK(call(h, request("get", "/metrics")).status == 405);  // methods are case-sensitive
}

TEST_CASE("handler: added routes see headers case-insensitively, query and body; answer later") {
  HttpHandler h(nullptr);
  std::optional<HttpRequestFull> seen;
  sb::http::Respond pending;
  REQUIRE(h.add_route("POST", "/sms/twilio", [&](const HttpRequestFull& req, sb::http::Respond respond) {
    seen = req;
    pending = std::move(respond);  // e.g. after the durable store committed (SPEC §8)
  }));

  auto req = request("POST", "/sms/twilio?attempt=2");
  req.headers.add("X-Twilio-Signature", "abc=");
  req.headers.add("Content-Type", "application/x-www-form-urlencoded");
  req.body = "From=%2B15550002222&Body=hi";
  std::optional<HttpResponse> answer;
  h.handle(req, [&](HttpResponse r) { answer = std::move(r); });
  CHECK_FALSE(answer.has_value());  // not answered until the route decides
  REQUIRE(seen.has_value());
  CHECK(seen->path() == "/sms/twilio");
  CHECK(seen->query() == "attempt=2");
  CHECK(seen->headers.get("x-twilio-signature") == "abc=");
  CHECK(seen->headers.find("CONTENT-TYPE") != nullptr);
  CHECK(seen->headers.find("X-Missing") == nullptr);
  CHECK(seen->headers.get("X-Missing", "none") == "none");
  CHECK(seen->body == "From=%2B15550002222&Body=hi");

  pending(sb::http::text_response(200, "stored\n"));
  REQUIRE(answer.has_value());
  CHECK(answer->status == 200);
  CHECK(answer->body == "stored\n");

  // The webhook path only takes POST.
  auto r = call(h, request("GET", "/sms/twilio"));
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST");
  CHECK(h.route_label("/sms/twilio") == "/sms/twilio");
  CHECK(h.route_label("/random/attacker/path") == "other");
}

TEST_CASE("handler: add_route refuses duplicates, built-ins and malformed paths") {
  HttpHandler h(nullptr);
  auto ok = [](const HttpRequestFull&, sb::http::Respond r) { r(sb::http::text_response(200, "")); };
  CHECK(h.add_route("POST", "/hook", ok));
  CHECK_FALSE(h.add_route("POST", "/hook", ok));
  CHECK(h.add_route("PUT", "/hook", ok));  // another method on the same path is fine
  CHECK_FALSE(h.add_route("GET", "/healthz", ok));
  CHECK_FALSE(h.add_route("GET", "/metrics", ok));
  CHECK_FALSE(h.add_route("GET", "hook", ok));
  CHECK_FALSE(h.add_route("GET", "/hook?x", ok));
  CHECK_FALSE(h.add_route("GET", "/other", nullptr));
  auto r = call(h, request("DELETE", "/hook"));
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST, PUT");
}

TEST_CASE("handler: a route that throws becomes a 500, the handler keeps working") {
  HttpHandler h([]() -> std::vector<ComponentHealth> { throw std::runtime_error("registry gone"); });
  auto r = call(h, request("GET", "/healthz"));
  CHECK(r.status == 500);
  CHECK(call(h, request("GET", "/metrics")).status == 200);
}
