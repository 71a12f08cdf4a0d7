#include "http/http_session.hpp"

#include <boost/asio/post.hpp>

#include "common/log.hpp"
#include "common/metrics.hpp"

namespace sb::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

void SessionContext::count(const std::string& label, int status) {
  auto key = std::make_pair(label, status);
  auto it = counters.find(key);
  if (it == counters.end()) {
    // Registration takes the metrics mutex: once per (path, status), then cached.
    Counter& c = metrics.counter("switchboard_http_requests_total",
                                 "HTTP requests answered, by route and status",
                                 {{"path", label}, {"status", std::to_string(status)}});
    it = counters.emplace(std::move(key), &c).first;
  }
  it->second->inc();
}

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<SessionContext> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)), handler_timer_(stream_.get_executor()) {}

void HttpSession::start() { do_read(); }

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  awaiting_handler_ = false;
  handler_timer_.cancel();
  stream_.close();  // pending reads/writes complete with operation_aborted
}

void HttpSession::do_read() {
  if (closed_) return;
  // A fresh parser per request: its limits apply per message (SPEC §9 bounded bodies).
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(ctx_->options.header_limit));
  parser_->body_limit(ctx_->options.body_limit);
  // One deadline for the whole message, so a client trickling bytes is cut off too.
  stream_.expires_after(ctx_->options.read_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void HttpSession::on_read(beast::error_code ec) {
  if (ec == net::error::operation_aborted || closed_) return;
  if (ec) {
    // Reply where the client is owed one, then close; otherwise just close.
    int status = 0;
    if (ec == bhttp::error::body_limit) status = 413;
    else if (ec == bhttp::error::header_limit) status = 431;
    else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
      status = 400;
    if (status == 0) {
      // end_of_stream (client done), timeout (slow or idle client), reset: nothing to say.
      if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout)
        log::get("http")->debug("read: {}", ec.message());
      if (ec == bhttp::error::end_of_stream) linger_close();
      else close();
      return;
    }
    if (parser_ && parser_->is_header_done()) {
      std::string target(parser_->get().target());
      label_ = ctx_->handler.route_label(std::string_view(target).substr(0, target.find('?')));
      version_ = parser_->get().version();
    } else {
      label_ = "other";
      version_ = 11;
    }
    const char* text = status == 413 ? "body too large\n"
                       : status == 431 ? "header too large\n"
                                       : "bad request\n";
    send(text_response(status, text), false);
    return;
  }
  dispatch(parser_->release());
}

void HttpSession::dispatch(bhttp::request<bhttp::string_body>&& msg) {
  HttpRequestFull req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  version_ = msg.version();
  keep_alive_ = msg.keep_alive();
  // Only origin-form targets name our routes (RFC 9112 §3.2.1).
  if (req.target.empty() || req.target.front() != '/') {
    label_ = "other";
    send(text_response(400, "bad request target\n"), false);
    return;
  }
  for (const auto& field : msg) req.headers.add(std::string(field.name_string()), std::string(field.value()));
  req.body = std::move(msg.body());
  label_ = ctx_->handler.route_label(req.path());

  const std::uint64_t seq = ++seq_;
  awaiting_handler_ = true;
  // A route that never answers must not pin the connection forever.
  handler_timer_.expires_after(ctx_->options.handler_timeout);
  handler_timer_.async_wait([self = shared_from_this(), seq](beast::error_code ec) {
    if (ec || !self->awaiting_handler_ || seq != self->seq_ || self->closed_) return;
    self->awaiting_handler_ = false;
    self->send(text_response(503, "handler timed out\n"), false);
  });
  // respond may be called from any thread and more than once: hop to the io thread,
  // and let on_handler_response keep only the first answer to this request.
  Respond respond = [self = shared_from_this(), ex = stream_.get_executor(), seq](HttpResponse r) {
    net::post(ex, [self, seq, r = std::move(r)]() mutable { self->on_handler_response(std::move(r), seq); });
  };
  try {
    ctx_->handler.handle(req, std::move(respond));
  } catch (const std::exception& e) {
    // Errors policy: nothing thrown crosses the async boundary.
    log::get("http")->error("handler for {}: {}", req.target, e.what());
    on_handler_response(text_response(500, "internal error\n"), seq);
  }
}

void HttpSession::on_handler_response(HttpResponse response, std::uint64_t seq) {
  if (closed_ || !awaiting_handler_ || seq != seq_) return;
  awaiting_handler_ = false;
  handler_timer_.cancel();
  send(std::move(response), keep_alive_);
}

void HttpSession::send(HttpResponse r, bool keep_alive) {
  if (closed_) return;
  if (r.status < 100 || r.status > 599) r.status = 500;  // Beast rejects codes > 999
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
  res->version(version_);
  res->result(static_cast<unsigned>(r.status));
  res->set(bhttp::field::server, "switchboard");
  if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) res->insert(name, value);
  res->body() = std::move(r.body);
  res->keep_alive(keep_alive);
  res->prepare_payload();
  ctx_->count(label_, r.status);
  response_ = res;  // kept alive until the write completes: one write in flight
  stream_.expires_after(ctx_->options.read_timeout);
  bhttp::async_write(stream_, *response_,
                     [self = shared_from_this(), close = !keep_alive](beast::error_code ec, std::size_t) {
                       self->on_write(ec, close);
                     });
}

void HttpSession::on_write(beast::error_code ec, bool close_after) {
  if (ec == net::error::operation_aborted || closed_) return;
  response_.reset();
  if (ec) {
    log::get("http")->debug("write: {}", ec.message());
    close();
    return;
  }
  if (close_after) linger_close();
  else do_read();
}

void HttpSession::linger_close() {
  // Send FIN first, then read and discard until the client closes (or the deadline):
  // closing with unread input would reset the connection and could destroy the
  // reply (e.g. a 413 while the client is still uploading).
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close();
    return;
  }
  stream_.expires_after(ctx_->options.read_timeout);
  do_linger();
}

void HttpSession::do_linger() {
  if (closed_) return;
  stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec == net::error::operation_aborted && self->closed_) return;
    if (ec) self->close();
    else self->do_linger();
  });
}

}  // namespace sb::http
