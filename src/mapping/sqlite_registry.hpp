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
// Errors: open() reports failure to its caller. After that, an SQLite error
// (disk full, I/O error) is logged on the "registry" logger and the call
// returns an empty/false/0 value; it never throws or aborts the io thread.
//
// One instance per file: open() takes an exclusive flock() on "<path>.lock",
// held until the object is destroyed (released by the kernel if the process
// dies). Called on the io thread only.
#pragma once
#include <memory>
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
  ~SqliteRegistry() override;

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
  std::vector<transport::QueuedItem> peek(std::string_view domain, std::string_view queue, std::size_t limit) override;
  void ack(std::string_view domain, std::string_view queue, std::int64_t id) override;
  void ack_many(std::string_view domain, std::string_view queue, const std::vector<std::int64_t>& ids) override;
  void bump_attempts(std::string_view domain, std::string_view queue, std::int64_t id) override;
  std::size_t queue_size(std::string_view domain, std::string_view queue) override;

  // Runs SQL on the registry's own connection (the file is locked exclusively,
  // so no other connection can): for tests that break the schema underneath,
  // and for diagnostics. False on error.
  bool exec_for_tests(const std::string& sql) { return db_.exec(sql); }

 private:
  SqliteRegistry() = default;
  void log_failure(std::string_view what);
  std::int64_t now_ms() const;
  // Runs a write statement to completion; logs and returns false on error.
  bool run(sqlite::Query& q, std::string_view what);

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
  sqlite::Db db_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<Clock> own_clock_;
};

}  // namespace sb::mapping
