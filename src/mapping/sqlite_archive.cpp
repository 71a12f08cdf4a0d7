#include "mapping/sqlite_archive.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <sqlite3.h>
#include "common/log.hpp"

namespace sb::mapping {

using sqlite::Query;

namespace {

std::shared_ptr<spdlog::logger> logger() { return sb::log::get("archive"); }

constexpr std::int64_t kMinI64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxI64 = std::numeric_limits<std::int64_t>::max();

// While open() sets up: fail fast (with a clear error) on a file whose lock
// another connection holds for good, e.g. a registry in EXCLUSIVE locking mode.
constexpr const char* kOpenBusyTimeout = "PRAGMA busy_timeout = 1000";
// Afterwards: wait for another connection's write transaction rather than fail.
constexpr const char* kBusyTimeout = "PRAGMA busy_timeout = 5000";

// The index is (domain, user, room, id) for paging, plus at_ms so that time
// filters, counts and pruning by age read the index alone, without a table
// lookup per line (pruning 1e6 lines by age: ~1.3 s without it, ~0.1 s with).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS room_archive(
  id INTEGER PRIMARY KEY,
  domain TEXT NOT NULL, user TEXT NOT NULL, room TEXT NOT NULL,
  at_ms INTEGER NOT NULL, nick TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS room_archive_by_room ON room_archive(domain, user, room, id, at_ms);
CREATE TABLE IF NOT EXISTS room_archive_ids(one INTEGER PRIMARY KEY CHECK (one = 1), reserved INTEGER NOT NULL);
)sql";

// One statement per direction: absent bounds are bound as the widest values, so
// the SQL (and its cached plan) never changes. The id range is on the index.
constexpr const char* kPageForward =
    "SELECT id, at_ms, nick, body FROM room_archive "
    "WHERE domain = ?1 AND user = ?2 AND room = ?3 AND id > ?4 AND id < ?5 "
    "AND at_ms >= ?6 AND at_ms <= ?7 AND (?8 = '' OR nick = ?8) "
    "ORDER BY id ASC LIMIT ?9";
constexpr const char* kPageBackward =
    "SELECT id, at_ms, nick, body FROM room_archive "
    "WHERE domain = ?1 AND user = ?2 AND room = ?3 AND id > ?4 AND id < ?5 "
    "AND at_ms >= ?6 AND at_ms <= ?7 AND (?8 = '' OR nick = ?8) "
    "ORDER BY id DESC LIMIT ?9";
// Without time or nick filters the count is answered from the index alone.
constexpr const char* kCountAll =
    "SELECT COUNT(*) FROM room_archive WHERE domain = ?1 AND user = ?2 AND room = ?3";
constexpr const char* kCountFiltered =
    "SELECT COUNT(*) FROM room_archive WHERE domain = ?1 AND user = ?2 AND room = ?3 "
    "AND at_ms >= ?4 AND at_ms <= ?5 AND (?6 = '' OR nick = ?6)";

}  // namespace

std::unique_ptr<SqliteArchive> SqliteArchive::open(const std::string& path, std::string& error) {
  std::unique_ptr<SqliteArchive> a(new SqliteArchive());
  const bool in_memory = path == ":memory:";
  if (!sqlite::create_parent_directories(path, error)) return nullptr;
  if (!a->db_.open(path, error)) return nullptr;
  std::string why;
  if (!a->init(in_memory, why)) {
    error = "cannot open room archive " + path + ": " + why;
    if (why.find("locked") != std::string::npos) {
      error += " (another connection holds the file: a registry in EXCLUSIVE locking mode? "
               "give the archive its own file)";
    }
    return nullptr;
  }
  return a;
}

bool SqliteArchive::init(bool in_memory, std::string& error) {
  if (!db_.exec(kOpenBusyTimeout)) {
    error = db_.error();
    return false;
  }
  // WAL + NORMAL: a flushed line survives kill -9 of the process; no fsync per
  // commit (only at checkpoints).
  if (!sqlite::use_wal(db_, in_memory, error)) return false;
  if (!db_.exec(kSchema)) {
    error = db_.error();
    return false;
  }
  std::int64_t max_id = 0, reserved = 0;
  if (!db_.query_int("SELECT COALESCE(MAX(id), 0) FROM room_archive", max_id) ||
      !db_.query_int("SELECT COALESCE(MAX(reserved), 0) FROM room_archive_ids", reserved)) {
    error = db_.error();
    return false;
  }
  // Past every id handed out before, even those of lines a kill -9 kept from
  // the database: a client may hold them as stanza-ids and page after them.
  next_id_ = std::max(max_id + 1, reserved);
  reserved_ = next_id_;
  if (!db_.exec(kBusyTimeout)) {
    error = db_.error();
    return false;
  }
  buffer_.reserve(kFlushLines);
  return true;
}

SqliteArchive::~SqliteArchive() {
  flush();
  // A clean close with every line written: give back the unused reservation, so
  // ids stay dense. (Lines ever lost keep their ids out of use.)
  if (!lost_lines_ && reserved_ > next_id_) {
    auto q = db_.query("UPDATE room_archive_ids SET reserved = ?1");
    if (q && (q.bind(next_id_), q->step()) != SQLITE_DONE) log_failure("releasing archive ids");
  }
}

bool SqliteArchive::reserve_ids() {
  // One small committed write per kIdBlock ids, before any of them is handed out.
  const std::int64_t upto = next_id_ > kMaxI64 - kIdBlock ? kMaxI64 : next_id_ + kIdBlock;
  auto q = db_.query("INSERT INTO room_archive_ids(one, reserved) VALUES(1, ?1) "
                     "ON CONFLICT(one) DO UPDATE SET reserved = excluded.reserved");
  if (!q || (q.bind(upto), q->step()) != SQLITE_DONE) {
    db_.capture_error("reserving archive ids");
    log_failure("append");
    return false;
  }
  reserved_ = upto;
  return true;
}

void SqliteArchive::log_failure(std::string_view what) {
  logger()->error("{} failed: {}", what, db_.error());
}

std::int64_t SqliteArchive::append(std::string_view domain, std::string_view user, std::string_view room,
                                   std::int64_t at_ms, std::string_view nick, std::string_view body) {
  if (next_id_ == kMaxI64) {
    logger()->error("append failed: ids exhausted");
    return 0;
  }
  if (next_id_ >= reserved_ && !reserve_ids()) return 0;
  const std::int64_t id = next_id_++;
  buffer_.push_back(Pending{id, at_ms, std::string(domain), std::string(user), std::string(room),
                            std::string(nick), std::string(body)});
  if (buffer_.size() >= kFlushLines) flush();
  return id;
}

void SqliteArchive::flush() {
  if (buffer_.empty()) return;
  // Whatever happens, the buffer is emptied: a failed flush loses these lines
  // (logged) rather than growing without bound.
  std::vector<Pending> lines;
  lines.swap(buffer_);
  bool ok = false;
  {
    sqlite::Transaction tx(db_);
    {
      // One prepared statement for the batch, reset after each row.
      Query q = tx.ok() ? db_.query(
                              "INSERT INTO room_archive(id, domain, user, room, at_ms, nick, body) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                        : Query(nullptr);
      if (q) {
        ok = true;
        for (const Pending& p : lines) {
          q.bind(p.id, p.domain, p.user, p.room, p.at_ms, p.nick, p.body);
          if (q->step() != SQLITE_DONE) {
            db_.capture_error("insert");
            ok = false;
            break;
          }
          q->reset();
        }
      }
    }
    if (ok) ok = tx.commit();
  }
  if (!ok) {
    logger()->error("flush failed, {} archived line(s) dropped: {}", lines.size(), db_.error());
    lost_lines_ = true;
  }
  // Reuse the vector's capacity for the next batch.
  lines.clear();
  buffer_.swap(lines);
}

ArchivePage SqliteArchive::query(std::string_view domain, std::string_view user, std::string_view room,
                                 const ArchiveQuery& aq) {
  flush();
  ArchivePage page;
  const std::int64_t limit =
      aq.max >= static_cast<std::size_t>(kMaxI64) ? kMaxI64 : static_cast<std::int64_t>(aq.max) + 1;
  {
    Query q = db_.query(aq.last ? kPageBackward : kPageForward);
    if (!q) return log_failure("archive query"), page;
    q.bind(domain, user, room, aq.after_id.value_or(kMinI64), aq.before_id.value_or(kMaxI64),
           aq.start_ms.value_or(kMinI64), aq.end_ms.value_or(kMaxI64), std::string_view(aq.nick), limit);
    std::size_t rows = 0;
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      if (++rows > aq.max) break;  // the extra row: there is more
      page.lines.push_back(ArchivedLine{q->int64(0), q->int64(1), q->text(2), q->text(3)});
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      db_.capture_error("archive query");
      log_failure("archive query");
      return ArchivePage{};
    }
    page.complete = rows <= aq.max;
  }
  if (aq.last) std::reverse(page.lines.begin(), page.lines.end());
  page.count = count(domain, user, room, aq);
  return page;
}

std::size_t SqliteArchive::count(std::string_view domain, std::string_view user, std::string_view room,
                                 const ArchiveQuery& aq) {
  const bool filtered = aq.start_ms || aq.end_ms || !aq.nick.empty();
  Query q = db_.query(filtered ? kCountFiltered : kCountAll);
  if (!q) return log_failure("archive count"), 0;
  if (filtered) {
    q.bind(domain, user, room, aq.start_ms.value_or(kMinI64), aq.end_ms.value_or(kMaxI64),
           std::string_view(aq.nick));
  } else {
    q.bind(domain, user, room);
  }
  if (q->step() != SQLITE_ROW) {
    db_.capture_error("archive count");
    return log_failure("archive count"), 0;
  }
  return static_cast<std::size_t>(q->int64(0));
}

bool SqliteArchive::holds(std::string_view domain, std::string_view user, std::string_view room, std::int64_t id) {
  flush();
  Query q = db_.query(
      "SELECT 1 FROM room_archive WHERE id = ?1 AND domain = ?2 AND user = ?3 AND room = ?4");
  if (!q) return log_failure("archive holds"), false;
  q.bind(id, domain, user, room);
  int rc = q->step();
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    db_.capture_error("archive holds");
    log_failure("archive holds");
  }
  return false;
}

bool SqliteArchive::run(Query& q, std::string_view what) {
  if (!q) return log_failure(what), false;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) {
    db_.capture_error(what);
    return log_failure(what), false;
  }
  return true;
}

void SqliteArchive::remove_user(std::string_view domain, std::string_view user) {
  flush();
  Query q = db_.query("DELETE FROM room_archive WHERE domain = ?1 AND user = ?2");
  if (q) q.bind(domain, user);
  run(q, "archive remove_user");
}

std::size_t SqliteArchive::prune(std::string_view domain, std::int64_t before_ms, std::size_t keep) {
  flush();
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return log_failure("archive prune"), 0;
  std::size_t dropped = 0;

  // By age: one pass over the domain's index entries (at_ms is in the index).
  if (before_ms != kMinI64) {
    Query q = db_.query("DELETE FROM room_archive WHERE domain = ?1 AND at_ms < ?2");
    if (q) q.bind(domain, before_ms);
    if (!run(q, "archive prune")) return 0;
    dropped += static_cast<std::size_t>(db_.changes());
  }

  if (keep == 0) {
    Query q = db_.query("DELETE FROM room_archive WHERE domain = ?1");
    if (q) q.bind(domain);
    if (!run(q, "archive prune")) return 0;
    dropped += static_cast<std::size_t>(db_.changes());
  } else if (keep <= static_cast<std::size_t>(kMaxI64)) {
    // By count, per (user, room): walk the distinct pairs on the index (one
    // seek each, not a scan of every line), find the id of the keep-th newest
    // line and delete the pair's lines below it (an index range).
    std::string user, room;
    bool first = true;
    for (;;) {
      {
        Query next = first ? db_.query(
                                 "SELECT user, room FROM room_archive WHERE domain = ?1 "
                                 "ORDER BY user, room LIMIT 1")
                           : db_.query(
                                 "SELECT user, room FROM room_archive WHERE domain = ?1 "
                                 "AND (user, room) > (?2, ?3) ORDER BY user, room LIMIT 1");
        if (!next) return log_failure("archive prune"), 0;
        if (first) next.bind(domain);
        else next.bind(domain, std::string_view(user), std::string_view(room));
        int rc = next->step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
          db_.capture_error("archive prune");
          return log_failure("archive prune"), 0;
        }
        user = next->text(0);
        room = next->text(1);
        first = false;
      }
      std::int64_t oldest_kept = 0;
      {
        Query k = db_.query(
            "SELECT id FROM room_archive WHERE domain = ?1 AND user = ?2 AND room = ?3 "
            "ORDER BY id DESC LIMIT 1 OFFSET ?4");
        if (!k) return log_failure("archive prune"), 0;
        k.bind(domain, std::string_view(user), std::string_view(room), static_cast<std::int64_t>(keep - 1));
        int rc = k->step();
        if (rc == SQLITE_DONE) continue;  // no more than `keep` lines
        if (rc != SQLITE_ROW) {
          db_.capture_error("archive prune");
          return log_failure("archive prune"), 0;
        }
        oldest_kept = k->int64(0);
      }
      Query d = db_.query("DELETE FROM room_archive WHERE domain = ?1 AND user = ?2 AND room = ?3 AND id < ?4");
      if (d) d.bind(domain, std::string_view(user), std::string_view(room), oldest_kept);
      if (!run(d, "archive prune")) return 0;
      dropped += static_cast<std::size_t>(db_.changes());
    }
  }
  if (!tx.commit()) return log_failure("archive prune"), 0;
  return dropped;
}

}  // namespace sb::mapping
