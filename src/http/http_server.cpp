#include "http/http_server.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/http_handler.hpp"
#include "http/http_session.hpp"

namespace sb::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

bool split_host_port(const std::string& host_port, std::string& host, std::uint16_t& port) {
  std::string_view s = host_port;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    // "[::1]:8080": brackets are how an IPv6 literal carries a port (RFC 3986 §3.2.2).
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(s.substr(0, colon));
    // A bare IPv6 address without brackets is ambiguous.
    if (host.find(':') != std::string::npos) return false;
    port_text = s.substr(colon + 1);
  }
  if (host.empty() || port_text.empty()) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

struct HttpServer::Shared : std::enable_shared_from_this<HttpServer::Shared> {
  Shared(net::io_context& io, HttpHandler& handler, HttpServerOptions options)
      : io(io),
        ctx(std::make_shared<SessionContext>(SessionContext{
            handler, options, options.metrics ? *options.metrics : Metrics::global(), {}})),
        acceptor(io),
        retry_timer(io) {}

  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);

  net::io_context& io;
  std::shared_ptr<SessionContext> ctx;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::vector<std::weak_ptr<HttpSession>> sessions;
  std::uint16_t port = 0;
  bool stopped = false;
};

void HttpServer::Shared::do_accept() {
  if (stopped) return;
  acceptor.async_accept(io, [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void HttpServer::Shared::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopped) return;
  if (ec) {
    // E.g. EMFILE: pause instead of spinning on an error that will repeat at once.
    log::get("http")->warn("accept: {}", ec.message());
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  if (sessions.size() >= ctx->options.max_connections) {
    // Bounded sessions (DESIGN "bounded everything keyed by remote input").
    boost::system::error_code ignored;
    socket.close(ignored);
  } else {
    auto session = std::make_shared<HttpSession>(std::move(socket), ctx);
    sessions.push_back(session);
    session->start();
  }
  do_accept();
}

HttpServer::HttpServer(net::io_context& io, HttpHandler& handler, HttpServerOptions options)
    : shared_(std::make_shared<Shared>(io, handler, options)) {}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::listen(const std::string& host_port, std::string& error) {
  auto& s = *shared_;
  if (s.acceptor.is_open() || s.stopped) {
    error = "already listening or stopped";
    return false;
  }
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(host_port, host, port)) {
    error = "bad listen address '" + host_port + "' (want host:port or [v6]:port)";
    return false;
  }
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    // A host name: resolved once, at start-up, where blocking is acceptable.
    tcp::resolver resolver(s.io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      error = "cannot resolve '" + host + "': " + (ec ? ec.message() : "no address");
      return false;
    }
    endpoint = results.begin()->endpoint();
  }
  auto fail = [&](const char* what) {
    error = std::string(what) + " " + host_port + ": " + ec.message();
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    return false;
  };
  // With BOOST_ASIO_NO_DEPRECATED these return void: check ec after each.
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("reuse_address");
  s.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  s.port = s.acceptor.local_endpoint(ec).port();
  log::get("http")->info("listening on {}", host_port);
  s.do_accept();
  return true;
}

std::uint16_t HttpServer::port() const { return shared_->port; }

void HttpServer::stop() {
  auto& s = *shared_;
  if (s.stopped) return;
  s.stopped = true;
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  s.retry_timer.cancel();
  for (auto& weak : s.sessions)
    if (auto session = weak.lock()) session->close();
  s.sessions.clear();
}

}  // namespace sb::http
