// The request handler of the one HTTP listener (SPEC §9): a pure mapping from a
// request to a reply, after Asio's http/server `request_handler`. It knows nothing
// of sockets; HttpServer parses and writes, this decides.
//
// Built-in routes: GET /healthz (JSON per component domain, 200 or 503) and
// GET /metrics (Prometheus text 0.0.4). Later transports add their webhooks with
// add_route() (e.g. POST /sms/twilio, SPEC §8). Anything else is 404; a known path
// with another method is 405 with an Allow header.
//
// Threading: configure (add_route) before the server starts; handle() runs on the
// io thread. A route may call `respond` later and from any thread (e.g. after a
// durable store), once; later calls are ignored by the server. A route that throws
// gets a 500.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb {
class Metrics;
}

namespace sb::http {

// Case-insensitive header names (RFC 9110 §5.1); values kept verbatim. A repeated
// header keeps every value in arrival order; get() returns the first.
class Headers {
 public:
  void add(std::string name, std::string value);
  // nullptr when absent.
  const std::string* find(std::string_view name) const;
  std::string get(std::string_view name, std::string_view fallback = {}) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }
 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // origin-form: path plus optional "?query"
};

// What a route sees: the request line, headers and the (bounded) body.
struct HttpRequestFull : HttpRequest {
  Headers headers;
  std::string body;
  // "/sms/twilio?x=1" -> "/sms/twilio" and "x=1" (no '?'; empty when none).
  std::string_view path() const;
  std::string_view query() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (e.g. Allow on a 405). Content-Length is set by the server.
  std::vector<std::pair<std::string, std::string>> headers;
};

using Respond = std::function<void(HttpResponse)>;
using RouteFn = std::function<void(const HttpRequestFull&, Respond respond)>;

// One component domain as /healthz reports it.
struct ComponentHealth {
  std::string domain, kind;    // "mqtt.example.org", "mqtt"
  bool authenticated = false;  // XEP-0114 handshake accepted
  bool backend_up = false;     // broker / IRC server / SMS provider reachable
  std::string backend_text;    // human-readable state, e.g. "connected to tcp://..."
};
using HealthProvider = std::function<std::vector<ComponentHealth>()>;

// Builds the /healthz reply: 200 "ok" when every component is authenticated and its
// backend up (vacuously so with none), else 503 "degraded"; same JSON either way.
HttpResponse health_response(const std::vector<ComponentHealth>& components);

// Simple text reply ("404 not found\n" style body).
HttpResponse text_response(int status, std::string body);

class HttpHandler {
 public:
  // `metrics` is rendered by /metrics; it must outlive the handler.
  explicit HttpHandler(HealthProvider health);
  HttpHandler(HealthProvider health, const Metrics& metrics);
  // The built-in routes capture `this`.
  HttpHandler(const HttpHandler&) = delete;
  HttpHandler& operator=(const HttpHandler&) = delete;

  // Registers `fn` for an exact path (no query) and method. False if the pair is
  // already taken (including the built-in GET /healthz and GET /metrics) or the path
  // does not start with '/'.
  bool add_route(const std::string& method, const std::string& path, RouteFn fn);

  // Dispatches; `respond` is called exactly once (synchronously for the built-in
  // routes, 404 and 405; whenever the route decides for added ones).
  void handle(const HttpRequestFull& req, Respond respond) const;

  // The label under which a request for `path` is counted: the path if it is a known
  // route, else "other" — remote input must not create unbounded metric series.
  std::string route_label(std::string_view path) const;

 private:
  std::vector<ComponentHealth> components() const;

  HealthProvider health_;
  const Metrics* metrics_;
  // path -> method -> route
  std::map<std::string, std::map<std::string, RouteFn>, std::less<>> routes_;
};

}  // namespace sb::http
