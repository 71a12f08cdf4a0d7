// The Beast listener end to end on 127.0.0.1, port 0, with a Beast client on the same
// io_context (SPEC §9: only the known paths, bounded bodies, read timeouts).
// Every client operation carries its own 5 s deadline and the whole run is bounded,
// so a server that fails to close shows up as a failed check, never a hang; no check
// measures time.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/metrics.hpp"
#include "http/http_handler.hpp"
#include "http/http_server.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using sb::http::ComponentHealth;

namespace {

struct Reply {
  beast::error_code ec;
  bhttp::response<bhttp::string_body> res;
};

struct Harness {
  explicit Harness(sb::http::HttpServerOptions opts = {}) : handler([this] { return comps; }, metrics), server(io, handler, with_metrics(opts)) {
    std::string error;
    REQUIRE_MESSAGE(server.listen("127.0.0.1:0", error), error);
    REQUIRE(server.port() != 0);
  }
  sb::http::HttpServerOptions with_metrics(sb::http::HttpServerOptions o) {
    o.metrics = &metrics;
    return o;
  }

  // Runs the client coroutine; the server is stopped when it ends, which lets run() return.
  void run(std::function<net::awaitable<void>()> client) {
    bool done = false;
    std::exception_ptr err;
    net::co_spawn(io, client(), [&](std::exception_ptr e) {
      err = e;
      done = true;
      server.stop();
    });
    io.run_for(30s);
    REQUIRE(done);
    if (err) std::rethrow_exception(err);
  }

  net::awaitable<beast::tcp_stream> connect() {
    beast::tcp_stream s(io);
    s.expires_after(5s);
    co_await s.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()),
                             net::use_awaitable);
    co_return s;
  }

  net::io_context io;
  sb::Metrics metrics;
  std::vector<ComponentHealth> comps;
  sb::http::HttpHandler handler;
  sb::http::HttpServer server;
};

net::awaitable<beast::error_code> send_raw(beast::tcp_stream& s, const std::string& raw) {
  beast::error_code ec;
  s.expires_after(5s);
  co_await net::async_write(s, net::buffer(raw), net::redirect_error(net::use_awaitable, ec));
  co_return ec;
}

net::awaitable<Reply> read_reply(beast::tcp_stream& s, beast::flat_buffer& buf) {
  Reply r;
  s.expires_after(5s);
  co_await bhttp::async_read(s, buf, r.res, net::redirect_error(net::use_awaitable, r.ec));
  co_return r;
}

// After the server decided to close: the next read ends with EOF (not our 5 s deadline).
net::awaitable<beast::error_code> read_until_closed(beast::tcp_stream& s) {
  beast::error_code ec;
  char byte[256];
  s.expires_after(5s);
  for (;;) {
    co_await s.async_read_some(net::buffer(byte), net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return ec;
  }
}

bool closed_by_peer(const beast::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset;
}

}  // namespace

TEST_CASE("server: GET /healthz and a 404 on one keep-alive connection, both counted") {
  Harness h;
  h.comps = {ComponentHealth{"mqtt.example.org", "mqtt", true, false, "broker refused"}};
  h.run([&]() -> net::awaitable<void> {
    auto s = co_await h.connect();
    beast::flat_buffer buf;
    CHECK_FALSE(co_await send_raw(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r1 = co_await read_reply(s, buf);
    REQUIRE_FALSE(r1.ec);
    CHECK(r1.res.result_int() == 503);
    CHECK(r1.res[bhttp::field::content_type] == "application/json");
    auto j = nlohmann::json::parse(r1.res.body());
    CHECK(j["components"]["mqtt.example.org"]["backend"] == "down");
    CHECK(r1.res.keep_alive());

    // Same connection: keep-alive works.
    CHECK_FALSE(co_await send_raw(s, "GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r2 = co_await read_reply(s, buf);
    REQUIRE_FALSE(r2.ec);
    CHECK(r2.res.result_int() == 404);

    // Connection: close is honoured.
    CHECK_FALSE(co_await send_raw(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto r3 = co_await read_reply(s, buf);
    REQUIRE_FALSE(r3.ec);
    CHECK(r3.res.result_int() == 200);
    CHECK(r3.res[bhttp::field::content_type] == "text/plain; version=0.0.4");
    // The two earlier requests are already in the rendered registry.
    CHECK(r3.res.body().find("switchboard_http_requests_total{path=\"/healthz\",status=\"503\"} 1") !=
          std::string::npos);
    CHECK(r3.res.body().find("switchboard_http_requests_total{path=\"other\",status=\"404\"} 1") !=
          std::string::npos);
    CHECK(closed_by_peer(co_await read_until_closed(s)));
  });
}

TEST_CASE("server: a declared body over the limit gets 413 and the connection closes") {
  Harness h;
  h.run([&]() -> net::awaitable<void> {
    auto s = co_await h.connect();
    beast::flat_buffer buf;
    CHECK_FALSE(co_await send_raw(s, "POST /sms/twilio HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
    auto r = co_await read_reply(s, buf);
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.result_int() == 413);
    CHECK(closed_by_peer(co_await read_until_closed(s)));
  });
}

TEST_CASE("server: an oversized body actually sent is refused (413 or closed), not buffered") {
  Harness h;
  h.run([&]() -> net::awaitable<void> {
    auto s = co_await h.connect();
    beast::flat_buffer buf;
    std::string body(1024 * 1024 + 512, 'x');
    auto ec = co_await send_raw(s, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                                       "\r\n\r\n" + body);
    if (!ec) {
      auto r = co_await read_reply(s, buf);
      if (!r.ec) CHECK(r.res.result_int() == 413);
      else CHECK(closed_by_peer(r.ec));
    } else {
      CHECK(closed_by_peer(ec));
    }
    CHECK(closed_by_peer(co_await read_until_closed(s)));
  });
}

TEST_CASE("server: headers over 8 KiB get 431; garbage and absolute targets get 400") {
  Harness h;
  h.run([&]() -> net::awaitable<void> {
    for (auto [raw, want] : std::vector<std::pair<std::string, unsigned>>{
             {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431},
             {"HELLO THERE\r\n\r\n", 400},
             {"GET http://example.org/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
         }) {
      auto s = co_await h.connect();
      beast::flat_buffer buf;
      CHECK_FALSE(co_await send_raw(s, raw));
      auto r = co_await read_reply(s, buf);
      REQUIRE_FALSE(r.ec);
      CHECK(r.res.result_int() == want);
      CHECK(closed_by_peer(co_await read_until_closed(s)));
    }
  });
}

TEST_CASE("server: a client that sends nothing, or half a request, is closed after the read timeout") {
  sb::http::HttpServerOptions opts;
  opts.read_timeout = 200ms;
  Harness h(opts);
  h.run([&]() -> net::awaitable<void> {
    auto silent = co_await h.connect();
    auto ec = co_await read_until_closed(silent);
    CHECK(closed_by_peer(ec));  // not our own 5 s deadline (beast::error::timeout)

    auto slow = co_await h.connect();
    CHECK_FALSE(co_await send_raw(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    CHECK(closed_by_peer(co_await read_until_closed(slow)));
  });
}

TEST_CASE("server: an added route answers asynchronously; one that never answers gets 503") {
  sb::http::HttpServerOptions opts;
  opts.handler_timeout = 200ms;
  Harness h(opts);
  net::steady_timer later(h.io);
  REQUIRE(h.handler.add_route("POST", "/sms/test", [&](const sb::http::HttpRequestFull& req, sb::http::Respond respond) {
    // Answer on a later turn of the loop, as after a durable store.
    later.expires_after(1ms);
    later.async_wait([respond, body = req.body, sig = req.headers.get("x-signature")](beast::error_code) {
      respond(sb::http::text_response(200, sig + ":" + body));
      respond(sb::http::text_response(500, "second answer is ignored"));
    });
  }));
  REQUIRE(h.handler.add_route("POST", "/sms/mute", [](const sb::http::HttpRequestFull&, sb::http::Respond) {}));
  h.run([&]() -> net::awaitable<void> {
    auto s = co_await h.connect();
    beast::flat_buffer buf;
    CHECK_FALSE(co_await send_raw(s, "POST /sms/test?a=1 HTTP/1.1\r\nHost: x\r\nX-Signature: sig\r\n"
                                     "Content-Length: 5\r\n\r\nhello"));
    auto r = co_await read_reply(s, buf);
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.result_int() == 200);
    CHECK(r.res.body() == "sig:hello");

    // Still usable after the late duplicate answer.
    CHECK_FALSE(co_await send_raw(s, "POST /sms/mute HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    auto r2 = co_await read_reply(s, buf);
    REQUIRE_FALSE(r2.ec);
    CHECK(r2.res.result_int() == 503);
    CHECK(closed_by_peer(co_await read_until_closed(s)));
  });
}

TEST_CASE("server: stop() closes idle connections and the listener") {
  Harness h;
  h.run([&]() -> net::awaitable<void> {
    auto s = co_await h.connect();
    h.server.stop();
    CHECK(closed_by_peer(co_await read_until_closed(s)));
    beast::tcp_stream again(h.io);
    beast::error_code ec;
    again.expires_after(5s);
    co_await again.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), h.server.port()),
                                 net::redirect_error(net::use_awaitable, ec));
    CHECK(ec == net::error::connection_refused);
  });
}

TEST_CASE("server: listen reports bad addresses and ports in use") {
  net::io_context io;
  sb::http::HttpHandler handler(nullptr);
  sb::http::HttpServer a(io, handler), b(io, handler), c(io, handler);
  std::string error;
  CHECK_FALSE(a.listen("127.0.0.1", error));
  CHECK(error.find("bad listen address") != std::string::npos);
  CHECK_FALSE(a.listen("127.0.0.1:70000", error));
  CHECK_FALSE(a.listen("::1:8080", error));  // IPv6 needs brackets
  REQUIRE(b.listen("127.0.0.1:0", error));
  CHECK_FALSE(c.listen("127.0.0.1:" + std::to_string(b.port()), error));
  CHECK(error.find("bind") != std::string::npos);
}

TEST_CASE("server: split_host_port") {
  std::string host;
  std::uint16_t port = 1;
  CHECK(sb::http::split_host_port("127.0.0.1:8080", host, port));
  CHECK(host == "127.0.0.1");
  CHECK(port == 8080);
  CHECK(sb::http::split_host_port("[::1]:0", host, port));
  CHECK(host == "::1");
  CHECK(port == 0);
  CHECK(sb::http::split_host_port("localhost:9", host, port));
  CHECK(host == "localhost");
  CHECK_FALSE(sb::http::split_host_port("[::1]8080", host, port));
  CHECK_FALSE(sb::http::split_host_port(":8080", host, port));
  CHECK_FALSE(sb::http::split_host_port("host:", host, port));
  CHECK_FALSE(sb::http::split_host_port("host:80x", host, port));
  CHECK_FALSE(sb::http::split_host_port("host:-1", host, port));
}
