// The SMS sender (SPEC §8 "XMPP -> SMS", §10): durable outbox, per-number pacing,
// retries, and the resolution of ambiguous sends, so that nothing accepted is lost
// and a person never gets the same text twice.
//
// Pure in the DESIGN.md sense: no sockets, threads or clock reads. It reads the
// injected Clock, writes through the Store interface, and asks for HTTP requests
// through OutboxIo, whose answers come back to on_results(). Tests drive it with a
// manual clock, an in-memory store and recorded requests.
//
// Life of one SMS part (outbox_record.hpp has the durable states):
//   submit     split the body, enqueue each part (nothing else happens before this);
//              an enqueue failure answers Internal.
//   pump       per conversation (from -> to) in order, one request in flight each;
//              the sending number's token bucket paces; "started" is persisted
//              before the request goes out.
//   answer     2xx accepted (ok outcome, item removed, delivery awaited);
//              429/408 or no connection: retry with backoff, error after give_up;
//              4xx: error "<Provider> error <code>: <message>", item removed;
//              5xx or a timeout after sending: AMBIGUOUS, the conversation waits.
//   ambiguous  a status callback carrying our ref -> accepted; else, after
//              ambiguous_seconds, a look-up (Twilio): found -> accepted, not found ->
//              sent again; no look-up (Telnyx) -> error "could not confirm ...; not
//              re-sent". A crash mid-request is ambiguous at the next start.
//   delivery   "delivered" -> ok + delivered (XEP-0184 receipt); failed/undelivered
//              -> error Unavailable with the provider's code. The record stays
//              ("done") until pruned: the look-up must not take an earlier identical
//              text for the one it looks for.
// A message split in parts answers once: ok/receipt from its last part, an error
// from whichever part fails (the parts after a failed one are dropped).
// Threading: the io thread only.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>
#include "common/clock.hpp"
#include "transports/api/events.hpp"
#include "transports/api/store.hpp"
#include "transports/sms/outbox_record.hpp"
#include "transports/sms/provider.hpp"
#include "transports/sms/rate_limiter.hpp"

namespace sb::transport::sms {

struct OutboxConfig {
  double rate_per_number = 1.0;  // messages/s per sending number; <= 0 unlimited
  std::size_t max_body = 1600;   // characters per SMS
  std::size_t max_parts = 10;    // longer messages are refused
  std::int64_t retry_max_seconds = 60;
  std::int64_t give_up_seconds = 86400;
  std::int64_t ambiguous_seconds = 600;
  std::size_t max_queued = 100000;     // parts waiting in the outbox
  std::size_t max_in_flight = 64;      // requests at once (all numbers)
  std::size_t max_tracked = 100000;    // accepted and done parts remembered (oldest dropped)
  std::int64_t track_seconds = 3 * 86400;
};

class OutboxIo {
 public:
  virtual ~OutboxIo() = default;
  // Start an HTTP request; its answer comes back through Outbox::on_results(id, ...).
  virtual void request(std::uint64_t id, HttpCall call) = 0;
  virtual void outcome(SendOutcome o) = 0;
  // The provider's reachability changed (any HTTP answer = reachable).
  virtual void link(bool up, std::string text) = 0;
};

class Outbox {
 public:
  Outbox(Store& store, std::string domain, const Clock& clock, const Provider& provider, OutboxConfig cfg,
         OutboxIo& io, std::string boot, std::uint64_t seed);

  // Startup: the previous run's items and states (an attempt begun and never
  // answered becomes ambiguous), then a first probe of the provider.
  void load();
  void stop() { stopped_ = true; }

  // A user's message, `from` and `to` already checked (E.164, owned by m.user).
  // nullopt: taken (outcomes follow); else the failure to answer now.
  std::optional<SendOutcome> submit(const OutboundMessage& m, const std::string& from, const std::string& to);

  // Answers to requests (a batch: their state writes share a transaction).
  void on_results(std::vector<std::pair<std::uint64_t, HttpResult>> results);
  // A status callback; false when it names nothing we know (still answered 200).
  bool on_status(const StatusReport& r);
  // Timers: ambiguous deadlines, retries, give-ups, pruning, probes. Call at
  // next_due_ms() and about once a second.
  void tick();
  std::optional<std::int64_t> next_due_ms() const;

  std::size_t queued() const { return queued_; }
  std::size_t ambiguous() const;
  std::size_t in_flight() const { return calls_.size(); }
  std::size_t tracked() const { return tracked_count_; }  // accepted and done records kept
  std::size_t awaiting_reports() const;                    // accepted, no final report yet
  std::optional<bool> provider_up() const { return up_; }

 private:
  struct Entry {
    std::int64_t item_id = 0;  // in the outbox queue; 0 once it left it
    OutboxRecord rec;
    RefState st;
    bool in_flight = false;
    std::optional<StatusReport> early;  // a callback that overtook the answer to our send
    int lookup_failures = 0;
    std::optional<std::multimap<std::int64_t, std::string>::iterator> tracked_at;  // Accepted: in tracked_
  };
  enum class CallKind { Send, Lookup, Probe };
  struct Call {
    CallKind kind;
    std::string ref;
  };
  // State writes of one step, applied in an order that survives a crash anywhere:
  // puts, then queue removals, then deletions.
  struct Batch {
    std::map<std::string, std::optional<std::string>> kv;
    std::vector<std::int64_t> acks;
  };

  std::string new_ref();
  static std::string conv_key(const OutboxRecord& r) { return r.from + ">" + r.to; }
  std::string key(const std::string& ref) const { return std::string(kRefPrefix) + ref; }
  void put(Entry& e) { batch_.kv[key(e.rec.ref)] = e.st.to_json(); }
  void flush();
  void emit();

  void pump();
  void start_send(Entry& e, std::int64_t now);
  void on_send_result(Entry& e, const HttpResult& r);
  void on_lookup_result(Entry& e, const HttpResult& r);
  void on_probe_result(const HttpResult& r);
  void note_reachability(const HttpResult& r);

  void make_ready(const std::string& conv);  // the conversation's head may go when due
  void advance(const std::string& conv);     // the head left: the next one may go
  void accept(Entry& e, const std::string& provider_id);
  void apply_status(Entry& e, const StatusReport& r);
  void fail(Entry& e, Failure f, const std::string& text);  // final, with an error to the user
  void finish(std::string ref);                      // final, silent: forget it
  void retire(Entry& e);                              // final report came: keep it as "done"
  void to_ambiguous(Entry& e, std::int64_t deadline);
  void probe();
  void track(Entry& e);
  void leave_conv(const Entry& e);
  TokenBucket& bucket(const std::string& number);

  void outcome(const Entry& e, bool ok, Failure f, std::string text, bool delivered);
  std::set<std::string> known_ids(const Entry& e) const;

  Store& store_;
  std::string domain_;
  const Clock& clock_;
  const Provider& provider_;
  OutboxConfig cfg_;
  OutboxIo& io_;
  std::string boot_;
  std::mt19937_64 rng_;
  bool stopped_ = false;

  std::unordered_map<std::string, Entry> entries_;             // by ref
  std::unordered_map<std::string, std::deque<std::string>> convs_;  // from>to -> refs waiting, in order
  std::set<std::pair<std::int64_t, std::string>> ready_;       // (head item id, conv): may go now
  std::multimap<std::int64_t, std::string> waiting_;           // retry due -> conv
  std::multimap<std::int64_t, std::string> deadlines_;         // ambiguous deadline -> ref
  std::multimap<std::int64_t, std::string> tracked_;           // accepted at -> ref (pruning)
  std::unordered_map<std::string, std::string> by_provider_id_;  // accepted: provider id -> ref
  std::unordered_map<std::string, TokenBucket> buckets_;       // per sending number
  std::map<std::uint64_t, Call> calls_;
  std::uint64_t next_call_ = 1;
  std::size_t queued_ = 0;         // entries still in the outbox queue
  std::size_t tracked_count_ = 0;  // accepted entries
  std::optional<std::int64_t> rate_wake_ms_;

  Batch batch_;
  std::vector<SendOutcome> outcomes_;

  std::optional<bool> up_;
  std::int64_t last_answer_ms_ = 0, next_probe_ms_ = 0;
  bool probing_ = false;
  int probe_failures_ = 0;
};

}  // namespace sb::transport::sms
