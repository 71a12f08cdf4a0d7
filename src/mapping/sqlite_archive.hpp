// The room archive (room_archive.hpp) on SQLite: one table, room_archive, that
// open() creates if missing (not part of the registry's versioned schema), with
// an index on (domain, user, room, id, at_ms) for paging, time filters and
// retention.
//
// Hot path: append() is called for every line of every room, so it does not
// touch the database. Ids come from an in-memory counter, reserved in blocks of
// kIdBlock in the database first (so a kill -9 that loses buffered lines never
// lets their ids be handed out again); the line is buffered and returned at once. flush() writes the buffer in one
// transaction; append() flushes by itself when kFlushLines are buffered, and
// query(), holds(), remove_user(), prune() and the destructor flush first, so
// they see (or affect) every line appended before them.
//
// Errors: open() reports failure to its caller. After that an SQLite error is
// logged on the "archive" logger and the call returns an empty/false/0 value;
// a flush that fails drops the buffer (memory stays bounded; the archive is a
// copy of what was delivered). It never throws or aborts the io thread.
//
// Connection: its own, never the registry's. The file may be one another
// connection uses too (busy_timeout covers waits for its write lock), but not
// the file of a SqliteRegistry: the registry runs with locking_mode=EXCLUSIVE
// and holds the file's lock for its lifetime, so whichever of the two opens
// second fails at open with "database is locked" (never later, at a flush).
// Give the archive its own file.
//
// Threading: the io thread only (no lock).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include "mapping/room_archive.hpp"
#include "mapping/sqlite_db.hpp"

namespace sb::mapping {

class SqliteArchive final : public RoomArchive {
 public:
  // Lines buffered before append() flushes by itself.
  static constexpr std::size_t kFlushLines = 256;
  // Ids are reserved in the database this many at a time (one small write each
  // time), so none is handed out twice, also across a kill -9.
  static constexpr std::int64_t kIdBlock = 4096;

  // path: database file (parent directories are created), or ":memory:". On
  // failure returns null with error set.
  static std::unique_ptr<SqliteArchive> open(const std::string& path, std::string& error);
  ~SqliteArchive() override;  // flushes

  SqliteArchive(const SqliteArchive&) = delete;
  SqliteArchive& operator=(const SqliteArchive&) = delete;

  // RoomArchive
  std::int64_t append(std::string_view domain, std::string_view user, std::string_view room, std::int64_t at_ms,
                      std::string_view nick, std::string_view body) override;
  ArchivePage query(std::string_view domain, std::string_view user, std::string_view room,
                    const ArchiveQuery& q) override;
  bool holds(std::string_view domain, std::string_view user, std::string_view room, std::int64_t id) override;
  void remove_user(std::string_view domain, std::string_view user) override;
  void flush() override;
  // Retention for one domain, in one transaction: deletes its lines with
  // at_ms < before_ms, then, per (user, room), all but the newest `keep` by id
  // (keep == 0: all of them). Returns how many lines were deleted.
  std::size_t prune(std::string_view domain, std::int64_t before_ms, std::size_t keep) override;

  // Lines appended and not yet flushed (tests, metrics).
  std::size_t buffered() const { return buffer_.size(); }

 private:
  struct Pending {
    std::int64_t id;
    std::int64_t at_ms;
    std::string domain, user, room, nick, body;
  };

  SqliteArchive() = default;
  bool init(bool in_memory, std::string& error);
  bool reserve_ids();
  void log_failure(std::string_view what);
  // Steps a statement to its end; false (logged) when it fails.
  bool run(sqlite::Query& q, std::string_view what);
  std::size_t count(std::string_view domain, std::string_view user, std::string_view room, const ArchiveQuery& q);

  sqlite::Db db_;
  std::int64_t next_id_ = 1;
  std::int64_t reserved_ = 1;  // ids below this are reserved in room_archive_ids
  bool lost_lines_ = false;    // a flush failed: its ids stay reserved
  std::vector<Pending> buffer_;
};

}  // namespace sb::mapping
