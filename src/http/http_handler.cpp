#include "http/http_handler.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <nlohmann/json.hpp>

#include "common/metrics.hpp"

namespace sb::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

void Headers::add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::string Headers::get(std::string_view name, std::string_view fallback) const {
  const std::string* v = find(name);
  return v ? *v : std::string(fallback);
}

std::string_view HttpRequestFull::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequestFull::query() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

HttpResponse text_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse health_response(const std::vector<ComponentHealth>& components) {
  bool healthy = true;
  nlohmann::json comps = nlohmann::json::object();
  for (const auto& c : components) {
    healthy = healthy && c.authenticated && c.backend_up;
    comps[c.domain] = {
        {"kind", c.kind},
        {"authenticated", c.authenticated},
        {"backend", c.backend_up ? "up" : "down"},
        {"text", c.backend_text},
    };
  }
  nlohmann::json doc = {{"status", healthy ? "ok" : "degraded"}, {"components", comps}};
  HttpResponse r;
  // SPEC §9: 503 with the same JSON, so a probe and a human both see why.
  r.status = healthy ? 200 : 503;
  r.content_type = "application/json";
  // `replace` keeps a component's invalid UTF-8 (from a remote error text) from
  // turning the health check into an exception.
  r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpHandler::HttpHandler(HealthProvider health) : HttpHandler(std::move(health), Metrics::global()) {}

HttpHandler::HttpHandler(HealthProvider health, const Metrics& metrics)
    : health_(std::move(health)), metrics_(&metrics) {
  add_route("GET", "/healthz", [this](const HttpRequestFull&, Respond respond) {
    respond(health_response(components()));
  });
  add_route("GET", "/metrics", [this](const HttpRequestFull&, Respond respond) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_->render();
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  });
}

std::vector<ComponentHealth> HttpHandler::components() const {
  return health_ ? health_() : std::vector<ComponentHealth>{};
}

bool HttpHandler::add_route(const std::string& method, const std::string& path, RouteFn fn) {
  if (path.empty() || path.front() != '/' || path.find('?') != std::string::npos || !fn) return false;
  if (method.empty()) return false;
  return routes_[path].try_emplace(method, std::move(fn)).second;
}

void HttpHandler::handle(const HttpRequestFull& req, Respond respond) const {
  auto by_path = routes_.find(req.path());
  if (by_path == routes_.end()) {
    respond(text_response(404, "not found\n"));
    return;
  }
  // Methods are case-sensitive (RFC 9110 §9.1).
  auto route = by_path->second.find(req.method);
  if (route == by_path->second.end()) {
    // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
    std::string allow;
    for (const auto& [m, fn] : by_path->second) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = text_response(405, "method not allowed\n");
    r.headers.emplace_back("Allow", allow);
    respond(std::move(r));
    return;
  }
  // Errors policy: nothing thrown by a route crosses into the server's async chain.
  // HttpServer ignores a second respond, so a route that answered then threw is fine.
  try {
    route->second(req, respond);
  } catch (const std::exception& e) {
    respond(text_response(500, std::string("internal error: ") + e.what() + "\n"));
  }
}

std::string HttpHandler::route_label(std::string_view path) const {
  auto it = routes_.find(path);
  return it == routes_.end() ? std::string("other") : it->first;
}

}  // namespace sb::http
