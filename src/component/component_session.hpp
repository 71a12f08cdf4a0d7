// The XEP-0114 component session as a pure state machine (SPEC §3; DESIGN.md:
// Swiften's ComponentSession over an abstract stream). The link (component_link)
// owns the socket and feeds this bytes and connection events; this decides what
// to write, which stanzas reach the core, and when the link must reconnect.
//
// Delivery guarantee: every stanza given to send() is kept until the server has
// provably read it. After a write batch we append a ping iq to the server (rate-
// limited: SessionConfig::proof_interval / proof_batch; on_tick proves what is
// left); the server handles a stream's stanzas in order, so an answer (result or
// error) to that ping proves every stanza written before it arrived. Unproven stanzas are
// re-sent first after the next handshake, and messages carry a stable XEP-0359
// origin-id (added once, before the first write) so a receiver can drop a
// duplicate. Stanzas given while disconnected wait in the same queue, in order.
//
// Memory: at most max_queue stanzas waiting or unproven; past that the oldest
// waiting one is dropped with an error log (counted in metrics).
// Threading: none (one owner, the io thread). Time comes from the injected Clock.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include "common/clock.hpp"
#include "common/log.hpp"
#include "component/stanza.hpp"
#include "component/stream_framer.hpp"

namespace sb {
class Counter;
}

namespace sb::xmpp {

// Output buffers (the session's, the link's) keep at most this much capacity
// between writes: enough for ordinary batches without regrowing, while a burst's
// worth is given back once written.
inline constexpr std::size_t kKeepBufferBytes = 64 * 1024;

struct SessionConfig {
  std::string domain;
  std::string secret;
  std::string ping_target;                 // the server's domain
  std::size_t max_stanza_bytes = 512 * 1024;
  std::size_t max_queue = 100000;          // waiting + unproven
  std::size_t max_unproven = 20000;        // stop writing until proofs arrive
  Millis keepalive{60'000};                // whitespace + ping after this much quiet
  Millis ping_timeout{30'000};             // unanswered ping -> dead link
  Millis handshake_timeout{30'000};
  // Delivery proofs are needed soon, not at once: at most one proof ping per
  // interval unless this many stanzas wait for one. Under load a ping per write
  // batch was thousands of extra stanzas per second for the server.
  Millis proof_interval{10};
  std::size_t proof_batch = 512;
};

enum class SessionState { Disconnected, Opening, Handshaking, Ready, Closing };

// Why the link must drop the connection (and, unless stopping, reconnect).
struct SessionFailure {
  std::string condition;  // stream error condition, ours or the server's
  std::string text;       // log line, with a hint where one helps
  bool by_peer = false;   // the server sent a stream error / closed the stream
};

class ComponentSession {
 public:
  ComponentSession(SessionConfig cfg, const Clock& clock);

  // ---- from the link ----
  void on_connected();                  // TCP is up: writes the stream header
  void on_bytes(std::string_view data);
  void on_disconnected();               // unproven stanzas go back to the queue front
  void on_tick();                       // timers: keepalive, ping and handshake timeouts

  // ---- from the core ----
  // Queues a stanza; `token` (non-zero) is reported by take_proven() once the
  // server has provably read it (used to ack durable spools / backends).
  void send(Stanza&& stanza, std::uint64_t token = 0);
  void send_xml(std::string xml, std::uint64_t token = 0);  // already serialized (spool replay, SendXml)
  // Graceful stop: writes what may be written and </stream:stream>.
  void close();

  // ---- outputs, drained by the link after each call ----
  std::string take_output();                   // bytes to write now (may be empty)
  // The same bytes appended to `into`; the session keeps its buffer's capacity, so a
  // busy link does not regrow it for every batch.
  void take_output_into(std::string& into);
  std::vector<Stanza> take_received();         // stanzas for the core
  std::vector<std::uint64_t> take_proven();    // tokens now proven delivered
  std::optional<SessionFailure> take_failure();// connection must be dropped
  bool take_authenticated();                   // true once per successful handshake

  SessionState state() const { return state_; }
  bool ready() const { return state_ == SessionState::Ready; }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t unproven() const { return unproven_.size(); }
  // Every stanza not yet proven, oldest first (for spooling on shutdown).
  std::vector<std::pair<std::string, std::uint64_t>> undelivered() const;

 private:
  struct Entry {
    std::uint64_t seq;
    std::string xml;
    std::uint64_t token;
  };
  void handle_event(FramerEvent& ev);
  void handle_element(std::string&& bytes);  // parsed in place (Stanza::parse_owned)
  void fail(std::string condition, std::string text, bool by_peer, bool send_stream_error);
  void write_waiting();
  void write_ping();
  void enqueue(Entry e);

  SessionConfig cfg_;
  const Clock& clock_;
  StreamFramer framer_;
  std::vector<FramerEvent> events_;  // reused by on_bytes
  SessionState state_ = SessionState::Disconnected;
  std::deque<Entry> waiting_;    // not yet written on this connection
  std::deque<Entry> unproven_;   // written, not yet proven read
  std::uint64_t next_seq_ = 1;
  std::string origin_prefix_;
  // In our ack pings' ids: users see origin ids, never these (SPEC §3 proofs).
  std::string ping_secret_;
  std::uint64_t next_origin_ = 1;
  std::string out_;
  std::vector<Stanza> received_;
  std::vector<std::uint64_t> proven_;
  std::optional<SessionFailure> failure_;
  bool authenticated_flag_ = false;
  // Ack ping in flight: its id and the last seq written before it.
  std::string ping_id_;
  std::uint64_t ping_covers_ = 0;
  TimePoint ping_sent_{};
  TimePoint last_proof_ping_{};
  bool proof_ping_ever_ = false;
  std::uint64_t next_ping_ = 1;
  TimePoint last_write_{};
  TimePoint opened_at_{};
  std::shared_ptr<spdlog::logger> log_;
  Counter* m_in_;
  Counter* m_out_;
  Counter* m_dropped_;
  Counter* m_resent_;
};

// The hint logged with a stream error condition (SPEC §3).
std::string_view stream_error_hint(std::string_view condition);

}  // namespace sb::xmpp
