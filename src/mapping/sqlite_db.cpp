#include "mapping/sqlite_db.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

namespace sb::mapping::sqlite {

// ---- Stmt ----

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

void Stmt::bind(int i, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so callers may pass temporaries.
  int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::bind(int i, Blob b) {
  // A zero-length blob must still be a blob, not NULL: bind_zeroblob for empty.
  int rc = b.bytes.empty() ? sqlite3_bind_zeroblob(stmt_, i, 0)
                           : sqlite3_bind_blob64(stmt_, i, b.bytes.data(), b.bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

int Stmt::step() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_);
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

std::string Stmt::text(int col) const {
  // Blob access first, then the byte count (the order SQLite documents as safe).
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (!p || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Stmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

// ---- Db ----

Db::~Db() { close(); }

bool Db::open(const std::string& path, std::string& error) {
  close();
  // NOMUTEX (SQLite's multi-thread mode): a connection may move between threads
  // but is never used by two at once; the registry's mutex ensures that.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    error = "cannot open database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return false;
  }
  sqlite3_extended_result_codes(db_, 1);
  return true;
}

void Db::close() {
  cache_.clear();  // statements are finalized before the connection closes
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Db::capture_error(std::string_view context) {
  error_ = std::string(context) + ": " + (db_ ? sqlite3_errmsg(db_) : "database not open");
}

bool Db::exec(std::string_view sql) {
  if (!db_) {
    error_ = "database not open";
    return false;
  }
  std::string s(sql);
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    error_ = std::string(msg ? msg : sqlite3_errstr(rc)) + " (in: " + s.substr(0, 80) + ")";
    sqlite3_free(msg);
    return false;
  }
  return true;
}

Query Db::query(std::string_view sql) {
  if (!db_) {
    error_ = "database not open";
    return Query(nullptr);
  }
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Query(it->second.get());
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK || !st) {
    capture_error("prepare failed for \"" + std::string(sql.substr(0, 80)) + "\"");
    sqlite3_finalize(st);
    return Query(nullptr);
  }
  auto [pos, _] = cache_.emplace(std::string(sql), std::make_unique<Stmt>(st));
  return Query(pos->second.get());
}

bool Db::query_int(std::string_view sql, std::int64_t& out) {
  Query q = query(sql);
  if (!q) return false;
  int rc = q->step();
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) capture_error(std::string(sql));
    else error_ = std::string(sql) + ": no row";
    return false;
  }
  out = q->int64(0);
  return true;
}

std::int64_t Db::last_insert_rowid() const { return db_ ? sqlite3_last_insert_rowid(db_) : 0; }

int Db::changes() const { return db_ ? sqlite3_changes(db_) : 0; }

// ---- Transaction ----

Transaction::Transaction(Db& db) : db_(db) {
  // IMMEDIATE: take the write lock at BEGIN, so a transaction never fails
  // half-way on lock upgrade.
  active_ = db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (active_) db_.exec("ROLLBACK");
}

bool Transaction::commit() {
  if (!active_) return false;
  if (!db_.exec("COMMIT")) {
    // COMMIT failed: the transaction is still open (e.g. SQLITE_BUSY) or was
    // rolled back automatically; ROLLBACK in both cases leaves a clean state.
    std::string e = db_.error();
    db_.exec("ROLLBACK");
    db_.set_error(e);
    active_ = false;
    return false;
  }
  active_ = false;
  return true;
}

// ---- LockFile ----

LockFile::~LockFile() { release(); }

LockFile::Result LockFile::acquire(const std::string& path, std::string& error) {
  release();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open lock file " + path + ": " + std::strerror(errno);
    return Result::Failed;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Result::Held;
    error = "cannot lock " + path + ": " + std::strerror(e);
    return Result::Failed;
  }
  fd_ = fd;
  return Result::Locked;
}

void LockFile::release() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor drops the flock
  fd_ = -1;
}

// ---- RecordLog ----

namespace {
constexpr std::size_t kHeader = 8;  // length + checksum

std::uint32_t fnv1a(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::uint32_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void frame_into(std::string& out, std::string_view body) {
  const auto len = static_cast<std::uint32_t>(body.size());
  const auto sum = fnv1a(body);
  out.clear();
  out.reserve(kHeader + body.size());
  out.append(reinterpret_cast<const char*>(&len), sizeof len);
  out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  out.append(body);
}
}  // namespace

std::string frame_record(std::string_view body) {
  std::string out;
  frame_into(out, body);
  return out;
}

std::size_t split_records(std::string_view bytes, std::vector<std::string_view>& bodies) {
  std::size_t pos = 0;
  while (bytes.size() - pos >= kHeader) {
    const std::uint32_t len = load32(bytes.data() + pos);
    if (len > bytes.size() - pos - kHeader) break;  // cut short
    std::string_view body = bytes.substr(pos + kHeader, len);
    if (fnv1a(body) != load32(bytes.data() + pos + 4)) break;  // torn or garbage
    bodies.push_back(body);
    pos += kHeader + len;
  }
  return pos;
}

RecordLog::~RecordLog() { close(); }

void RecordLog::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

bool RecordLog::open(const std::string& path, std::string& contents, std::vector<std::string_view>& bodies,
                     std::size_t& ignored, std::string& error) {
  close();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "cannot stat " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  contents.assign(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < contents.size()) {
    ssize_t n = ::pread(fd, contents.data() + got, contents.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  contents.resize(got);
  bodies.clear();
  const std::size_t valid = split_records(contents, bodies);
  ignored = contents.size() - valid;
  // Appends go after a torn tail only once it is cut off (else they would be
  // unreadable behind it).
  if (ignored > 0 && ::ftruncate(fd, static_cast<off_t>(valid)) != 0) {
    error = "cannot truncate " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  size_ = valid;
  return true;
}

bool RecordLog::append(std::string_view body) {
  if (fd_ < 0) return false;
  frame_into(buf_, body);
  std::size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Disk full or I/O error: cut the partial record off again. If even that
      // fails, later records would sit unreadable behind it: stop appending.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) close();
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += buf_.size();
  return true;
}

bool RecordLog::clear() {
  if (fd_ < 0) return false;
  if (::ftruncate(fd_, 0) != 0) return false;
  size_ = 0;
  return true;
}

// ---- file set-up shared by the registry and the archive ----

bool create_parent_directories(const std::string& path, std::string& error) {
  if (path == ":memory:") return true;
  std::filesystem::path p(path);
  if (!p.has_parent_path()) return true;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) {
    error = "cannot create directory " + p.parent_path().string() + ": " + ec.message();
    return false;
  }
  return true;
}

bool use_wal(Db& db, bool in_memory, std::string& error) {
  if (!in_memory) {
    Query q = db.query("PRAGMA journal_mode = WAL");
    if (!q || q->step() != SQLITE_ROW) {
      error = "cannot enable WAL: " + db.error();
      return false;
    }
    if (q->text(0) != "wal") {
      error = "cannot enable WAL (journal_mode is " + q->text(0) + ")";
      return false;
    }
  }
  if (!db.exec("PRAGMA synchronous = NORMAL")) {
    error = db.error();
    return false;
  }
  return true;
}

}  // namespace sb::mapping::sqlite
