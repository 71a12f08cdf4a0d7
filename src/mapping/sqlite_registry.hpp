// The mapping registry on SQLite (SPEC §5), the production Registry and, on
// ":memory:", the one tests use.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. Each write call is its
// own transaction, committed (appended to the WAL) before the call returns;
// the WAL is fsynced only at checkpoints. A committed transaction is in the OS
// page cache, so it survives kill -9 of the process (SPEC §10); only an OS
// crash or power loss could lose the last commits. No fsync per message
// (SPEC §6).
//
// Queue journal (enqueue_hot): an SQLite transaction costs ~20 µs of CPU, most
// of issue 3's per-message budget. enqueue_hot appends the item to
// "<path>.queue-journal" instead (one write(), same durability as a WAL commit) and
// keeps it in memory; acks of such items append their ids. What is still
// queued moves into the queue table in one transaction ("spill") before any
// read of the table (peek, queue_size, bump_attempts), when the journal passes
// kJournalSpillBytes or kMaxJournaled items, and on close; the journal is emptied whenever nothing in
// it is still queued. open() replays it: queued items that were not acked go
// into the table. An ack that had not reached the journal when the process
// died means that item comes back once (queues are at-least-once). Ids come
// from one counter for both paths, reserved in blocks in sqlite_sequence (one
// small write per kIdBlock ids), so they stay increasing and never reused.
//
// Errors: open() reports failure to its caller. After that, an SQLite error
// (disk full, I/O error) is logged on the "registry" logger and the call
// returns an empty/false/0 value; it never throws or aborts the io thread.
//
// One instance per file: open() takes an exclusive flock() on "<path>.lock",
// held until the object is destroyed (released by the kernel if the process
// dies).
//
// Threading: made for the io thread, and also safe from other threads
// (thread_safe()): every public call holds one mutex for its whole duration, so
// calls are atomic and the connection and the caches are never used by two
// threads at once. The MQTT transport enqueues inbound publishes on Paho's
// thread before their PUBACK (transports/mqtt/DELIVERY.md). The lock is held for
// one SQL call or transaction; uncontended it costs tens of nanoseconds.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include "common/clock.hpp"
#include "mapping/registry.hpp"
#include "mapping/sqlite_db.hpp"

namespace sb::mapping {

class SqliteRegistry final : public Registry {
 public:
  // path: database file (parent directories are created), or ":memory:" (no
  // lock file). clock: for enqueued_ms; borrowed, must outlive the registry;
  // null = the system clock. On failure returns null with error set.
  static std::unique_ptr<SqliteRegistry> open(const std::string& path, std::string& error,
                                              const Clock* clock = nullptr);
  ~SqliteRegistry() override;  // spills the journal

  // Registry
  std::optional<Registration> registration(std::string_view domain, std::string_view user) override;
  std::vector<Registration> registrations(std::string_view domain) override;
  void put_registration(std::string_view domain, const Registration& r) override;
  // Removes the registration, its fields, the user's subscriptions and settings,
  // in one transaction. Mappings are per legacy id and shared by all users of
  // the domain, so they stay.
  bool remove_registration(std::string_view domain, std::string_view user) override;

  void set_subscribed(std::string_view domain, std::string_view user, std::string_view peer, bool on) override;
  bool is_subscribed(std::string_view domain, std::string_view user, std::string_view peer) override;
  std::vector<std::string> subscribers(std::string_view domain, std::string_view peer) override;
  std::vector<std::string> subscriptions(std::string_view domain, std::string_view user) override;

  FieldValues settings(std::string_view domain, std::string_view user) override;
  void put_setting(std::string_view domain, std::string_view user, std::string_view key,
                   std::string_view value) override;

  // A legacy id maps to one localpart and back; putting a new pair replaces any
  // pair that used either side, so the mapping stays one-to-one.
  void put_mapping(std::string_view domain, std::string_view legacy_id, std::string_view localpart) override;
  std::optional<std::string> localpart_for(std::string_view domain, std::string_view legacy_id) override;
  std::optional<std::string> legacy_for(std::string_view domain, std::string_view localpart) override;

  int schema_version() override;

  // transport::Store
  void put_state(std::string_view domain, std::string_view key, std::string_view value) override;
  std::optional<std::string> get_state(std::string_view domain, std::string_view key) override;
  void delete_state(std::string_view domain, std::string_view key) override;
  void put_states(std::string_view domain, const std::vector<std::pair<std::string, std::string>>& kv) override;
  std::vector<std::pair<std::string, std::string>> states(std::string_view domain, std::string_view prefix) override;
  // Returns the new item's id (> 0), or 0 if it could not be stored (logged):
  // the caller must then not treat the item as accepted.
  std::int64_t enqueue(std::string_view domain, std::string_view queue, std::string_view payload) override;
  // Through the queue journal (see Queue journal above); same contract.
  std::int64_t enqueue_hot(std::string_view domain, std::string_view queue, std::string_view payload) override;
  std::vector<transport::QueuedItem> peek(std::string_view domain, std::string_view queue, std::size_t limit) override;
  void ack(std::string_view domain, std::string_view queue, std::int64_t id) override;
  void ack_many(std::string_view domain, std::string_view queue, const std::vector<std::int64_t>& ids) override;
  void bump_attempts(std::string_view domain, std::string_view queue, std::int64_t id) override;
  std::size_t queue_size(std::string_view domain, std::string_view queue) override;
  bool thread_safe() const override { return true; }

  // Runs SQL on the registry's own connection (the file is locked exclusively,
  // so no other connection can): for tests that break the schema underneath,
  // and for diagnostics. False on error.
  bool exec_for_tests(const std::string& sql) {
    std::lock_guard lock(mu_);
    return db_.exec(sql);
  }
  // Items in the journal only (not yet spilled), for tests.
  std::size_t journaled_for_tests() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

  static constexpr std::uint64_t kJournalSpillBytes = 4 << 20;
  static constexpr std::size_t kMaxJournaled = 65536;  // items kept in memory before a spill
  static constexpr std::int64_t kIdBlock = 16384;

 private:
  SqliteRegistry() = default;
  void log_failure(std::string_view what);
  std::int64_t now_ms() const;
  // Runs a write statement to completion; logs and returns false on error.
  bool run(sqlite::Query& q, std::string_view what);

  // Queue journal (mu_ held). The next queue id, reserving a block when needed; 0 on error.
  std::int64_t take_id();
  bool init_ids(std::string& error);
  bool insert_item(std::int64_t id, std::string_view domain, std::string_view queue, std::string_view payload,
                   std::int64_t enqueued_ms, const char* what);
  // Moves the journaled items still queued into the table, then empties the journal.
  bool spill();
  // Drops the given journaled items (an ack); returns the ids that were not journaled.
  std::vector<std::int64_t> ack_journaled(std::string_view domain, std::string_view queue,
                                          const std::vector<std::int64_t>& ids);
  bool replay_journal(const std::string& path, std::string& error);

  // Read-through caches for what the core asks on every stanza (is this user
  // registered? which localpart for this legacy id?): without them SQLite
  // look-ups were a third of the per-message CPU (bench/bench_core under
  // callgrind). Writes go to SQLite first, then invalidate. Bounded: cleared
  // when full.
  static constexpr std::size_t kCacheMax = 65536;
  static std::string cache_key(std::string_view domain, std::string_view key);
  std::unordered_map<std::string, std::optional<Registration>> reg_cache_;
  std::unordered_map<std::string, std::optional<std::string>> localpart_cache_, legacy_cache_;
  // One text column for (domain, key), through `cache`.
  std::optional<std::string> cached_text(std::unordered_map<std::string, std::optional<std::string>>& cache,
                                         const char* sql, std::string_view domain, std::string_view key,
                                         const char* what);

  // Declared first so it is destroyed last: the database closes before the
  // lock is released.
  sqlite::LockFile lock_;
  std::mutex mu_;  // held by every public call (see Threading above)
  sqlite::Db db_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<Clock> own_clock_;

  struct Journaled {
    std::string domain, queue, payload;
    std::int64_t enqueued_ms = 0;
  };
  sqlite::RecordLog journal_;  // not open for ":memory:" (items are then only kept in memory until spilled)
  std::map<std::int64_t, Journaled> pending_;  // journaled, queued, not in the table yet
  std::int64_t next_id_ = 1, id_limit_ = 1;    // [next_id_, id_limit_) reserved in sqlite_sequence
  std::string rec_;                            // reused record buffer
};

}  // namespace sb::mapping
