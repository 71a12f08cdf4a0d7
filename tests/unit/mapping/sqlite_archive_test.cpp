// The SQLite room archive (room_archive.hpp, sqlite_archive.hpp): ids, the
// append buffer and its flushes, persistence, per-user isolation, the query
// filters and paging (XEP-0313 / XEP-0059 semantics), holds, remove_user,
// retention, exact bytes, and sharing a database file with other connections.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

#include "fakes/temp_registry.hpp"
#include "mapping/sqlite_archive.hpp"
#include "mapping/sqlite_db.hpp"
#include "mapping/sqlite_registry.hpp"

using sb::mapping::ArchivedLine;
using sb::mapping::ArchivePage;
using sb::mapping::ArchiveQuery;
using sb::mapping::SqliteArchive;
using sb::test::TempDir;

namespace {

const std::string D = "irc.example.org";
const std::string D2 = "sms.example.org";
const std::string JULIET = "juliet@capulet.lit";
const std::string ROMEO = "romeo@montague.lit";
const std::string CHAN = "#verona%irc.libera.chat";
const std::string CHAN2 = "#mantua%irc.libera.chat";

std::unique_ptr<SqliteArchive> open_archive(const std::string& path) {
  std::string error;
  auto a = SqliteArchive::open(path, error);
  INFO(error);
  REQUIRE(a);
  return a;
}

std::vector<std::int64_t> ids(const ArchivePage& p) {
  std::vector<std::int64_t> out;
  for (const auto& l : p.lines) out.push_back(l.id);
  return out;
}

ArchiveQuery all_lines() {
  ArchiveQuery q;
  q.max = 1000;
  return q;
}

// A second, plain connection to the same file: what is really in the database.
struct Raw {
  sb::mapping::sqlite::Db db;
  explicit Raw(const std::string& path) {
    std::string error;
    INFO(error);
    REQUIRE(db.open(path, error));
    REQUIRE(db.exec("PRAGMA busy_timeout = 5000"));
  }
  std::int64_t rows() {
    std::int64_t n = -1;
    INFO(db.error());
    REQUIRE(db.query_int("SELECT COUNT(*) FROM room_archive", n));
    return n;
  }
};

}  // namespace

TEST_CASE("archive: ids are positive, increase across rooms and users, and continue after reopen") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("sub/archive.db");  // parent directory created
  std::vector<std::int64_t> got;
  {
    auto a = open_archive(path);
    got.push_back(a->append(D, JULIET, CHAN, 1000, "tybalt", "one"));
    got.push_back(a->append(D, ROMEO, CHAN, 1001, "tybalt", "two"));
    got.push_back(a->append(D2, JULIET, CHAN2, 1002, "", "three"));
    got.push_back(a->append(D, JULIET, CHAN, 1003, "mercutio", "four"));
    CHECK(got == std::vector<std::int64_t>{1, 2, 3, 4});
  }
  auto a = open_archive(path);
  const auto next = a->append(D, JULIET, CHAN, 1004, "tybalt", "five");
  CHECK(next == 5);
  CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{1, 4, 5});
}

TEST_CASE("archive: ids handed out before a kill -9 (lines never written) are never handed out again") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  { open_archive(path)->append(D, JULIET, CHAN, 1, "n", "written"); }  // id 1, closed cleanly
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The process dies with ids 2..4 handed out as stanza-ids and still buffered.
    auto a = open_archive(path);
    a->append(D, JULIET, CHAN, 2, "n", "lost");
    a->append(D, JULIET, CHAN, 3, "n", "lost");
    a->append(D, JULIET, CHAN, 4, "n", "lost");
    _exit(0);  // no destructor, no flush: as kill -9
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  auto a = open_archive(path);
  CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{1});
  const auto next = a->append(D, JULIET, CHAN, 5, "n", "after the crash");
  CHECK(next > 4);  // a client paging "after 3" must not skip this line
}

TEST_CASE("archive: ids continue above the highest stored id, not the number of lines") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  {
    auto a = open_archive(path);
    for (int i = 0; i < 10; ++i) a->append(D, JULIET, CHAN, i, "n", "x");
    CHECK(a->prune(D, 0, 1) == 9);  // keeps only line 10
    CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{10});
  }
  auto a = open_archive(path);
  CHECK(a->append(D, JULIET, CHAN, 11, "n", "x") == 11);
}

TEST_CASE("archive: append buffers without touching the database; query sees buffered lines") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  auto a = open_archive(path);
  Raw raw(path);
  a->append(D, JULIET, CHAN, 1000, "tybalt", "hello");
  a->append(D, JULIET, CHAN, 1001, "mercutio", "world");
  CHECK(a->buffered() == 2);
  CHECK(raw.rows() == 0);  // nothing written yet

  // No explicit flush: the query still sees both lines.
  auto page = a->query(D, JULIET, CHAN, ArchiveQuery{});
  REQUIRE(page.lines.size() == 2);
  CHECK(page.lines[0].nick == "tybalt");
  CHECK(page.lines[0].body == "hello");
  CHECK(page.lines[0].at_ms == 1000);
  CHECK(page.lines[1].nick == "mercutio");
  CHECK(page.lines[1].body == "world");
  CHECK(page.lines[1].at_ms == 1001);
  CHECK(page.complete);
  CHECK(page.count == 2);
  CHECK(raw.rows() == 2);  // the query flushed them
  CHECK(a->buffered() == 0);
}

TEST_CASE("archive: append flushes by itself once kFlushLines lines are buffered") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  auto a = open_archive(path);
  Raw raw(path);
  for (std::size_t i = 1; i < SqliteArchive::kFlushLines; ++i) a->append(D, JULIET, CHAN, 1, "n", "x");
  CHECK(a->buffered() == SqliteArchive::kFlushLines - 1);
  CHECK(raw.rows() == 0);
  a->append(D, JULIET, CHAN, 1, "n", "x");
  CHECK(a->buffered() == 0);
  CHECK(raw.rows() == static_cast<std::int64_t>(SqliteArchive::kFlushLines));
}

TEST_CASE("archive: flushed lines persist across reopen, and the destructor flushes the rest") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  {
    auto a = open_archive(path);
    a->append(D, JULIET, CHAN, 1000, "tybalt", "flushed 1");
    a->append(D, JULIET, CHAN, 1001, "tybalt", "flushed 2");
    a->flush();
    CHECK(a->buffered() == 0);
    CHECK(Raw(path).rows() == 2);
    a->append(D, JULIET, CHAN, 1002, "tybalt", "only buffered");
    CHECK(a->buffered() == 1);
    CHECK(Raw(path).rows() == 2);
  }  // destroyed without flush()
  CHECK(Raw(path).rows() == 3);
  auto a = open_archive(path);
  auto page = a->query(D, JULIET, CHAN, all_lines());
  REQUIRE(page.lines.size() == 3);
  CHECK(page.lines[0].body == "flushed 1");
  CHECK(page.lines[1].body == "flushed 2");
  CHECK(page.lines[2].body == "only buffered");
  CHECK(page.lines[2].at_ms == 1002);
  CHECK(page.lines[2].id == 3);
}

TEST_CASE("archive: each (domain, user, room) is its own archive") {
  auto a = open_archive(":memory:");
  const auto j1 = a->append(D, JULIET, CHAN, 1, "n", "juliet verona");
  const auto r1 = a->append(D, ROMEO, CHAN, 2, "n", "romeo verona");
  const auto j2 = a->append(D, JULIET, CHAN2, 3, "n", "juliet mantua");
  const auto x1 = a->append(D2, JULIET, CHAN, 4, "n", "other domain");
  const auto j3 = a->append(D, JULIET, CHAN, 5, "n", "juliet verona 2");

  auto jv = a->query(D, JULIET, CHAN, all_lines());
  CHECK(ids(jv) == std::vector<std::int64_t>{j1, j3});
  CHECK(jv.count == 2);
  CHECK(ids(a->query(D, ROMEO, CHAN, all_lines())) == std::vector<std::int64_t>{r1});
  CHECK(ids(a->query(D, JULIET, CHAN2, all_lines())) == std::vector<std::int64_t>{j2});
  CHECK(ids(a->query(D2, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{x1});
  auto none = a->query(D2, ROMEO, CHAN, all_lines());
  CHECK(none.lines.empty());
  CHECK(none.complete);
  CHECK(none.count == 0);
  // Keys compare exactly: no case folding, no prefixes.
  CHECK(a->query(D, "Juliet@capulet.lit", CHAN, all_lines()).lines.empty());
  CHECK(a->query(D, JULIET, "#verona", all_lines()).lines.empty());
}

TEST_CASE("archive: start/end (inclusive), after/before (exclusive) and nick filters; count ignores ids and max") {
  auto a = open_archive(":memory:");
  // ids 1..10, at_ms 100, 200, ..., 1000; tybalt on odd ids, mercutio on even.
  for (int i = 1; i <= 10; ++i) a->append(D, JULIET, CHAN, i * 100, i % 2 ? "tybalt" : "mercutio", std::to_string(i));
  a->append(D, JULIET, CHAN2, 500, "tybalt", "other room");  // id 11, never matches

  ArchiveQuery q = all_lines();
  q.start_ms = 300;
  q.end_ms = 700;
  auto p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{3, 4, 5, 6, 7});
  CHECK(p.complete);
  CHECK(p.count == 5);

  q = all_lines();
  q.after_id = 3;
  q.before_id = 7;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{4, 5, 6});
  CHECK(p.count == 10);  // ids do not narrow the count

  q = all_lines();
  q.nick = "tybalt";
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{1, 3, 5, 7, 9});
  CHECK(p.count == 5);
  for (const char* near : {"Tybalt", "tyb", "tybalt ", "ybalt"}) {
    q.nick = near;
    auto none = a->query(D, JULIET, CHAN, q);
    CHECK(none.lines.empty());
    CHECK(none.count == 0);
  }

  // All together, with a page smaller than the matches.
  q = ArchiveQuery{};
  q.start_ms = 200;
  q.end_ms = 900;
  q.nick = "tybalt";
  q.after_id = 3;
  q.max = 1;
  p = a->query(D, JULIET, CHAN, q);
  REQUIRE(ids(p) == std::vector<std::int64_t>{5});
  CHECK(p.lines[0].body == "5");
  CHECK_FALSE(p.complete);  // 7 and 9 follow
  CHECK(p.count == 4);      // 3, 5, 7, 9 (ids and max ignored)

  // Only an end, only a start.
  q = all_lines();
  q.end_ms = 200;
  CHECK(ids(a->query(D, JULIET, CHAN, q)) == std::vector<std::int64_t>{1, 2});
  q = all_lines();
  q.start_ms = 1000;
  CHECK(ids(a->query(D, JULIET, CHAN, q)) == std::vector<std::int64_t>{10});
}

TEST_CASE("archive: paging forward with after_id until complete") {
  auto a = open_archive(":memory:");
  std::vector<std::int64_t> appended;
  for (int i = 0; i < 7; ++i) appended.push_back(a->append(D, JULIET, CHAN, 1000 + i, "n", "x"));

  ArchiveQuery q;
  q.max = 3;
  std::vector<std::int64_t> seen;
  std::vector<bool> completes;
  for (int guard = 0; guard < 10; ++guard) {
    auto p = a->query(D, JULIET, CHAN, q);
    CHECK(p.count == 7);
    for (auto id : ids(p)) seen.push_back(id);
    completes.push_back(p.complete);
    if (p.complete) break;
    REQUIRE_FALSE(p.lines.empty());
    q.after_id = p.lines.back().id;
  }
  CHECK(seen == appended);
  CHECK(completes == std::vector<bool>{false, false, true});

  // A page that ends exactly on the last line is complete: no empty extra page.
  auto b = open_archive(":memory:");
  for (int i = 0; i < 6; ++i) b->append(D, JULIET, CHAN, i, "n", "x");
  q = ArchiveQuery{};
  q.max = 3;
  auto p1 = b->query(D, JULIET, CHAN, q);
  CHECK(ids(p1) == std::vector<std::int64_t>{1, 2, 3});
  CHECK_FALSE(p1.complete);
  q.after_id = 3;
  auto p2 = b->query(D, JULIET, CHAN, q);
  CHECK(ids(p2) == std::vector<std::int64_t>{4, 5, 6});
  CHECK(p2.complete);
}

TEST_CASE("archive: last returns the newest page oldest first; paging back with before_id") {
  auto a = open_archive(":memory:");
  for (int i = 1; i <= 7; ++i) a->append(D, JULIET, CHAN, i * 10, "n", std::to_string(i));
  ArchiveQuery q;
  q.max = 3;
  q.last = true;
  auto p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{5, 6, 7});
  CHECK(p.lines.front().body == "5");
  CHECK_FALSE(p.complete);  // 1..4 lie before
  CHECK(p.count == 7);

  q.before_id = 5;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{2, 3, 4});
  CHECK_FALSE(p.complete);

  q.before_id = 2;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{1});
  CHECK(p.complete);

  // Exactly max lines before: complete.
  q.before_id = 4;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(p.complete);

  // With an end time: the newest matching lines, not the newest overall.
  q = ArchiveQuery{};
  q.max = 2;
  q.last = true;
  q.end_ms = 40;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{3, 4});
  CHECK_FALSE(p.complete);
  CHECK(p.count == 4);
}

TEST_CASE("archive: max 0 returns no lines, only count and whether anything matches") {
  auto a = open_archive(":memory:");
  for (int i = 1; i <= 4; ++i) a->append(D, JULIET, CHAN, i, "n", "x");
  ArchiveQuery q;
  q.max = 0;
  auto p = a->query(D, JULIET, CHAN, q);
  CHECK(p.lines.empty());
  CHECK_FALSE(p.complete);
  CHECK(p.count == 4);

  q.after_id = 4;  // nothing after the last line
  p = a->query(D, JULIET, CHAN, q);
  CHECK(p.lines.empty());
  CHECK(p.complete);
  CHECK(p.count == 4);

  q = ArchiveQuery{};
  q.max = 0;
  q.last = true;
  q.before_id = 1;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(p.complete);

  // A huge max does not overflow the limit.
  q = ArchiveQuery{};
  q.max = std::numeric_limits<std::size_t>::max();
  p = a->query(D, JULIET, CHAN, q);
  CHECK(p.lines.size() == 4);
  CHECK(p.complete);
  q.last = true;
  p = a->query(D, JULIET, CHAN, q);
  CHECK(ids(p) == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(p.complete);
}

TEST_CASE("archive: holds only the user's own lines of that room, buffered ones included") {
  auto a = open_archive(":memory:");
  const auto id = a->append(D, JULIET, CHAN, 1, "n", "x");
  const auto other = a->append(D, ROMEO, CHAN, 2, "n", "x");
  CHECK(a->buffered() == 2);
  CHECK(a->holds(D, JULIET, CHAN, id));
  CHECK(a->holds(D, ROMEO, CHAN, other));
  CHECK_FALSE(a->holds(D, JULIET, CHAN, other));  // Romeo's line
  CHECK_FALSE(a->holds(D, ROMEO, CHAN, id));
  CHECK_FALSE(a->holds(D, JULIET, CHAN2, id));  // another room
  CHECK_FALSE(a->holds(D2, JULIET, CHAN, id));  // another domain
  CHECK_FALSE(a->holds(D, JULIET, CHAN, 999));
  CHECK_FALSE(a->holds(D, JULIET, CHAN, 0));
}

TEST_CASE("archive: remove_user forgets all the user's rooms in that domain only") {
  auto a = open_archive(":memory:");
  a->append(D, JULIET, CHAN, 1, "n", "x");
  a->flush();
  a->append(D, JULIET, CHAN2, 2, "n", "x");  // still buffered when removed
  const auto romeo = a->append(D, ROMEO, CHAN, 3, "n", "x");
  const auto elsewhere = a->append(D2, JULIET, CHAN, 4, "n", "x");
  a->remove_user(D, JULIET);
  CHECK(a->query(D, JULIET, CHAN, all_lines()).count == 0);
  CHECK(a->query(D, JULIET, CHAN2, all_lines()).count == 0);
  CHECK(ids(a->query(D, ROMEO, CHAN, all_lines())) == std::vector<std::int64_t>{romeo});
  CHECK(ids(a->query(D2, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{elsewhere});
  // The id counter is not reset: a later line gets a new id.
  CHECK(a->append(D, JULIET, CHAN, 5, "n", "x") == 5);
}

TEST_CASE("archive: prune by age drops the domain's lines older than before_ms, nothing else") {
  auto a = open_archive(":memory:");
  for (int i = 1; i <= 5; ++i) a->append(D, JULIET, CHAN, i * 100, "n", "x");    // ids 1..5
  for (int i = 1; i <= 3; ++i) a->append(D, ROMEO, CHAN2, i * 100, "n", "x");    // ids 6..8
  for (int i = 1; i <= 3; ++i) a->append(D2, JULIET, CHAN, i * 100, "n", "x");   // ids 9..11

  const auto keep_all = std::numeric_limits<std::size_t>::max();
  CHECK(a->prune(D, 300, keep_all) == 4);  // at_ms 100, 200 of both users; 300 stays
  CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{3, 4, 5});
  CHECK(ids(a->query(D, ROMEO, CHAN2, all_lines())) == std::vector<std::int64_t>{8});
  CHECK(ids(a->query(D2, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{9, 10, 11});
  CHECK(a->prune(D, 300, keep_all) == 0);
}

TEST_CASE("archive: prune by count keeps the newest lines of each (user, room) of the domain") {
  auto a = open_archive(":memory:");
  const auto old = std::numeric_limits<std::int64_t>::min();
  // Interleaved, so each archive's ids are not contiguous.
  std::vector<std::int64_t> jv, jm, rv, xv;
  for (int i = 0; i < 6; ++i) {
    jv.push_back(a->append(D, JULIET, CHAN, i, "n", "x"));
    rv.push_back(a->append(D, ROMEO, CHAN, i, "n", "x"));
    if (i < 2) jm.push_back(a->append(D, JULIET, CHAN2, i, "n", "x"));  // under the limit
    xv.push_back(a->append(D2, JULIET, CHAN, i, "n", "x"));
  }
  a->append(D, "", "", 0, "", "empty keys");  // the first (user, room) in order

  CHECK(a->prune(D, old, 2) == 8);  // 4 of Juliet's #verona, 4 of Romeo's
  CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{jv[4], jv[5]});
  CHECK(ids(a->query(D, ROMEO, CHAN, all_lines())) == std::vector<std::int64_t>{rv[4], rv[5]});
  CHECK(ids(a->query(D, JULIET, CHAN2, all_lines())) == jm);
  CHECK(ids(a->query(D2, JULIET, CHAN, all_lines())) == xv);  // other domain untouched
  CHECK(a->query(D, "", "", all_lines()).count == 1);
  CHECK(a->prune(D, old, 2) == 0);

  // Age and count together: the sum of both.
  CHECK(a->prune(D2, 2, 3) == 2 + 1);  // at_ms 0, 1; then 4 left, keep 3
  CHECK(ids(a->query(D2, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{xv[3], xv[4], xv[5]});

  // keep 0: nothing is kept.
  CHECK(a->prune(D, old, 0) == 7);
  CHECK(a->query(D, JULIET, CHAN, all_lines()).count == 0);
  CHECK(a->query(D2, JULIET, CHAN, all_lines()).count == 3);
}

TEST_CASE("archive: prune includes lines still buffered") {
  auto a = open_archive(":memory:");
  for (int i = 0; i < 3; ++i) a->append(D, JULIET, CHAN, i, "n", "x");
  CHECK(a->buffered() == 3);
  CHECK(a->prune(D, 2, 100) == 2);
  CHECK(ids(a->query(D, JULIET, CHAN, all_lines())) == std::vector<std::int64_t>{3});
}

TEST_CASE("archive: texts round-trip byte for byte (NUL, invalid UTF-8), also from disk") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  const std::string body("a\0b\xff\xfe\xc3(\x80 end\0", 14);
  const std::string nick("ni\0ck", 5);
  const std::string room("#r\0\xe9", 4);
  {
    auto a = open_archive(path);
    a->append(D, JULIET, room, 1, nick, body);
    a->append(D, JULIET, room, 2, "ni", "prefix nick");  // "ni" is a prefix of nick up to its NUL
    a->append(D, JULIET, "#r", 3, "", "prefix room");
    a->append(D, JULIET, room, 4, "", "");
  }
  auto a = open_archive(path);
  auto p = a->query(D, JULIET, room, all_lines());
  REQUIRE(p.lines.size() == 3);
  CHECK(p.lines[0].body == body);
  CHECK(p.lines[0].body.size() == 14);
  CHECK(p.lines[0].nick == nick);
  CHECK(p.lines[2].nick.empty());
  CHECK(p.lines[2].body.empty());
  ArchiveQuery q = all_lines();
  q.nick = nick;
  CHECK(ids(a->query(D, JULIET, room, q)) == std::vector<std::int64_t>{1});
  q.nick = "ni";
  CHECK(ids(a->query(D, JULIET, room, q)) == std::vector<std::int64_t>{2});
  CHECK(ids(a->query(D, JULIET, "#r", all_lines())) == std::vector<std::int64_t>{3});
}

TEST_CASE("archive: a failed flush drops the buffer, is not thrown, and later lines are kept") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("archive.db");
  auto a = open_archive(path);
  a->append(D, JULIET, CHAN, 1, "n", "kept 1");
  a->flush();
  // Another connection takes id 3 behind the archive's back: the next batch
  // (ids 2, 3) fails on the primary key.
  Raw raw(path);
  REQUIRE(raw.db.exec("INSERT INTO room_archive VALUES(3, 'other', 'u', 'r', 0, '', '')"));
  CHECK(a->append(D, JULIET, CHAN, 2, "n", "lost 2") == 2);
  CHECK(a->append(D, JULIET, CHAN, 3, "n", "lost 3") == 3);
  a->flush();
  CHECK(a->buffered() == 0);
  CHECK(a->append(D, JULIET, CHAN, 4, "n", "kept 4") == 4);
  auto p = a->query(D, JULIET, CHAN, all_lines());
  CHECK(ids(p) == std::vector<std::int64_t>{1, 4});  // one transaction: neither 2 nor 3
}

TEST_CASE("archive: shares its file with another connection; flushes and the other's writes interleave") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("switchboard.db");
  auto a = open_archive(path);
  Raw other(path);
  REQUIRE(other.db.exec("CREATE TABLE IF NOT EXISTS notes(v TEXT NOT NULL)"));
  for (int round = 0; round < 5; ++round) {
    INFO(other.db.error());
    REQUIRE(other.db.exec("INSERT INTO notes VALUES('n')"));
    for (int i = 0; i < 3; ++i) a->append(D, JULIET, CHAN, round * 10 + i, "n", "x");
    a->flush();
    REQUIRE(other.db.exec("BEGIN IMMEDIATE; INSERT INTO notes VALUES('m'); COMMIT"));
  }
  CHECK(other.rows() == 15);
  std::int64_t notes = 0;
  REQUIRE(other.db.query_int("SELECT COUNT(*) FROM notes", notes));
  CHECK(notes == 10);
  CHECK(a->query(D, JULIET, CHAN, all_lines()).count == 15);
}

TEST_CASE("archive: next to the registry: own file works; the registry's file (EXCLUSIVE lock) is refused clearly") {
  TempDir dir("sb-archive");
  auto registry = sb::test::open_ok(dir.file("registry.db"));

  // Its own file in the same directory: both work, interleaved.
  auto a = open_archive(dir.file("archive.db"));
  for (const char* key : {"k0", "k1", "k2"}) {
    const int i = key[1] - '0';
    registry->put_state(D, key, "v");
    registry->enqueue(D, "outbox", "payload");
    a->append(D, JULIET, CHAN, i, "n", "x");
    a->flush();
  }
  CHECK(registry->get_state(D, "k2") == "v");
  CHECK(registry->queue_size(D, "outbox") == 3);
  CHECK(a->query(D, JULIET, CHAN, all_lines()).count == 3);

  // The registry holds its file's lock for its lifetime (locking_mode =
  // EXCLUSIVE): a second connection cannot use it. open() says so, after a
  // short wait, instead of failing every flush later.
  std::string error;
  auto same = SqliteArchive::open(dir.file("registry.db"), error);
  CHECK_FALSE(same);
  CHECK(error.find("locked") != std::string::npos);
  CHECK(error.find("own file") != std::string::npos);
  // The registry is unaffected.
  registry->put_state(D, "after", "v");
  CHECK(registry->get_state(D, "after") == "v");
}

TEST_CASE("archive: a file that is not a database is refused with an error, no crash") {
  TempDir dir("sb-archive");
  const std::string path = dir.file("junk.db");
  std::ofstream(path) << std::string(4096, 'x');
  std::string error;
  auto a = SqliteArchive::open(path, error);
  CHECK_FALSE(a);
  CHECK(error.find("junk.db") != std::string::npos);
  CHECK(error.find("not a database") != std::string::npos);
}
