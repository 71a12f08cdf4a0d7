// The component connection's socket side (SPEC §3): connects, feeds bytes to the
// pure ComponentSession, writes what it produces, and reconnects forever with
// exponential backoff (1 s doubling to 60 s, ±25 % jitter).
//
// Writes are batched per event-loop turn: send() only appends to the session;
// one flush is posted per turn and at most one async_write is in flight, so a
// burst of stanzas leaves in one write. TCP_NODELAY is set: with Nagle plus
// delayed ACKs every small stanza would wait tens of milliseconds.
//
// Threading: the io_context's single thread; every handler holds
// shared_from_this(). Ownership: the app holds the shared_ptr; stop() ends it.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include "common/clock.hpp"
#include "component/component_session.hpp"

namespace sb {
class Counter;
class Gauge;
}

namespace sb::xmpp {

struct LinkHandlers {
  std::function<void(Stanza&&)> on_stanza;               // a stanza for the core
  std::function<void()> on_authenticated;                // handshake accepted (each connection)
  std::function<void()> on_disconnected;                 // after an authenticated stream ended
  std::function<void(std::vector<std::uint64_t>)> on_proven;  // send() tokens proven delivered
};

class ComponentLink : public std::enable_shared_from_this<ComponentLink> {
 public:
  ComponentLink(boost::asio::io_context& io, std::string host, std::uint16_t port, SessionConfig cfg,
                const Clock& clock, LinkHandlers handlers);
  void start();
  void send(Stanza&& s, std::uint64_t token = 0);
  void send_xml(std::string xml, std::uint64_t token = 0);
  // Graceful: flush, </stream:stream>, wait for the server's close (bounded), then `done`.
  void stop(std::function<void()> done);
  bool authenticated() const { return session_.ready(); }
  const ComponentSession& session() const { return session_; }
  const std::string& domain() const { return domain_; }

 private:
  void do_connect();
  void on_connect(const boost::system::error_code& ec);
  void quick_ack();
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process();  // drains the session's outputs
  void pull_output();     // session output -> pending_, flush scheduled
  void schedule_flush();
  void do_write();
  void drop(const std::string& why);  // close the socket, reconnect unless stopping
  void schedule_reconnect();
  void start_tick();
  void finish_stop();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer stop_timer_;
  std::string host_;
  std::uint16_t port_;
  std::string domain_;
  ComponentSession session_;
  LinkHandlers handlers_;
  std::string pending_;   // bytes waiting for the next write
  std::string writing_;   // bytes of the write in flight
  bool write_in_flight_ = false;
  std::optional<std::string> drop_after_write_;  // a failure: drop once pending_ is written (why)
  bool flush_posted_ = false;
  bool connected_ = false;
  bool stopping_ = false;
  bool was_authenticated_ = false;
  int attempt_ = 0;  // consecutive attempts without a connection that stayed up 30 s
  std::chrono::steady_clock::time_point authenticated_at_{};
  std::array<char, 16384> read_buf_{};
  std::function<void()> stop_done_;
  Counter* m_reconnects_;
  Gauge* m_queue_;
};

}  // namespace sb::xmpp
