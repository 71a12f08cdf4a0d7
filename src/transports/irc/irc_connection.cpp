#include "transports/irc/irc_connection.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "common/log.hpp"
#include "common/tcp_quickack.hpp"
#include "transports/irc/irc_cap.hpp"
#include "transports/irc/irc_flood.hpp"

namespace sb::transport::irc {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using Steady = std::chrono::steady_clock;

namespace {

// IRCv3 message-tags: up to 8191 bytes of tags plus the 512-byte RFC line (CR LF
// included) — and the CR LF of the tags part's own separator, to be generous.
constexpr std::size_t kMaxLine = 8191 + 512 + 2;
// Buffers that grew past this (one big line, a channel's NAMES burst on join) are
// given back once handled: 200 idle connections must not each keep kilobytes (the
// heap profile of 200 users in one channel found ~3 kB per user in read buffers
// at 4096). Costs at most one allocation per read, never per line.
constexpr std::size_t kShrinkAbove = 1024;

template <class... A>
std::string cat(const A&... a) {
  std::string s;
  (s.append(a), ...);
  return s;
}

std::string seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One client TLS context per CA file, shared by every connection: the system CA
// store is large, and the IRC benchmark runs hundreds of connections. Verification
// (mode, host name) is set per connection on its SSL object.
std::shared_ptr<ssl::context> client_context(const std::string& ca_file, std::string& error) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ssl::context>> cache;  // keyed by config values: bounded
  std::lock_guard lock(mu);
  if (auto c = cache[ca_file].lock()) return c;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Idle connections give their record buffers back to the allocator.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  error_code ec;
  ctx->set_default_verify_paths(ec);  // no system store: only ca_file (or verify = false) can work
  if (!ca_file.empty()) {
    if (!std::ifstream(ca_file).good()) {
      error = cat("cannot read ca_file '", ca_file, "': ", std::strerror(errno));
      return nullptr;
    }
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      error = cat("ca_file '", ca_file, "' holds no usable PEM certificate");
      return nullptr;
    }
  }
  cache[ca_file] = ctx;
  return ctx;
}

// A user name for USER: one word (it is a middle parameter), no '@'.
std::string user_word(std::string_view s) {
  std::string out;
  for (char c : s)
    if (static_cast<unsigned char>(c) > ' ' && c != '@' && c != ':' && c != 0x7f) out.push_back(c);
  return out;
}

}  // namespace

struct IrcConnection::Impl : std::enable_shared_from_this<IrcConnection::Impl> {
  enum class State { Idle, Connecting, Registering, Registered, Closing, Closed };

  Impl(asio::any_io_executor ex, ServerConfig server, Identity id, ConnectionHandlers h, ConnectionTimings t)
      : ex_(ex),
        server_(std::move(server)),
        id_(std::move(id)),
        h_(std::move(h)),
        t_(t),
        deadline_(ex),
        idle_(ex),
        flood_(ex),
        cap_(id_.sasl_user.empty() ? id_.nick : id_.sasl_user, id_.sasl_password),
        bucket_(server_.flood, Steady::now()),
        nick_(id_.nick),
        log_(log::get("irc")) {}

  // --- the owner's calls -------------------------------------------------------

  void start() {
    if (state_ != State::Idle) return;
    state_ = State::Connecting;
    if (server_.tls) {
      std::string error;
      ctx_ = client_context(server_.ca_file, error);
      if (!ctx_) return finish(error, false);
      tls_.emplace(ex_, *ctx_);
      if (!setup_tls(error)) return finish(error, false);
    } else {
      plain_.emplace(ex_);
    }
    log_->debug("{}: connecting as {}{}", where(), id_.nick, server_.tls ? " (TLS)" : "");
    arm_deadline(t_.connect_timeout);
    phase_ = "resolving the name";
    resolver_.emplace(ex_);
    resolver_->async_resolve(server_.host, std::to_string(server_.port),
                             [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type r) {
                               self->on_resolved(ec, std::move(r));
                             });
  }

  bool enqueue(std::string line) {
    if (line.empty()) return false;
    if (state_ == State::Closing || state_ == State::Closed) {
      log_->debug("{}: not sent, the connection is closing: {}", where(), line.substr(0, line.find(' ')));
      return false;
    }
    if (queue_.size() >= t_.max_queued) {
      log_->warn("{} ({}): {} lines already wait to be sent; line dropped", where(), nick_, queue_.size());
      return false;
    }
    queue_.push_back(std::move(line));
    schedule_flush();
    return true;
  }

  void begin_close(const std::string& reason, bool nick_rejected, const std::string& quit_text) {
    switch (state_) {
      case State::Closing:
      case State::Closed: return;
      case State::Idle:
      case State::Connecting: return finish(reason, nick_rejected);
      default: break;
    }
    const bool was_registered = state_ == State::Registered;
    state_ = State::Closing;
    close_reason_ = reason;
    nick_rejected_ = nick_rejected;
    // What the owner queued goes out before the QUIT, without waiting for the
    // bucket (we are leaving anyway). Before 001 the server would refuse it.
    if (was_registered)
      for (auto& l : queue_) urgent_.push_back(std::move(l));
    else if (!queue_.empty())
      log_->debug("{}: {} queued lines dropped: never registered", where(), queue_.size());
    queue_.clear();
    urgent_.push_back(quit_text.empty() ? std::string("QUIT") : make_line("QUIT", {quit_text}));
    flood_.cancel();
    idle_.cancel();
    arm_deadline(t_.quit_wait);  // then closed, whether the server closed or not
    pump();
  }

  // The owner dropped us: no handler from now on; quit if still open.
  void abandon() {
    abandoned_ = true;
    begin_close("", false, "");
    asio::post(ex_, [self = shared_from_this()] { self->h_ = {}; });
  }

  // --- connecting --------------------------------------------------------------

  bool setup_tls(std::string& error) {
    SSL* ssl = tls_->native_handle();
    const bool ip = is_ip_literal(server_.host);
    // RFC 6066 §3: SNI carries host names only, never address literals.
    if (!ip && SSL_set_tlsext_host_name(ssl, server_.host.c_str()) != 1) {
      error = cat("cannot set the TLS server name '", server_.host, "'");
      return false;
    }
    if (!server_.verify) {
      tls_->set_verify_mode(ssl::verify_none);
      return true;
    }
    tls_->set_verify_mode(ssl::verify_peer);
    // The certificate must name the host we connect to (OpenSSL checks it during
    // the handshake; Boost 1.74 has no host_name_verification).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_.host.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, server_.host.c_str(), server_.host.size());
    if (ok != 1) {
      error = cat("cannot verify certificates for '", server_.host, "'");
      return false;
    }
    return true;
  }

  void on_resolved(const error_code& ec, tcp::resolver::results_type results) {
    asio::post(ex_, [self = shared_from_this()] { self->resolver_.reset(); });
    if (state_ != State::Connecting) return;
    if (ec) return finish(cat("cannot resolve ", server_.host, ": ", ec.message()), false);
    phase_ = "connecting";
    asio::async_connect(lowest(), results, [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
      self->on_connected(ec);
    });
  }

  void on_connected(const error_code& ec) {
    if (state_ != State::Connecting) return;
    if (ec) return finish(cat("cannot connect to ", where(), ": ", ec.message()), false);
    error_code ignored;
    lowest().set_option(tcp::no_delay(true), ignored);
    lowest().set_option(asio::socket_base::keep_alive(true), ignored);
    if (!tls_) return on_ready();
    phase_ = "in the TLS handshake";
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const error_code& ec) {
    if (state_ != State::Connecting) return;
    if (!ec) return on_ready();
    std::string why = cat("TLS handshake with ", where(), " failed: ");
    const long verify = SSL_get_verify_result(tls_->native_handle());
    if (server_.verify && verify != X509_V_OK) {
      const bool name = verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH;
      why += cat("certificate not accepted (", X509_verify_cert_error_string(verify), "); ",
                 name ? cat("it does not name '", server_.host, "': set host to a name it lists, or ")
                      : std::string("add its CA as ca_file, or "),
                 "set verify = false for [irc.servers.\"", server_.name, "\"]");
    } else {
      why += ec.message();
    }
    finish(why, false);
  }

  void on_ready() {
    state_ = State::Registering;
    phase_.clear();
    log_->info("{}: connected{}, registering as {}", where(), tls_ ? " (TLS)" : "", id_.nick);
    last_rx_ = Steady::now();
    arm_deadline(t_.register_timeout);
    arm_idle(t_.ping_after);
    urgent_.push_back(CapNegotiator::start());
    if (!server_.password.empty()) urgent_.push_back(make_line("PASS", {server_.password}));
    urgent_.push_back(make_line("NICK", {id_.nick}));
    std::string user = user_word(id_.username.empty() ? id_.nick : id_.username);
    if (user.empty()) user = "user";
    const std::string& real = id_.realname.empty() ? user : id_.realname;
    urgent_.push_back(make_line("USER", {user, "0", "*", real}));
    do_read();
    pump();
  }

  // --- reading -----------------------------------------------------------------

  void do_read() {
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); };
    if (tls_) asio::async_read_until(*tls_, asio::dynamic_buffer(rbuf_, kMaxLine), '\n', std::move(handler));
    else asio::async_read_until(*plain_, asio::dynamic_buffer(rbuf_, kMaxLine), '\n', std::move(handler));
  }

  void on_read(const error_code& ec) {
    if (state_ == State::Closed) return release_buffers();
    if (ec == asio::error::not_found) {
      // The buffer is full and holds no line end: drop it all and everything up to
      // the next LF (the bound keeps memory flat whatever the server sends).
      if (!discarding_)
        log_->warn("{} ({}): discarding a line longer than {} bytes from the server", where(), nick_, kMaxLine);
      discarding_ = true;
      last_rx_ = Steady::now();
      std::string().swap(rbuf_);
      return do_read();
    }
    if (ec) return on_read_error(ec);
    last_rx_ = Steady::now();
    // IRC servers write with Nagle on (ngIRCd sets no TCP_NODELAY): without a quick
    // ACK their next lines wait for our delayed one (common/tcp_quickack.hpp).
    if (lowest().is_open()) net::rearm_quick_ack(lowest().native_handle());
    std::size_t start = 0;
    while (state_ != State::Closed) {
      const std::size_t nl = rbuf_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(rbuf_.data() + start, nl - start);
      start = nl + 1;
      if (discarding_) {  // the tail of a line too long
        discarding_ = false;
        continue;
      }
      handle_line(line);
    }
    if (state_ == State::Closed) return release_buffers();
    rbuf_.erase(0, start);
    if (rbuf_.capacity() > kShrinkAbove && rbuf_.size() < kShrinkAbove / 2) rbuf_.shrink_to_fit();
    pump();
    do_read();
  }

  void on_read_error(const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (state_ == State::Closing) return finish(close_reason_, nick_rejected_);
    const bool closed_by_peer = ec == asio::error::eof || ec == asio::error::connection_reset ||
                                ec == ssl::error::stream_truncated;
    std::string why = closed_by_peer ? cat(where(), " closed the connection")
                                     : cat("reading from ", where(), " failed: ", ec.message());
    if (!server_error_.empty()) why += cat(": ", server_error_);
    finish(why, false);
  }

  void handle_line(std::string_view line) {
    auto m = parse_line(line);
    if (!m) return;  // empty or no command: nothing to do
    const std::string& cmd = m->command;
    if (cmd == "PING" && state_ != State::Closing) urgent_.push_back(make_line("PONG", m->params));
    if (cmd == "ERROR") server_error_ = m->param(0).substr(0, 300);
    // Refusals before the server closes on us: the user should read why.
    if (state_ == State::Registering && (cmd == "463" || cmd == "464" || cmd == "465") && server_error_.empty())
      server_error_ =
          cat(cmd == "464" ? "the server password (PASS) was refused: " : "", m->param(m->params.size() - 1))
              .substr(0, 300);

    for (auto& l : cap_.on_message(*m)) urgent_.push_back(std::move(l));
    if (state_ == State::Registering && cap_.sasl_unavailable() && !sasl_warned_) {
      sasl_warned_ = true;
      log_->warn("{} ({}): the server offers no SASL PLAIN; connecting without logging in", where(), id_.nick);
    }

    bool registered_now = false;
    if (state_ == State::Registering) {
      if (cap_.failure()) {
        deliver(*m);
        return begin_close(*cap_.failure(), false, "");
      }
      if (cmd == "001") {
        state_ = State::Registered;
        registered_now = true;
        if (!m->param(0).empty()) nick_ = m->param(0);
        ++deadline_gen_;
        deadline_.cancel();
        log_->info("{}: registered as {}{}", where(), nick_, cap_.authenticated() ? " (SASL)" : "");
      } else if (cmd == "433" || cmd == "432" || cmd == "436" || cmd == "437") {
        deliver(*m);
        return begin_close(nick_refused(*m), true, "");
      }
    } else if (state_ == State::Registered && cmd == "NICK" && irc_lower(m->nick()) == irc_lower(nick_) &&
               !m->param(0).empty()) {
      nick_ = m->param(0);  // ours changed (the session asked, or the server forced it)
    }
    deliver(*m);
    if (registered_now && state_ == State::Registered && !abandoned_ && h_.on_registered) {
      const std::string nick = nick_;
      h_.on_registered(nick);
    }
  }

  std::string nick_refused(const IrcMessage& m) const {
    const std::string& nick = m.param(1).empty() ? id_.nick : m.param(1);
    std::string why = cat("the nick '", nick, "' ");
    if (m.command == "433") why += "is already in use";
    else if (m.command == "432") why += "is not allowed";
    else if (m.command == "436") why += "collided with another user";
    else why += "is temporarily unavailable";
    why += cat(" on ", server_.name);
    if (m.params.size() >= 3 && !m.params.back().empty()) why += cat(" (", m.params.back(), ")");
    return why;
  }

  void deliver(const IrcMessage& m) {
    if (state_ != State::Closed && !abandoned_ && h_.on_message) h_.on_message(m);
  }

  // --- writing -----------------------------------------------------------------

  void schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    // One write per event-loop turn: every line sent during this turn joins it.
    asio::post(ex_, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->pump();
    });
  }

  bool connected() const {
    return state_ == State::Registering || state_ == State::Registered || state_ == State::Closing;
  }

  void pump() {
    if (writing_now_ || !connected()) return;
    writing_.clear();
    for (auto& l : urgent_) writing_.append(l).append("\r\n");
    urgent_.clear();
    if (state_ == State::Registered) {
      const auto now = Steady::now();
      while (!queue_.empty() && bucket_.try_take(now)) {
        writing_.append(queue_.front()).append("\r\n");
        queue_.pop_front();
      }
      if (!queue_.empty()) arm_flood(now);
    }
    if (writing_.empty()) return;
    writing_now_ = true;
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); };
    if (tls_) asio::async_write(*tls_, asio::buffer(writing_), std::move(handler));
    else asio::async_write(*plain_, asio::buffer(writing_), std::move(handler));
  }

  void on_write(const error_code& ec) {
    writing_now_ = false;
    if (state_ == State::Closed) return release_buffers();
    if (ec) {
      if (ec != asio::error::operation_aborted) finish(cat("writing to ", where(), " failed: ", ec.message()), false);
      return;
    }
    if (writing_.capacity() > kShrinkAbove) std::string().swap(writing_);
    pump();
  }

  void arm_flood(Steady::time_point now) {
    if (flood_armed_) return;
    flood_armed_ = true;
    flood_.expires_after(bucket_.wait(now));
    flood_.async_wait([self = shared_from_this()](const error_code& ec) {
      self->flood_armed_ = false;
      if (!ec) self->pump();
    });
  }

  // --- timers ------------------------------------------------------------------

  // One deadline at a time: connect, then registration, then the QUIT wait. The
  // generation tells a stale expiry (already queued when re-armed) from a live one.
  void arm_deadline(std::chrono::milliseconds d) {
    const std::uint64_t gen = ++deadline_gen_;
    deadline_.expires_after(d);
    deadline_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      if (!ec && gen == self->deadline_gen_) self->on_deadline();
    });
  }

  void on_deadline() {
    switch (state_) {
      case State::Connecting:
        return finish(cat("no connection to ", where(), " within ", seconds(t_.connect_timeout), " (timed out ",
                          phase_, ")"),
                      false);
      case State::Registering:
        return begin_close(cat(where(), " did not complete registration within ", seconds(t_.register_timeout)),
                           false, "");
      case State::Closing: return finish(close_reason_, nick_rejected_);
      default: return;
    }
  }

  void arm_idle(Steady::duration d) {
    idle_.expires_after(d);
    idle_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->on_idle();
    });
  }

  // Our own PING after ping_after of silence; closed after ping_timeout more.
  void on_idle() {
    if (state_ != State::Registering && state_ != State::Registered) return;
    const auto now = Steady::now();
    if (ping_outstanding_) {
      if (last_rx_ < ping_at_)
        return finish(cat("no answer from ", where(), " for ", seconds(t_.ping_after + t_.ping_timeout),
                          " (ping timeout)"),
                      false);
      ping_outstanding_ = false;
    }
    const auto silent = now - last_rx_;
    if (silent < t_.ping_after) return arm_idle(t_.ping_after - silent);
    ping_outstanding_ = true;
    ping_at_ = now;
    urgent_.push_back("PING :switchboard");
    pump();
    arm_idle(t_.ping_timeout);
  }

  // --- the end -----------------------------------------------------------------

  void finish(const std::string& reason, bool nick_rejected) {
    if (state_ == State::Closed) return;
    state_ = State::Closed;
    ++deadline_gen_;
    deadline_.cancel();
    idle_.cancel();
    flood_.cancel();
    if (resolver_) resolver_->cancel();
    if (plain_ || tls_) {
      error_code ignored;
      lowest().close(ignored);
    }
    std::deque<std::string>().swap(queue_);
    urgent_.clear();
    if (!abandoned_) log_->info("{} ({}): closed: {}", where(), nick_, reason.empty() ? "by us" : reason);
    // Posted: never from inside the owner's own close()/send() call.
    asio::post(ex_, [self = shared_from_this(), reason, nick_rejected] { self->notify_closed(reason, nick_rejected); });
  }

  void notify_closed(const std::string& reason, bool nick_rejected) {
    auto on_closed = std::move(h_.on_closed);
    h_ = {};  // release what the owner's handlers hold
    if (!abandoned_ && on_closed) on_closed(reason, nick_rejected);
  }

  void release_buffers() {
    if (!writing_now_) std::string().swap(writing_);
    std::string().swap(rbuf_);
  }

  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : *plain_; }

  std::string where() const {
    const bool v6 = server_.host.find(':') != std::string::npos;
    return cat(v6 ? "[" : "", server_.host, v6 ? "]" : "", ":", std::to_string(server_.port));
  }

  asio::any_io_executor ex_;
  ServerConfig server_;
  Identity id_;
  ConnectionHandlers h_;
  ConnectionTimings t_;
  State state_ = State::Idle;

  std::shared_ptr<ssl::context> ctx_;
  std::optional<tcp::resolver> resolver_;
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  asio::steady_timer deadline_, idle_, flood_;
  std::uint64_t deadline_gen_ = 0;
  std::string phase_;  // what connecting was doing, for a timeout's reason

  CapNegotiator cap_;
  TokenBucket bucket_;
  std::string nick_;

  std::string rbuf_;          // received bytes, at most kMaxLine
  bool discarding_ = false;   // inside a line too long
  Steady::time_point last_rx_{};
  Steady::time_point ping_at_{};
  bool ping_outstanding_ = false;

  std::vector<std::string> urgent_;  // the connection's own lines: not flood-limited, first
  std::deque<std::string> queue_;    // the owner's lines: after 001, through the bucket
  std::string writing_;              // the write in flight: lines joined
  bool writing_now_ = false;
  bool flush_posted_ = false;
  bool flood_armed_ = false;

  std::string server_error_;  // the server's ERROR text, for the reason
  std::string close_reason_;
  bool nick_rejected_ = false;
  bool sasl_warned_ = false;
  bool abandoned_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

IrcConnection::IrcConnection(asio::any_io_executor ex, ServerConfig server, Identity id, ConnectionHandlers h,
                             ConnectionTimings timings)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(server), std::move(id), std::move(h), timings)) {}

IrcConnection::~IrcConnection() { impl_->abandon(); }

void IrcConnection::start() { impl_->start(); }

bool IrcConnection::send(const IrcMessage& m) { return impl_->enqueue(serialize(m)); }

bool IrcConnection::send_raw(std::string_view line) { return impl_->enqueue(strip_line_breaks(line)); }

void IrcConnection::close(const std::string& reason) { impl_->begin_close(reason, false, reason); }

bool IrcConnection::registered() const { return impl_->state_ == Impl::State::Registered; }

const std::string& IrcConnection::nick() const { return impl_->nick_; }

const std::set<std::string>& IrcConnection::caps() const { return impl_->cap_.caps(); }

std::size_t IrcConnection::queued() const { return impl_->queue_.size(); }

}  // namespace sb::transport::irc
