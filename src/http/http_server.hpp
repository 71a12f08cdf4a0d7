// The one HTTP listener (SPEC §9), on Boost.Beast. After Asio's http/server example:
// a session owns its socket and nothing else; HttpHandler decides every reply.
//
// Bounds (SPEC §9 "bounded bodies, read timeouts"): headers 8 KiB (431 beyond),
// bodies 1 MiB (413), a read/write timeout per request (idle keep-alive connections
// and clients that send nothing are closed), a cap on concurrent connections.
// A malformed request gets 400 and the connection is closed.
//
// Threading: everything runs on the given io_context, which must be run by a single
// thread (the process's io thread); the server starts no threads. Call listen(),
// stop() and the destructor on that thread (or before it runs). Sessions keep the
// shared internals alive, so destroying the server with handlers still queued is
// safe; the HttpHandler must outlive the io_context's run.
//
// Metrics: every reply is counted in switchboard_http_requests_total{path,status},
// path being the route or "other".
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace sb {
class Metrics;
}

namespace sb::http {

class HttpHandler;

struct HttpServerOptions {
  std::chrono::milliseconds read_timeout{10'000};     // per request, also idle keep-alive
  std::chrono::milliseconds handler_timeout{30'000};  // a route that never answers -> 503
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::size_t max_connections = 256;                  // beyond: accepted and closed at once
  Metrics* metrics = nullptr;                         // nullptr: Metrics::global()
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpHandler& handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. host_port: "127.0.0.1:8080", "[::1]:8080",
  // "localhost:8080" (resolved once, here); port 0 picks a free port (see port()).
  // False with a readable `error` on a bad address or a bind failure.
  bool listen(const std::string& host_port, std::string& error);
  // The bound port (useful with port 0); 0 before a successful listen().
  std::uint16_t port() const;
  // Closes the acceptor and every open connection; idempotent.
  void stop();

  struct Shared;
 private:
  std::shared_ptr<Shared> shared_;
};

// Parses "host:port" / "[v6]:port" into its parts; false on a malformed string.
// Exposed for tests.
bool split_host_port(const std::string& host_port, std::string& host, std::uint16_t& port);

}  // namespace sb::http
