#include "mapping/sqlite_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sqlite3.h>
#include "common/log.hpp"
#include "mapping/sqlite_schema.hpp"

namespace sb::mapping {

using sqlite::Blob;
using sqlite::Query;

namespace {

std::shared_ptr<spdlog::logger> logger() { return sb::log::get("registry"); }

// Sets one PRAGMA and checks the value SQLite reports back where it can differ
// from the request (journal_mode falls back silently, e.g. on ":memory:").
bool configure(sqlite::Db& db, bool in_memory, std::string& error) {
  // busy_timeout: the flock keeps other switchboards out, but a sqlite3 shell
  // reading the file may briefly hold a lock; wait rather than fail a write.
  if (!db.exec("PRAGMA busy_timeout = 2000") || !db.exec("PRAGMA foreign_keys = ON")) {
    error = db.error();
    return false;
  }
  if (!in_memory) {
    // One process owns the file (the .lock flock), so SQLite's own per-
    // transaction file locks are pure cost: 6 fcntl() calls per message in the
    // e2e bench. EXCLUSIVE takes them once; set before WAL so no shared-memory
    // index is used. A sqlite3 shell cannot read the file while we run.
    if (!db.exec("PRAGMA locking_mode = EXCLUSIVE")) {
      error = db.error();
      return false;
    }
  }
  // WAL + NORMAL: commits are durable against a crash of the process (kill -9),
  // not against power loss of the last transactions; fsync only at checkpoint.
  return sqlite::use_wal(db, in_memory, error);
}

}  // namespace

std::unique_ptr<SqliteRegistry> SqliteRegistry::open(const std::string& path, std::string& error,
                                                     const Clock* clock) {
  std::unique_ptr<SqliteRegistry> r(new SqliteRegistry());
  if (clock) {
    r->clock_ = clock;
  } else {
    r->own_clock_ = std::make_unique<SystemClock>();
    r->clock_ = r->own_clock_.get();
  }
  const bool in_memory = path == ":memory:";
  if (!sqlite::create_parent_directories(path, error)) return nullptr;
  if (!in_memory) {
    const std::string lock_path = path + ".lock";
    // SPEC §5: a second instance on the same file is refused with a clear error.
    switch (r->lock_.acquire(lock_path, error)) {
      case sqlite::LockFile::Result::Locked: break;
      case sqlite::LockFile::Result::Held:
        error = "another switchboard instance is using " + path + " (lock " + lock_path + " is held)";
        return nullptr;
      case sqlite::LockFile::Result::Failed: return nullptr;
    }
  }
  if (!r->db_.open(path, error)) return nullptr;
  std::string why;
  if (!configure(r->db_, in_memory, why)) {
    error = "cannot configure database " + path + ": " + why;
    return nullptr;
  }
  if (!sqlite::migrate(r->db_, sqlite::latest_schema_version(), why)) {
    error = path + ": " + why;
    return nullptr;
  }
  // The journal first: its items go into the table, then ids continue above them.
  if (!in_memory && !r->replay_journal(path + ".queue-journal", why)) {
    error = path + ": " + why;
    return nullptr;
  }
  if (!r->init_ids(why)) {
    error = path + ": " + why;
    return nullptr;
  }
  return r;
}

SqliteRegistry::~SqliteRegistry() {
  std::lock_guard lock(mu_);
  spill();  // leaves an empty journal after a clean shutdown
}

void SqliteRegistry::log_failure(std::string_view what) {
  std::string detail = db_.error();
  if (db_.handle()) detail = sqlite3_errmsg(db_.handle());
  logger()->error("{} failed: {}", what, detail);
}

std::int64_t SqliteRegistry::now_ms() const { return clock_->unix_ms(); }

bool SqliteRegistry::run(Query& q, std::string_view what) {
  if (!q) {
    logger()->error("{} failed: {}", what, db_.error());
    return false;
  }
  int rc = q->step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    log_failure(what);
    return false;
  }
  return true;
}

// ---- Registrations ----

std::string SqliteRegistry::cache_key(std::string_view domain, std::string_view key) {
  std::string k;
  k.reserve(domain.size() + key.size() + 1);
  k.append(domain).push_back('\0');
  k.append(key);
  return k;
}

namespace {
template <class Map, class V>
void remember(Map& m, std::string key, V&& v, std::size_t max) {
  if (m.size() >= max) m.clear();
  m.insert_or_assign(std::move(key), std::forward<V>(v));
}
}  // namespace

std::optional<Registration> SqliteRegistry::registration(std::string_view domain, std::string_view user) {
  std::lock_guard lock(mu_);
  auto key = cache_key(domain, user);
  if (auto it = reg_cache_.find(key); it != reg_cache_.end()) return it->second;
  Registration reg;
  {
    Query q = db_.query("SELECT created_ms FROM registrations WHERE domain = ?1 AND user = ?2");
    if (!q) return log_failure("registration"), std::nullopt;
    q.bind(domain, user);
    int rc = q->step();
    if (rc == SQLITE_DONE) {
      remember(reg_cache_, std::move(key), std::nullopt, kCacheMax);
      return std::nullopt;
    }
    if (rc != SQLITE_ROW) return log_failure("registration"), std::nullopt;
    reg.user = std::string(user);
    reg.created_ms = q->int64(0);
  }
  Query f = db_.query(
      "SELECT name, value FROM registration_fields WHERE domain = ?1 AND user = ?2 ORDER BY ord");
  if (!f) return log_failure("registration fields"), std::nullopt;
  f.bind(domain, user);
  int rc;
  while ((rc = f->step()) == SQLITE_ROW) reg.fields.emplace_back(f->text(0), f->text(1));
  if (rc != SQLITE_DONE) return log_failure("registration fields"), std::nullopt;
  remember(reg_cache_, std::move(key), reg, kCacheMax);
  return reg;
}

std::vector<Registration> SqliteRegistry::registrations(std::string_view domain) {
  std::lock_guard lock(mu_);
  std::vector<Registration> out;
  // One pass over a join, ordered so each user's fields are contiguous and in order.
  Query q = db_.query(
      "SELECT r.user, r.created_ms, f.name, f.value FROM registrations r "
      "LEFT JOIN registration_fields f ON f.domain = r.domain AND f.user = r.user "
      "WHERE r.domain = ?1 ORDER BY r.user, f.ord");
  if (!q) return log_failure("registrations"), out;
  q.bind(domain);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    std::string user = q->text(0);
    if (out.empty() || out.back().user != user) {
      out.push_back(Registration{user, {}, q->int64(1)});
    }
    if (!q->is_null(2)) out.back().fields.emplace_back(q->text(2), q->text(3));
  }
  if (rc != SQLITE_DONE) {
    log_failure("registrations");
    return {};
  }
  return out;
}

void SqliteRegistry::put_registration(std::string_view domain, const Registration& r) {
  std::lock_guard lock(mu_);
  reg_cache_.erase(cache_key(domain, r.user));
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return log_failure("put_registration");
  {
    // Upsert rather than INSERT OR REPLACE: REPLACE would delete the row and
    // cascade to nothing useful; fields are replaced explicitly below.
    Query q = db_.query(
        "INSERT INTO registrations(domain, user, created_ms) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(domain, user) DO UPDATE SET created_ms = excluded.created_ms");
    if (q) q.bind(domain, r.user, r.created_ms);
    if (!run(q, "put_registration")) return;
  }
  {
    Query q = db_.query("DELETE FROM registration_fields WHERE domain = ?1 AND user = ?2");
    if (q) q.bind(domain, r.user);
    if (!run(q, "put_registration (fields)")) return;
  }
  std::int64_t ord = 0;
  for (const auto& [name, value] : r.fields) {
    Query q = db_.query(
        "INSERT INTO registration_fields(domain, user, ord, name, value) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (q) q.bind(domain, r.user, ord++, name, value);
    if (!run(q, "put_registration (field)")) return;
  }
  if (!tx.commit()) log_failure("put_registration (commit)");
}

bool SqliteRegistry::remove_registration(std::string_view domain, std::string_view user) {
  std::lock_guard lock(mu_);
  reg_cache_.erase(cache_key(domain, user));
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return log_failure("remove_registration"), false;
  bool existed = false;
  static constexpr const char* kDeletes[] = {
      "DELETE FROM registration_fields WHERE domain = ?1 AND user = ?2",
      "DELETE FROM subscriptions WHERE domain = ?1 AND user = ?2",
      "DELETE FROM settings WHERE domain = ?1 AND user = ?2",
      "DELETE FROM registrations WHERE domain = ?1 AND user = ?2",  // last: its count is the answer
  };
  for (const char* sql : kDeletes) {
    Query q = db_.query(sql);
    if (q) q.bind(domain, user);
    if (!run(q, "remove_registration")) return false;
    existed = db_.changes() > 0;
  }
  if (!tx.commit()) return log_failure("remove_registration (commit)"), false;
  return existed;
}

// ---- Subscriptions ----

void SqliteRegistry::set_subscribed(std::string_view domain, std::string_view user, std::string_view peer,
                                    bool on) {
  std::lock_guard lock(mu_);
  Query q = db_.query(on ? "INSERT OR IGNORE INTO subscriptions(domain, user, peer) VALUES(?1, ?2, ?3)"
                         : "DELETE FROM subscriptions WHERE domain = ?1 AND user = ?2 AND peer = ?3");
  if (q) q.bind(domain, user, peer);
  run(q, "set_subscribed");
}

bool SqliteRegistry::is_subscribed(std::string_view domain, std::string_view user, std::string_view peer) {
  std::lock_guard lock(mu_);
  Query q = db_.query("SELECT 1 FROM subscriptions WHERE domain = ?1 AND user = ?2 AND peer = ?3");
  if (!q) return log_failure("is_subscribed"), false;
  q.bind(domain, user, peer);
  int rc = q->step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) log_failure("is_subscribed");
  return rc == SQLITE_ROW;
}

namespace {
std::vector<std::string> column_list(sqlite::Db& db, std::string_view sql, std::string_view a,
                                     std::string_view b, std::string_view what) {
  std::vector<std::string> out;
  Query q = db.query(sql);
  if (!q) {
    logger()->error("{} failed: {}", what, db.error());
    return out;
  }
  q.bind(a, b);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.push_back(q->text(0));
  if (rc != SQLITE_DONE) {
    logger()->error("{} failed: {}", what, sqlite3_errmsg(db.handle()));
    return {};
  }
  return out;
}
}  // namespace

std::vector<std::string> SqliteRegistry::subscribers(std::string_view domain, std::string_view peer) {
  std::lock_guard lock(mu_);
  return column_list(db_, "SELECT user FROM subscriptions WHERE domain = ?1 AND peer = ?2 ORDER BY user",
                     domain, peer, "subscribers");
}

std::vector<std::string> SqliteRegistry::subscriptions(std::string_view domain, std::string_view user) {
  std::lock_guard lock(mu_);
  return column_list(db_, "SELECT peer FROM subscriptions WHERE domain = ?1 AND user = ?2 ORDER BY peer",
                     domain, user, "subscriptions");
}

// ---- Settings ----

FieldValues SqliteRegistry::settings(std::string_view domain, std::string_view user) {
  std::lock_guard lock(mu_);
  FieldValues out;
  Query q = db_.query("SELECT key, value FROM settings WHERE domain = ?1 AND user = ?2 ORDER BY key");
  if (!q) return log_failure("settings"), out;
  q.bind(domain, user);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.emplace_back(q->text(0), q->text(1));
  if (rc != SQLITE_DONE) {
    log_failure("settings");
    return {};
  }
  return out;
}

void SqliteRegistry::put_setting(std::string_view domain, std::string_view user, std::string_view key,
                                 std::string_view value) {
  std::lock_guard lock(mu_);
  Query q = db_.query(
      "INSERT INTO settings(domain, user, key, value) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(domain, user, key) DO UPDATE SET value = excluded.value");
  if (q) q.bind(domain, user, key, value);
  run(q, "put_setting");
}

// ---- Mappings ----

void SqliteRegistry::put_mapping(std::string_view domain, std::string_view legacy_id, std::string_view localpart) {
  std::lock_guard lock(mu_);
  // OR REPLACE removes any row conflicting on either the legacy id or the
  // localpart: both directions stay unique per domain.
  // REPLACE may remove other rows too: forget every cached mapping (rare writes).
  localpart_cache_.clear();
  legacy_cache_.clear();
  Query q = db_.query("INSERT OR REPLACE INTO mappings(domain, legacy_id, localpart) VALUES(?1, ?2, ?3)");
  if (q) q.bind(domain, legacy_id, localpart);
  run(q, "put_mapping");
}

namespace {
// nullopt and ok=false on an SQLite error (not cached).
std::optional<std::string> one_text(sqlite::Db& db, std::string_view sql, std::string_view a, std::string_view b,
                                    std::string_view what, bool& ok) {
  ok = false;
  Query q = db.query(sql);
  if (!q) {
    logger()->error("{} failed: {}", what, db.error());
    return std::nullopt;
  }
  q.bind(a, b);
  int rc = q->step();
  if (rc == SQLITE_ROW) {
    ok = true;
    return q->text(0);
  }
  if (rc != SQLITE_DONE) {
    logger()->error("{} failed: {}", what, sqlite3_errmsg(db.handle()));
    return std::nullopt;
  }
  ok = true;
  return std::nullopt;
}
}  // namespace

std::optional<std::string> SqliteRegistry::cached_text(std::unordered_map<std::string, std::optional<std::string>>& cache,
                                                       const char* sql, std::string_view domain, std::string_view k,
                                                       const char* what) {
  auto key = cache_key(domain, k);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  bool ok;
  auto v = one_text(db_, sql, domain, k, what, ok);
  if (ok) remember(cache, std::move(key), v, kCacheMax);
  return v;
}

std::optional<std::string> SqliteRegistry::localpart_for(std::string_view domain, std::string_view legacy_id) {
  std::lock_guard lock(mu_);
  return cached_text(localpart_cache_, "SELECT localpart FROM mappings WHERE domain = ?1 AND legacy_id = ?2", domain,
                     legacy_id, "localpart_for");
}

std::optional<std::string> SqliteRegistry::legacy_for(std::string_view domain, std::string_view localpart) {
  std::lock_guard lock(mu_);
  return cached_text(legacy_cache_, "SELECT legacy_id FROM mappings WHERE domain = ?1 AND localpart = ?2", domain,
                     localpart, "legacy_for");
}

int SqliteRegistry::schema_version() {
  std::lock_guard lock(mu_);
  return sqlite::schema_version(db_);
}

// ---- State ----

void SqliteRegistry::put_state(std::string_view domain, std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  Query q = db_.query(
      "INSERT INTO state(domain, key, value) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(domain, key) DO UPDATE SET value = excluded.value");
  if (q) q.bind(domain, key, value);
  run(q, "put_state");
}

std::optional<std::string> SqliteRegistry::get_state(std::string_view domain, std::string_view key) {
  std::lock_guard lock(mu_);
  bool ok;
  return one_text(db_, "SELECT value FROM state WHERE domain = ?1 AND key = ?2", domain, key, "get_state", ok);
}

void SqliteRegistry::delete_state(std::string_view domain, std::string_view key) {
  std::lock_guard lock(mu_);
  Query q = db_.query("DELETE FROM state WHERE domain = ?1 AND key = ?2");
  if (q) q.bind(domain, key);
  run(q, "delete_state");
}

void SqliteRegistry::put_states(std::string_view domain, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::lock_guard lock(mu_);
  if (kv.empty()) return;
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return log_failure("put_states");
  for (const auto& [key, value] : kv) {
    Query q = db_.query(
        "INSERT INTO state(domain, key, value) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(domain, key) DO UPDATE SET value = excluded.value");
    if (q) q.bind(domain, key, value);
    if (!run(q, "put_states")) return;
  }
  if (!tx.commit()) log_failure("put_states (commit)");
}

std::vector<std::pair<std::string, std::string>> SqliteRegistry::states(std::string_view domain,
                                                                       std::string_view prefix) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  // A range on the primary key instead of LIKE: prefixes may hold % or _.
  std::string upper(prefix);
  upper.push_back('\xff');
  Query q = db_.query("SELECT key, value FROM state WHERE domain = ?1 AND key >= ?2 AND key < ?3 ORDER BY key");
  if (!q) return log_failure("states"), out;
  q.bind(domain, prefix, upper);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.emplace_back(q->text(0), q->text(1));
  if (rc != SQLITE_DONE) {
    log_failure("states");
    return {};
  }
  return out;
}

}  // namespace sb::mapping
