// Thin RAII wrappers over the SQLite C API for the mapping registry (SPEC §5):
// a connection (Db) with a per-SQL cache of prepared statements, a statement
// (Stmt), a scoped use of a cached statement that always resets it (Query), a
// transaction guard, the single-instance lock file, and the append-only record
// file behind the registry's queue journal (RecordLog).
//
// No exceptions: every failure is a return value, with the SQLite message
// available from Db::error(). Not thread-safe: one thread at a time (the registry
// serialises every use of its connection with a mutex).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sb::mapping::sqlite {

// A value to bind as a BLOB rather than TEXT (queue payloads are opaque bytes).
struct Blob { std::string_view bytes; };

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : stmt_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based. A failed bind is remembered and reported by step().
  void bind(int i, std::string_view text);
  void bind(int i, const char* text) { bind(i, std::string_view(text)); }
  void bind(int i, const std::string& text) { bind(i, std::string_view(text)); }
  void bind(int i, std::int64_t v);
  void bind(int i, int v) { bind(i, static_cast<std::int64_t>(v)); }
  void bind(int i, Blob b);

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step();
  // Ready for reuse: reset, bindings cleared, remembered bind error forgotten.
  void reset();

  // Columns are 0-based. Text and blobs are copied out with their exact length,
  // so embedded NUL bytes survive.
  std::string text(int col) const;
  std::int64_t int64(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3_stmt* stmt_;
  int bind_rc_ = 0;  // SQLITE_OK
};

// A borrowed cached statement, reset on scope exit so no statement is ever left
// mid-step (an unfinished read would pin a WAL snapshot and block checkpoints).
class Query {
 public:
  explicit Query(Stmt* s) : s_(s) {}
  ~Query() { if (s_) s_->reset(); }
  Query(Query&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;

  explicit operator bool() const { return s_ != nullptr; }
  Stmt* operator->() const { return s_; }

  // Binds the arguments to parameters 1..N, in order.
  template <class... A>
  Query& bind(const A&... args) {
    int i = 0;
    (s_->bind(++i, args), ...);
    return *this;
  }

 private:
  Stmt* s_;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating if needed) the database file, or ":memory:".
  bool open(const std::string& path, std::string& error);
  void close();
  bool is_open() const { return db_ != nullptr; }
  sqlite3* handle() const { return db_; }

  // Runs one or more statements without results (DDL, PRAGMA setters).
  bool exec(std::string_view sql);
  // The prepared statement for this SQL, prepared once and cached for the
  // connection's lifetime; empty Query (false) if it does not prepare.
  Query query(std::string_view sql);
  // The first column of the first row of a query ("PRAGMA user_version");
  // false if it fails or returns no row.
  bool query_int(std::string_view sql, std::int64_t& out);

  std::int64_t last_insert_rowid() const;
  int changes() const;
  // The last SQLite error message on this connection (with the failing step's
  // context added by exec/query).
  const std::string& error() const { return error_; }
  void set_error(std::string e) { error_ = std::move(e); }
  // Records the connection's current sqlite3_errmsg() as the error, prefixed.
  void capture_error(std::string_view context);

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<Stmt>, std::less<>> cache_;
  std::string error_;
};

// Creates the parent directories of a database file path (none for ":memory:" or
// a bare name); false with error set when that fails.
bool create_parent_directories(const std::string& path, std::string& error);
// PRAGMA journal_mode = WAL, then synchronous = NORMAL (a commit survives kill -9
// of the process, not power loss; fsync only at checkpoints). `in_memory`: only
// the synchronous setting. False with error set.
bool use_wal(Db& db, bool in_memory, std::string& error);

// BEGIN IMMEDIATE ... COMMIT; rolls back on scope exit unless committed.
// Not nestable (the registry never nests them).
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  bool ok() const { return active_; }  // BEGIN succeeded
  bool commit();

 private:
  Db& db_;
  bool active_ = false;
};

// An exclusive, non-blocking flock() held for the object's lifetime. The kernel
// drops it when the process dies (also on kill -9), so a stale lock file never
// blocks a restart.
class LockFile {
 public:
  LockFile() = default;
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  enum class Result { Locked, Held, Failed };
  // Held: another process (or another open file description in this one) has
  // it, and the caller words the error; Failed: error says why.
  Result acquire(const std::string& path, std::string& error);
  void release();

 private:
  int fd_ = -1;
};

// Records framed for an append-only file: length (4 bytes), FNV-1a checksum of
// the body (4 bytes, host order: the file never leaves the machine), body.
std::string frame_record(std::string_view body);
// The bodies of the whole, intact records at the start of `bytes`, in order;
// returns how many bytes they span. Parsing stops at the first record that is
// cut short or fails its checksum (a write torn by a crash of the machine).
std::size_t split_records(std::string_view bytes, std::vector<std::string_view>& bodies);

// An append-only file of framed records. append() is one write(): when it
// returns the record is in the OS page cache, so it survives kill -9 of the
// process (like a WAL commit with synchronous=NORMAL), not power loss. Not
// thread-safe (the registry's mutex serialises it). No exceptions.
class RecordLog {
 public:
  RecordLog() = default;
  ~RecordLog();
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  // Opens or creates the file and reads what it holds: the intact records'
  // bodies into `contents` (see split_records), `ignored` = bytes after them.
  bool open(const std::string& path, std::string& contents, std::vector<std::string_view>& bodies,
            std::size_t& ignored, std::string& error);
  bool is_open() const { return fd_ >= 0; }
  // False when the record could not be written whole; a partial write is cut
  // off again, so the file never keeps half a record.
  bool append(std::string_view body);
  // Empties the file (everything in it is no longer needed).
  bool clear();
  std::uint64_t size() const { return size_; }
  void close();

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string buf_;  // reused framing buffer
};

}  // namespace sb::mapping::sqlite
