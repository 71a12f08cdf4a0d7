// The SQLite mapping registry (SPEC §5, §10): every method, persistence,
// single-instance lock, migrations, and durability across kill -9.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/clock.hpp"
#include "mapping/sqlite_db.hpp"
#include "mapping/sqlite_registry.hpp"
#include "fakes/temp_registry.hpp"
#include "mapping/sqlite_schema.hpp"

namespace fs = std::filesystem;
using sb::mapping::Registration;
using sb::mapping::SqliteRegistry;

using sb::test::open_ok;
using sb::test::TempDir;

namespace {

std::unique_ptr<SqliteRegistry> memory() { return open_ok(":memory:"); }

const std::string D = "mqtt.example.org";

}  // namespace

TEST_CASE("registry: a fresh database is at the latest schema version") {
  auto r = memory();
  CHECK(r->schema_version() == sb::mapping::sqlite::latest_schema_version());
  CHECK(r->schema_version() >= 2);
}

TEST_CASE("registry: registrations keep their fields in order and are replaced whole") {
  auto r = memory();
  CHECK_FALSE(r->registration(D, "juliet@capulet.lit"));

  r->put_registration(D, Registration{"juliet@capulet.lit", {{"username", "juliet"}, {"password", "s3cr3t"}}, 1000});
  auto got = r->registration(D, "juliet@capulet.lit");
  REQUIRE(got);
  CHECK(got->user == "juliet@capulet.lit");
  CHECK(got->created_ms == 1000);
  CHECK(got->fields == sb::mapping::FieldValues{{"username", "juliet"}, {"password", "s3cr3t"}});

  // Insert or replace: fields not in the new registration are gone.
  r->put_registration(D, Registration{"juliet@capulet.lit", {{"username", "jc"}}, 2000});
  got = r->registration(D, "juliet@capulet.lit");
  REQUIRE(got);
  CHECK(got->created_ms == 2000);
  CHECK(got->fields == sb::mapping::FieldValues{{"username", "jc"}});

  r->put_registration(D, Registration{"romeo@montague.lit", {{"number", "+15550100"}, {"api_key", "k"}, {"x", ""}}, 3000});
  r->put_registration(D, Registration{"tybalt@capulet.lit", {}, 5000});
  r->put_registration("irc.example.org", Registration{"nurse@capulet.lit", {{"nick", "n"}}, 4000});

  auto all = r->registrations(D);
  REQUIRE(all.size() == 3);
  CHECK(all[0].user == "juliet@capulet.lit");
  CHECK(all[0].fields == sb::mapping::FieldValues{{"username", "jc"}});
  CHECK(all[1].user == "romeo@montague.lit");
  CHECK(all[1].fields == sb::mapping::FieldValues{{"number", "+15550100"}, {"api_key", "k"}, {"x", ""}});
  CHECK(all[1].created_ms == 3000);
  CHECK(all[2].user == "tybalt@capulet.lit");
  CHECK(all[2].fields.empty());
  // Domains are separate.
  CHECK_FALSE(r->registration(D, "nurse@capulet.lit"));
  CHECK(r->registrations("irc.example.org").size() == 1);
  CHECK(r->registrations("sms.example.org").empty());
}

TEST_CASE("registry: remove_registration removes all of the user's data and nobody else's") {
  auto r = memory();
  for (const char* u : {"juliet@capulet.lit", "romeo@montague.lit"}) {
    r->put_registration(D, Registration{u, {{"username", u}}, 1});
    r->set_subscribed(D, u, "sensor1", true);
    r->set_subscribed(D, u, "", true);
    r->put_setting(D, u, "history", "on");
  }
  r->put_registration("irc.example.org", Registration{"juliet@capulet.lit", {}, 1});
  r->put_mapping(D, "home/kitchen", "kitchen");

  CHECK(r->remove_registration(D, "juliet@capulet.lit"));

  CHECK_FALSE(r->registration(D, "juliet@capulet.lit"));
  CHECK(r->subscriptions(D, "juliet@capulet.lit").empty());
  CHECK(r->settings(D, "juliet@capulet.lit").empty());
  CHECK(r->subscribers(D, "sensor1") == std::vector<std::string>{"romeo@montague.lit"});
  // Another user, and the same user in another domain, are untouched.
  REQUIRE(r->registration(D, "romeo@montague.lit"));
  CHECK(r->registration(D, "romeo@montague.lit")->fields.size() == 1);
  CHECK(r->settings(D, "romeo@montague.lit").size() == 1);
  CHECK(r->subscriptions(D, "romeo@montague.lit").size() == 2);
  CHECK(r->registration("irc.example.org", "juliet@capulet.lit"));
  // Mappings are per legacy id and shared: they stay.
  CHECK(r->localpart_for(D, "home/kitchen") == "kitchen");

  CHECK_FALSE(r->remove_registration(D, "juliet@capulet.lit"));
  CHECK_FALSE(r->remove_registration(D, "nobody@example.org"));
}

TEST_CASE("registry: subscriptions") {
  auto r = memory();
  const std::string u = "juliet@capulet.lit";
  CHECK_FALSE(r->is_subscribed(D, u, "sensor1"));
  r->set_subscribed(D, u, "sensor1", true);
  r->set_subscribed(D, u, "sensor1", true);  // idempotent
  r->set_subscribed(D, u, "", true);          // the domain itself
  r->set_subscribed(D, "romeo@montague.lit", "sensor1", true);
  CHECK(r->is_subscribed(D, u, "sensor1"));
  CHECK(r->is_subscribed(D, u, ""));
  CHECK_FALSE(r->is_subscribed("irc.example.org", u, "sensor1"));
  CHECK(r->subscriptions(D, u) == std::vector<std::string>{"", "sensor1"});
  CHECK(r->subscribers(D, "sensor1") == std::vector<std::string>{u, "romeo@montague.lit"});

  r->set_subscribed(D, u, "sensor1", false);
  r->set_subscribed(D, u, "sensor1", false);  // idempotent
  CHECK_FALSE(r->is_subscribed(D, u, "sensor1"));
  CHECK(r->subscribers(D, "sensor1") == std::vector<std::string>{"romeo@montague.lit"});
  CHECK(r->subscriptions(D, u) == std::vector<std::string>{""});
}

TEST_CASE("registry: settings are per user and overwritten by key") {
  auto r = memory();
  r->put_setting(D, "juliet@capulet.lit", "receipts", "on");
  r->put_setting(D, "juliet@capulet.lit", "away", "30");
  r->put_setting(D, "juliet@capulet.lit", "receipts", "off");
  r->put_setting(D, "romeo@montague.lit", "receipts", "on");
  CHECK(r->settings(D, "juliet@capulet.lit") == sb::mapping::FieldValues{{"away", "30"}, {"receipts", "off"}});
  CHECK(r->settings(D, "romeo@montague.lit") == sb::mapping::FieldValues{{"receipts", "on"}});
  CHECK(r->settings(D, "nurse@capulet.lit").empty());
}

TEST_CASE("registry: mappings round trip XEP-0106-looking legacy ids unchanged and stay one-to-one") {
  auto r = memory();
  // Legacy ids with characters XEP-0106 escapes, escape-like sequences that
  // must NOT be unescaped, non-ASCII and an embedded NUL.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"d'artagnan@gascogne", "d\\27artagnan\\40gascogne"},
      {"space cadet", "space\\20cadet"},
      {"c:\\net", "c\\3a\\5cnet"},
      {"\\5c already escaped", "\\5c5c\\20already\\20escaped"},
      {"#chan%irc.example.org", "#chan%irc.example.org"},
      {"home/kitchen/temp", "home\\2fkitchen\\2ftemp"},
      {"Ölaf 東京", "ölaf\\20東京"},
      {std::string("nul\0byte", 8), "nulbyte"},
  };
  for (const auto& [legacy, local] : pairs) r->put_mapping(D, legacy, local);
  for (const auto& [legacy, local] : pairs) {
    CHECK(r->localpart_for(D, legacy) == local);
    CHECK(r->legacy_for(D, local) == legacy);
  }
  CHECK_FALSE(r->localpart_for(D, "unknown"));
  CHECK_FALSE(r->legacy_for(D, "unknown"));
  CHECK_FALSE(r->localpart_for("irc.example.org", "space cadet"));

  // Re-pointing either side drops the old pair: never two answers.
  r->put_mapping(D, "space cadet", "cadet");
  CHECK(r->localpart_for(D, "space cadet") == "cadet");
  CHECK_FALSE(r->legacy_for(D, "space\\20cadet"));
  r->put_mapping(D, "other id", "cadet");
  CHECK(r->legacy_for(D, "cadet") == "other id");
  CHECK_FALSE(r->localpart_for(D, "space cadet"));
}

TEST_CASE("registry: state put, overwrite, delete, per domain") {
  auto r = memory();
  CHECK_FALSE(r->get_state(D, "cursor"));
  r->put_state(D, "cursor", "1");
  r->put_state(D, "cursor", "2");
  r->put_state("sms.example.org", "cursor", "x");
  CHECK(r->get_state(D, "cursor") == "2");
  CHECK(r->get_state("sms.example.org", "cursor") == "x");
  r->put_state(D, "empty", "");
  CHECK(r->get_state(D, "empty") == "");
  r->delete_state(D, "cursor");
  CHECK_FALSE(r->get_state(D, "cursor"));
  CHECK(r->get_state("sms.example.org", "cursor") == "x");
  r->delete_state(D, "cursor");  // deleting nothing is fine
}

TEST_CASE("registry: queues are FIFO per (domain, queue), acked by id, attempts counted") {
  sb::ManualClock clock;
  auto r = open_ok(":memory:", &clock);
  const std::string binary("\x00\x01\xff payload", 11);
  auto a = r->enqueue(D, "outbox", "first");
  clock.advance(sb::Millis(5));
  auto other = r->enqueue(D, "inbox", "elsewhere");
  auto b = r->enqueue(D, "outbox", binary);
  auto c = r->enqueue(D, "outbox", "");
  auto foreign = r->enqueue("sms.example.org", "outbox", "foreign");
  CHECK(a > 0);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(other > 0);
  CHECK(foreign > 0);
  CHECK(r->queue_size(D, "outbox") == 3);
  CHECK(r->queue_size(D, "inbox") == 1);
  CHECK(r->queue_size(D, "nothing") == 0);

  auto items = r->peek(D, "outbox", 10);
  REQUIRE(items.size() == 3);
  CHECK(items[0].id == a);
  CHECK(items[0].payload == "first");
  CHECK(items[0].enqueued_ms == clock.unix_ms() - 5);
  CHECK(items[1].payload == binary);
  CHECK(items[1].enqueued_ms == clock.unix_ms());
  CHECK(items[2].payload.empty());
  CHECK(items[0].attempts == 0);
  CHECK(r->peek(D, "outbox", 2).size() == 2);
  CHECK(r->peek(D, "outbox", 0).empty());

  r->bump_attempts(D, "outbox", a);
  r->bump_attempts(D, "outbox", a);
  r->bump_attempts(D, "inbox", a);  // wrong queue: no effect
  CHECK(r->peek(D, "outbox", 1).at(0).attempts == 2);

  r->ack(D, "inbox", a);  // an id from another queue removes nothing
  CHECK(r->queue_size(D, "outbox") == 3);
  r->ack(D, "outbox", b);  // out of order
  items = r->peek(D, "outbox", 10);
  REQUIRE(items.size() == 2);
  CHECK(items[0].id == a);
  CHECK(items[1].id == c);
  r->ack(D, "outbox", a);
  r->ack(D, "outbox", c);
  r->ack(D, "outbox", c);  // twice is harmless
  CHECK(r->queue_size(D, "outbox") == 0);
  CHECK(r->peek(D, "outbox", 10).empty());
  CHECK(r->queue_size(D, "inbox") == 1);
  CHECK(r->queue_size("sms.example.org", "outbox") == 1);
  // Ids are never reused after an ack.
  CHECK(r->enqueue(D, "outbox", "later") > foreign);
}

TEST_CASE("registry: everything persists across close and reopen, parent directories created") {
  TempDir dir;
  const std::string path = dir.file("var/lib/switchboard/registry.db");
  std::int64_t id = 0;
  {
    auto r = open_ok(path);
    r->put_registration(D, Registration{"juliet@capulet.lit", {{"username", "juliet"}}, 42});
    r->set_subscribed(D, "juliet@capulet.lit", "sensor1", true);
    r->put_setting(D, "juliet@capulet.lit", "receipts", "on");
    r->put_mapping(D, "d'artagnan", "d\\27artagnan");
    r->put_state(D, "cursor", "7");
    id = r->enqueue(D, "outbox", "pending");
    r->bump_attempts(D, "outbox", id);
  }
  CHECK(fs::exists(path));
  CHECK(fs::exists(path + ".lock"));
  auto r = open_ok(path);
  auto reg = r->registration(D, "juliet@capulet.lit");
  REQUIRE(reg);
  CHECK(reg->created_ms == 42);
  CHECK(reg->fields == sb::mapping::FieldValues{{"username", "juliet"}});
  CHECK(r->is_subscribed(D, "juliet@capulet.lit", "sensor1"));
  CHECK(r->settings(D, "juliet@capulet.lit") == sb::mapping::FieldValues{{"receipts", "on"}});
  CHECK(r->legacy_for(D, "d\\27artagnan") == "d'artagnan");
  CHECK(r->get_state(D, "cursor") == "7");
  auto items = r->peek(D, "outbox", 10);
  REQUIRE(items.size() == 1);
  CHECK(items[0].id == id);
  CHECK(items[0].payload == "pending");
  CHECK(items[0].attempts == 1);
}

TEST_CASE("registry: a second instance on the same file is refused with a clear error") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  auto first = open_ok(path);
  first->put_state(D, "k", "v");

  std::string error;
  auto second = SqliteRegistry::open(path, error);
  CHECK_FALSE(second);
  CHECK(error == "another switchboard instance is using " + path + " (lock " + path + ".lock is held)");
  // The refused open did not disturb the first.
  CHECK(first->get_state(D, "k") == "v");

  first.reset();  // lock released on close
  auto third = open_ok(path);
  CHECK(third->get_state(D, "k") == "v");
}

TEST_CASE("registry: a version 1 database is migrated to the latest, data preserved") {
  namespace sq = sb::mapping::sqlite;
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    sq::Db db;
    std::string error;
    REQUIRE(db.open(path, error));
    REQUIRE(sq::migrate(db, 1, error));
    CHECK(sq::schema_version(db) == 1);
    // Written the way a version-1 switchboard did: no attempts column yet.
    REQUIRE(db.exec(
        "INSERT INTO registrations VALUES('" + D + "', 'juliet@capulet.lit', 5);"
        "INSERT INTO registration_fields VALUES('" + D + "', 'juliet@capulet.lit', 0, 'username', 'juliet');"
        "INSERT INTO mappings VALUES('" + D + "', 'space cadet', 'space\\20cadet');"
        "INSERT INTO queue(domain, queue, payload, enqueued_ms) VALUES('" + D + "', 'outbox', X'6F6E65', 10);"
        "INSERT INTO queue(domain, queue, payload, enqueued_ms) VALUES('" + D + "', 'outbox', X'74776F', 11);"));
    CHECK_FALSE(db.exec("SELECT attempts FROM queue"));
  }
  auto r = open_ok(path);
  CHECK(r->schema_version() == sq::latest_schema_version());
  auto reg = r->registration(D, "juliet@capulet.lit");
  REQUIRE(reg);
  CHECK(reg->fields == sb::mapping::FieldValues{{"username", "juliet"}});
  CHECK(r->localpart_for(D, "space cadet") == "space\\20cadet");
  auto items = r->peek(D, "outbox", 10);
  REQUIRE(items.size() == 2);
  CHECK(items[0].payload == "one");
  CHECK(items[1].payload == "two");
  CHECK(items[0].attempts == 0);
  r->bump_attempts(D, "outbox", items[0].id);
  CHECK(r->peek(D, "outbox", 1).at(0).attempts == 1);
  CHECK(r->enqueue(D, "outbox", "three") > items[1].id);
}

TEST_CASE("registry: a database newer than this build is refused, and left alone") {
  namespace sq = sb::mapping::sqlite;
  TempDir dir;
  const std::string path = dir.file("future.db");
  {
    sq::Db db;
    std::string error;
    REQUIRE(db.open(path, error));
    REQUIRE(sq::migrate(db, sq::latest_schema_version(), error));
    REQUIRE(db.exec("PRAGMA user_version = 99"));
  }
  std::string error;
  CHECK_FALSE(SqliteRegistry::open(path, error));
  CHECK(error.find("database schema version 99 is newer than this switchboard (" +
                   std::to_string(sq::latest_schema_version()) + ")") != std::string::npos);
  sq::Db db;
  REQUIRE(db.open(path, error));
  CHECK(sq::schema_version(db) == 99);
}

TEST_CASE("registry: a file that is not a database is refused with an error, no crash") {
  TempDir dir;
  const std::string path = dir.file("garbage.db");
  std::ofstream(path) << std::string(8192, 'x');
  std::string error;
  CHECK_FALSE(SqliteRegistry::open(path, error));
  CHECK(error.find("not a database") != std::string::npos);
}

TEST_CASE("registry: SQLite errors after open are logged and answered empty, not thrown") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  auto r = open_ok(path);
  r->put_state(D, "k", "v");
  r->enqueue(D, "outbox", "x");
  // Break the schema under the registry's feet (its file is locked exclusively,
  // so through its own connection).
  REQUIRE(r->exec_for_tests("DROP TABLE state; DROP TABLE queue;"));
  CHECK_FALSE(r->get_state(D, "k"));
  r->put_state(D, "k", "v2");
  CHECK(r->enqueue(D, "outbox", "y") == 0);  // 0: not stored, caller must not accept
  CHECK(r->peek(D, "outbox", 10).empty());
  CHECK(r->queue_size(D, "outbox") == 0);
  // The rest of the registry still works.
  r->put_setting(D, "juliet@capulet.lit", "a", "b");
  CHECK(r->settings(D, "juliet@capulet.lit").size() == 1);
}

TEST_CASE("registry: every write a killed (kill -9) process completed is there on reopen") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  constexpr int kConfirmed = 300;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: writes until killed, confirming each completed write on the pipe.
    // Once the pipe is full it blocks there, so it never finishes on its own.
    ::close(fds[0]);
    std::string error;
    auto r = SqliteRegistry::open(path, error);
    if (!r) ::_exit(2);
    for (int i = 0; i < 10'000'000; ++i) {
      if (r->enqueue(D, "outbox", "item-" + std::to_string(i)) == 0) ::_exit(3);
      r->put_state(D, "last", std::to_string(i));
      char c = '.';
      if (::write(fds[1], &c, 1) != 1) ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  int confirmed = 0;
  char buf[64];
  while (confirmed < kConfirmed) {
    ssize_t n = ::read(fds[0], buf, std::min<std::size_t>(sizeof buf, kConfirmed - confirmed));
    if (n <= 0) break;  // child died early: checked below
    confirmed += static_cast<int>(n);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  REQUIRE(confirmed == kConfirmed);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // The kernel released the child's lock; the WAL is recovered on open.
  auto r = open_ok(path);
  auto items = r->peek(D, "outbox", SIZE_MAX);
  REQUIRE(items.size() >= static_cast<std::size_t>(kConfirmed));
  CHECK(r->queue_size(D, "outbox") == items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    CHECK(items[i].payload == "item-" + std::to_string(i));  // no gap, no reordering
    if (i > 0) CHECK(items[i].id > items[i - 1].id);
  }
  auto last = r->get_state(D, "last");
  REQUIRE(last);
  long long n = std::stoll(*last);
  CHECK(n >= kConfirmed - 1);
  // The state write follows the enqueue: it is the last item or the one before.
  CHECK(n <= static_cast<long long>(items.size()) - 1);
  CHECK(n >= static_cast<long long>(items.size()) - 2);
}

TEST_CASE("registry: ack_many removes exactly the given items of that queue, in one go") {
  auto r = open_ok(":memory:");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(r->enqueue(D, "inbox", std::string("m").append(std::to_string(i))));
  auto other = r->enqueue(D, "outbox", "keep");
  r->ack_many(D, "inbox", {ids[0], ids[2], ids[4], other});  // `other` is not in "inbox"
  auto left = r->peek(D, "inbox", 10);
  REQUIRE(left.size() == 2);
  CHECK(left[0].payload == "m1");
  CHECK(left[1].payload == "m3");
  CHECK(r->queue_size(D, "outbox") == 1);
  r->ack_many(D, "inbox", {});
  CHECK(r->queue_size(D, "inbox") == 2);
}
