// Internal to src/http: one HTTP/1.1 connection (after Asio's http/server
// `connection` and Beast's chat-multi `http_session`). It owns the socket and the
// read buffer only; HttpHandler decides replies. Every pending handler holds
// shared_from_this(), so the session lives exactly as long as it has work.
//
// Flow per request: read (deadline = read_timeout, header and body bounded) ->
// handler (deadline = handler_timeout) -> write (deadline = read_timeout) -> next
// read on keep-alive, else a lingering close (drain what the client still sends, so
// the reply is not destroyed by a TCP reset).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/http_handler.hpp"
#include "http/http_server.hpp"

namespace sb {
class Counter;
}

namespace sb::http {

// What sessions share with the listener; kept alive by every session.
struct SessionContext {
  HttpHandler& handler;
  HttpServerOptions options;
  Metrics& metrics;
  // (route label, status) -> counter; the io thread is the only user.
  std::map<std::pair<std::string, int>, Counter*> counters;
  void count(const std::string& label, int status);
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SessionContext> ctx);
  void start();
  // Immediate close: cancels whatever is pending (used by HttpServer::stop()).
  void close();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec);
  void dispatch(boost::beast::http::request<boost::beast::http::string_body>&& msg);
  void on_handler_response(HttpResponse response, std::uint64_t seq);
  void send(HttpResponse response, bool keep_alive);
  void on_write(boost::beast::error_code ec, bool close);
  void linger_close();
  void do_linger();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<SessionContext> ctx_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> response_;
  boost::asio::steady_timer handler_timer_;
  std::uint64_t seq_ = 0;          // identifies the request a late respond() belongs to
  bool awaiting_handler_ = false;
  bool closed_ = false;
  unsigned version_ = 11;          // of the request being answered
  bool keep_alive_ = true;
  std::string label_ = "other";    // metrics path label of the request being answered
  char drain_[512];
};

}  // namespace sb::http
