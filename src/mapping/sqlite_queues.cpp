// The registry's durable queues (SPEC §5, §10) and the queue journal behind
// enqueue_hot (issue 3: no database transaction per MQTT message): SqliteRegistry
// members, split from sqlite_registry.cpp to keep each file about one thing.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <sqlite3.h>
#include "common/log.hpp"
#include "mapping/sqlite_registry.hpp"

namespace sb::mapping {

using sqlite::Blob;
using sqlite::Query;

namespace {
std::shared_ptr<spdlog::logger> logger() { return sb::log::get("registry"); }
}  // namespace

// ---- Queues ----

// ---- Queue journal (see the header) ----

namespace {
constexpr char kItem = 'E', kAcks = 'A';

void put64(std::string& out, std::int64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

// Reads fixed-size values and length-prefixed strings off a record body.
struct Reader {
  std::string_view rest;
  bool ok = true;
  template <class T>
  T num() {
    T v{};
    if (rest.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, rest.data(), sizeof v);
    rest.remove_prefix(sizeof v);
    return v;
  }
  std::string_view str() {
    const auto n = num<std::uint32_t>();
    if (!ok || n > rest.size()) {
      ok = false;
      return {};
    }
    auto s = rest.substr(0, n);
    rest.remove_prefix(n);
    return s;
  }
};
}  // namespace

bool SqliteRegistry::init_ids(std::string& error) {
  std::int64_t seq = 0, max_id = 0;
  {
    Query q = db_.query("SELECT seq FROM sqlite_sequence WHERE name = 'queue'");
    if (!q) return error = db_.error(), false;
    int rc = q->step();
    if (rc == SQLITE_ROW) seq = q->int64(0);
    else if (rc != SQLITE_DONE) return error = std::string("reading queue ids: ") + sqlite3_errmsg(db_.handle()), false;
  }
  if (!db_.query_int("SELECT COALESCE(MAX(id), 0) FROM queue", max_id)) return error = db_.error(), false;
  next_id_ = id_limit_ = std::max(seq, max_id) + 1;
  return true;
}

std::int64_t SqliteRegistry::take_id() {
  if (next_id_ >= id_limit_) {
    // Reserve [next_id_, next_id_ + kIdBlock) before handing any out: after a
    // crash, ids continue above the block, never reused (AUTOINCREMENT's promise).
    const std::int64_t seq = next_id_ + kIdBlock - 1;
    {
      Query u = db_.query("UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'queue'");
      if (u) u.bind(seq);
      if (!run(u, "queue id reservation")) return 0;
    }
    if (db_.changes() == 0) {
      Query i = db_.query("INSERT INTO sqlite_sequence(name, seq) VALUES('queue', ?1)");
      if (i) i.bind(seq);
      if (!run(i, "queue id reservation")) return 0;
    }
    id_limit_ = seq + 1;
  }
  return next_id_++;
}

bool SqliteRegistry::insert_item(std::int64_t id, std::string_view domain, std::string_view queue,
                                 std::string_view payload, std::int64_t enqueued_ms, const char* what) {
  // OR IGNORE only when spilling: after a crash between a spill's commit and the
  // journal's truncation, the replay meets rows that are already there.
  const bool spilling = std::string_view(what) != "enqueue";
  Query q = db_.query(spilling ? "INSERT OR IGNORE INTO queue(id, domain, queue, payload, enqueued_ms, attempts) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5, 0)"
                               : "INSERT INTO queue(id, domain, queue, payload, enqueued_ms, attempts) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5, 0)");
  if (q) q.bind(id, domain, queue, Blob{payload}, enqueued_ms);
  return run(q, what);
}

bool SqliteRegistry::spill() {
  if (!pending_.empty()) {
    sqlite::Transaction tx(db_);
    if (!tx.ok()) return log_failure("queue journal spill"), false;
    for (const auto& [id, it] : pending_)
      if (!insert_item(id, it.domain, it.queue, it.payload, it.enqueued_ms, "queue journal spill")) return false;
    if (!tx.commit()) return log_failure("queue journal spill (commit)"), false;
    pending_.clear();
  }
  if (journal_.is_open() && journal_.size() > 0 && !journal_.clear())
    logger()->warn("cannot empty the queue journal: its items may be delivered again after a restart");
  return true;
}

std::vector<std::int64_t> SqliteRegistry::ack_journaled(std::string_view domain, std::string_view queue,
                                                        const std::vector<std::int64_t>& ids) {
  std::vector<std::int64_t> rest;
  if (pending_.empty()) return ids;
  rec_.assign(1, kAcks);
  bool any = false;
  for (auto id : ids) {
    auto it = pending_.find(id);
    // domain and queue must match, as in the table: another queue's id removes nothing.
    if (it == pending_.end() || it->second.domain != domain || it->second.queue != queue) {
      rest.push_back(id);
      continue;
    }
    pending_.erase(it);
    put64(rec_, id);
    any = true;
  }
  if (any && journal_.is_open()) {
    // Nothing queued is left in the journal: it can go. Else the acks are
    // recorded, so a restart does not deliver these items again.
    if (pending_.empty()) journal_.clear();
    else if (!journal_.append(rec_))
      logger()->warn("cannot record acks in the queue journal: the items may be delivered again after a restart");
    if (journal_.size() > kJournalSpillBytes) spill();
  }
  return rest;
}

bool SqliteRegistry::replay_journal(const std::string& path, std::string& error) {
  std::string contents;
  std::vector<std::string_view> bodies;
  std::size_t ignored = 0;
  if (!journal_.open(path, contents, bodies, ignored, error)) return false;
  if (ignored > 0) logger()->warn("queue journal {}: {} bytes of a torn record at its end ignored", path, ignored);
  std::size_t bad = 0;
  for (auto body : bodies) {
    Reader r{body};
    const char type = r.num<char>();
    if (r.ok && type == kItem) {
      const auto id = r.num<std::int64_t>();
      const auto ms = r.num<std::int64_t>();
      const auto domain = r.str();
      const auto queue = r.str();
      if (r.ok && id > 0) {
        pending_[id] = Journaled{std::string(domain), std::string(queue), std::string(r.rest), ms};
        continue;
      }
    } else if (r.ok && type == kAcks) {
      while (r.ok && !r.rest.empty()) pending_.erase(r.num<std::int64_t>());
      if (r.ok) continue;
    }
    ++bad;
  }
  if (bad > 0) logger()->warn("queue journal {}: {} malformed records ignored", path, bad);
  const auto n = pending_.size();
  if (!spill()) {
    error = "cannot move the queue journal " + path + " into the database: " + sqlite3_errmsg(db_.handle());
    return false;
  }
  if (n > 0) logger()->info("queue journal: {} queued items recovered", n);
  return true;
}

// ---- Queues ----

std::int64_t SqliteRegistry::enqueue(std::string_view domain, std::string_view queue, std::string_view payload) {
  std::lock_guard lock(mu_);
  const auto id = take_id();
  if (id == 0) return 0;
  return insert_item(id, domain, queue, payload, now_ms(), "enqueue") ? id : 0;
}

std::int64_t SqliteRegistry::enqueue_hot(std::string_view domain, std::string_view queue, std::string_view payload) {
  std::lock_guard lock(mu_);
  const auto id = take_id();
  if (id == 0) return 0;
  const auto ms = now_ms();
  if (journal_.is_open()) {
    rec_.assign(1, kItem);
    put64(rec_, id);
    put64(rec_, ms);
    put32(rec_, static_cast<std::uint32_t>(domain.size()));
    rec_.append(domain);
    put32(rec_, static_cast<std::uint32_t>(queue.size()));
    rec_.append(queue);
    rec_.append(payload);
    if (!journal_.append(rec_)) {
      logger()->warn("cannot append to the queue journal: storing the item in the database");
      return insert_item(id, domain, queue, payload, ms, "enqueue") ? id : 0;
    }
  }
  pending_.emplace(id, Journaled{std::string(domain), std::string(queue), std::string(payload), ms});
  if (journal_.size() > kJournalSpillBytes || pending_.size() > kMaxJournaled) spill();
  return id;
}

std::vector<transport::QueuedItem> SqliteRegistry::peek(std::string_view domain, std::string_view queue,
                                                        std::size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<transport::QueuedItem> out;
  if (limit == 0) return out;
  spill();  // the table holds every queued item from here
  Query q = db_.query(
      "SELECT id, payload, enqueued_ms, attempts FROM queue WHERE domain = ?1 AND queue = ?2 "
      "ORDER BY id LIMIT ?3");
  if (!q) return log_failure("peek"), out;
  // LIMIT takes a signed 64-bit value; clamp so SIZE_MAX means "all".
  auto lim = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
  q.bind(domain, queue, lim);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    out.push_back(transport::QueuedItem{q->int64(0), q->text(1), q->int64(2), static_cast<int>(q->int64(3))});
  }
  if (rc != SQLITE_DONE) {
    log_failure("peek");
    return {};
  }
  return out;
}

void SqliteRegistry::ack(std::string_view domain, std::string_view queue, std::int64_t id) {
  std::lock_guard lock(mu_);
  if (ack_journaled(domain, queue, {id}).empty()) return;
  // domain and queue in the key: an id from one queue never removes another's item.
  Query q = db_.query("DELETE FROM queue WHERE domain = ?1 AND queue = ?2 AND id = ?3");
  if (q) q.bind(domain, queue, id);
  run(q, "ack");
}

void SqliteRegistry::ack_many(std::string_view domain, std::string_view queue, const std::vector<std::int64_t>& ids) {
  std::lock_guard lock(mu_);
  const auto rest = ack_journaled(domain, queue, ids);
  if (rest.empty()) return;
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return log_failure("ack_many");
  for (auto id : rest) {
    Query q = db_.query("DELETE FROM queue WHERE domain = ?1 AND queue = ?2 AND id = ?3");
    if (q) q.bind(domain, queue, id);
    if (!run(q, "ack_many")) return;
  }
  if (!tx.commit()) log_failure("ack_many (commit)");
}

void SqliteRegistry::bump_attempts(std::string_view domain, std::string_view queue, std::int64_t id) {
  std::lock_guard lock(mu_);
  spill();
  Query q = db_.query("UPDATE queue SET attempts = attempts + 1 WHERE domain = ?1 AND queue = ?2 AND id = ?3");
  if (q) q.bind(domain, queue, id);
  run(q, "bump_attempts");
}

std::size_t SqliteRegistry::queue_size(std::string_view domain, std::string_view queue) {
  std::lock_guard lock(mu_);
  spill();
  Query q = db_.query("SELECT COUNT(*) FROM queue WHERE domain = ?1 AND queue = ?2");
  if (!q) return log_failure("queue_size"), 0;
  q.bind(domain, queue);
  if (q->step() != SQLITE_ROW) return log_failure("queue_size"), 0;
  return static_cast<std::size_t>(q->int64(0));
}

}  // namespace sb::mapping
