#include "component/component_link.hpp"

#include <random>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/tcp_quickack.hpp"

namespace sb::xmpp {
namespace asio = boost::asio;
using boost::system::error_code;

ComponentLink::ComponentLink(asio::io_context& io, std::string host, std::uint16_t port, SessionConfig cfg,
                             const Clock& clock, LinkHandlers handlers)
    : io_(io), socket_(io), retry_timer_(io), tick_timer_(io), stop_timer_(io), host_(std::move(host)), port_(port),
      domain_(cfg.domain), session_(std::move(cfg), clock), handlers_(std::move(handlers)) {
  auto& m = Metrics::global();
  m_reconnects_ = &m.counter("switchboard_reconnects_total", "Component connections (re)established", {{"domain", domain_}});
  m_queue_ = &m.gauge("switchboard_queue_depth", "Items waiting in a queue",
                      {{"domain", domain_}, {"queue", "component"}});
}

void ComponentLink::start() {
  do_connect();
  start_tick();
}

void ComponentLink::start_tick() {
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || (self->stopping_ && !self->connected_)) return;
    if (self->connected_) {
      self->session_.on_tick();
      self->process();
    }
    self->start_tick();
  });
}

void ComponentLink::do_connect() {
  if (stopping_) return;
  ++attempt_;
  log::get(domain_)->info("connecting to {}:{} (attempt {})", host_, port_, attempt_);
  error_code ec;
  auto addr = asio::ip::make_address(host_, ec);
  if (ec) {
    // A host name: resolve synchronously would block the loop; resolve async.
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
    resolver->async_resolve(host_, std::to_string(port_),
                            [self = shared_from_this(), resolver](const error_code& ec, asio::ip::tcp::resolver::results_type r) {
                              if (ec) {
                                log::get(self->domain_)->warn("cannot resolve {}: {}", self->host_, ec.message());
                                self->schedule_reconnect();
                                return;
                              }
                              asio::async_connect(self->socket_, r,
                                                  [self](const error_code& ec, const asio::ip::tcp::endpoint&) { self->on_connect(ec); });
                            });
    return;
  }
  socket_.async_connect(asio::ip::tcp::endpoint(addr, port_), [self = shared_from_this()](const error_code& ec) { self->on_connect(ec); });
}

void ComponentLink::on_connect(const error_code& ec) {
  if (stopping_) {
    finish_stop();
    return;
  }
  if (ec) {
    log::get(domain_)->warn("cannot connect to {}:{}: {}", host_, port_, ec.message());
    error_code ignored;
    socket_.close(ignored);
    schedule_reconnect();
    return;
  }
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_.set_option(asio::socket_base::keep_alive(true), ignored);
  connected_ = true;
  quick_ack();
  session_.on_connected();
  process();
  do_read();
}

// The server's answer to our delivery-proof ping must not wait for a delayed ACK
// (common/tcp_quickack.hpp).
void ComponentLink::quick_ack() { net::rearm_quick_ack(socket_.native_handle()); }

void ComponentLink::do_read() {
  socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void ComponentLink::on_read(const error_code& ec, std::size_t n) {
  if (!connected_) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    drop(ec == asio::error::eof ? "the server closed the connection" : "read failed: " + ec.message());
    return;
  }
  quick_ack();
  session_.on_bytes(std::string_view(read_buf_.data(), n));
  process();
  if (connected_) do_read();
}

void ComponentLink::process() {
  pull_output();  // e.g. the handshake must go out before the stanzas it unlocks
  if (session_.take_authenticated()) {
    // The backoff restarts only once a connection has stayed up (see drop()):
    // a server that accepts the handshake and then fails us must not be hammered.
    authenticated_at_ = std::chrono::steady_clock::now();
    was_authenticated_ = true;
    m_reconnects_->inc();
    log::get(domain_)->info("authenticated to {}:{} as {}", host_, port_, domain_);
    if (handlers_.on_authenticated) handlers_.on_authenticated();
  }
  auto received = session_.take_received();
  for (auto& s : received) {
    if (handlers_.on_stanza) handlers_.on_stanza(std::move(s));
  }
  if (auto proven = session_.take_proven(); !proven.empty() && handlers_.on_proven) handlers_.on_proven(std::move(proven));
  // The core may have produced stanzas while handling the above; they leave
  // together in this turn's flush.
  schedule_flush();
  m_queue_->set(static_cast<std::int64_t>(session_.waiting() + session_.unproven()));
  if (auto failure = session_.take_failure()) {
    auto lg = log::get(domain_);
    if (failure->condition == "closed" && stopping_) {
      lg->info("{}", failure->text);
    } else {
      lg->error("{} [{}]", failure->text, failure->condition);
    }
    // The stream error we may have queued goes out first; then the connection is dropped.
    drop_after_write_ = failure->text;
    if (!write_in_flight_) do_write();
  }
}

void ComponentLink::send(Stanza&& s, std::uint64_t token) {
  session_.send(std::move(s), token);
  schedule_flush();
}

void ComponentLink::send_xml(std::string xml, std::uint64_t token) {
  session_.send_xml(std::move(xml), token);
  schedule_flush();
}

void ComponentLink::pull_output() {
  session_.take_output_into(pending_);
}

void ComponentLink::schedule_flush() {
  if (flush_posted_ || write_in_flight_ || !connected_) return;
  flush_posted_ = true;
  // One write per event-loop turn: everything sent during this turn joins it,
  // followed by one delivery-proof ping.
  asio::post(io_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->do_write();
  });
}

void ComponentLink::do_write() {
  if (write_in_flight_ || !connected_) return;
  pull_output();
  if (pending_.empty()) {
    if (drop_after_write_) drop(*std::exchange(drop_after_write_, std::nullopt));
    return;
  }
  writing_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_), [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->write_in_flight_ = false;
    // Kept for the next write, unless a burst (a 200-user room join) grew it:
    // then given back, or the daemon would hold the burst's size for ever.
    if (self->writing_.capacity() > kKeepBufferBytes) std::string().swap(self->writing_);
    else self->writing_.clear();
    if (ec) {
      if (ec != asio::error::operation_aborted && self->connected_) self->drop("write failed: " + ec.message());
      return;
    }
    self->pull_output();  // what was queued while this write was in flight
    if (!self->pending_.empty() || self->drop_after_write_) self->do_write();
    else if (self->stopping_ && self->session_.state() == SessionState::Closing) {
      // Our </stream:stream> is out; give the server a moment to close its side.
      self->stop_timer_.expires_after(std::chrono::seconds(2));
      self->stop_timer_.async_wait([self](const error_code& ec) {
        if (!ec) self->drop("stopped");
      });
    }
  });
}

void ComponentLink::drop(const std::string& why) {
  drop_after_write_.reset();
  if (!connected_) return;
  connected_ = false;
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  pending_.clear();
  session_.on_disconnected();
  const bool had_auth = std::exchange(was_authenticated_, false);
  if (had_auth && std::chrono::steady_clock::now() - authenticated_at_ >= std::chrono::seconds(30)) attempt_ = 0;
  if (had_auth && handlers_.on_disconnected) handlers_.on_disconnected();
  if (stopping_) {
    finish_stop();
    return;
  }
  log::get(domain_)->warn("disconnected ({}); reconnecting", why);
  schedule_reconnect();
}

void ComponentLink::schedule_reconnect() {
  if (stopping_) {
    finish_stop();
    return;
  }
  // SPEC §3: 1 s doubling to 60 s, with jitter so many instances don't reconnect in step.
  const int exp = std::min(attempt_ > 0 ? attempt_ - 1 : 0, 6);
  double delay = std::min(60.0, static_cast<double>(1 << exp));
  static thread_local std::mt19937 rng{std::random_device{}()};
  delay *= std::uniform_real_distribution<double>(0.75, 1.25)(rng);
  delay = std::min(delay, 60.0);
  log::get(domain_)->info("next connection attempt in {:.1f} s", delay);
  retry_timer_.expires_after(std::chrono::milliseconds(static_cast<int>(delay * 1000)));
  retry_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->do_connect();
  });
}

void ComponentLink::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stop_done_ = std::move(done);
  retry_timer_.cancel();
  if (!connected_) {
    error_code ignored;
    socket_.close(ignored);  // aborts a pending connect
    finish_stop();
    return;
  }
  session_.close();
  process();
  if (!write_in_flight_ && pending_.empty()) {
    stop_timer_.expires_after(std::chrono::seconds(2));
    stop_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->drop("stopped");
    });
  }
}

void ComponentLink::finish_stop() {
  tick_timer_.cancel();
  stop_timer_.cancel();
  retry_timer_.cancel();
  if (auto done = std::exchange(stop_done_, nullptr)) done();
}

}  // namespace sb::xmpp
