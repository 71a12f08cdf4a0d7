// The registry's queue journal (enqueue_hot, sqlite_registry.hpp "Queue journal")
// and its thread safety: what the MQTT transport relies on to store an inbound
// QoS 1 publish on Paho's thread before the PUBACK (transports/mqtt/DELIVERY.md)
// without an SQLite transaction per message (issue 3).
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>
#include "mapping/sqlite_db.hpp"
#include "mapping/sqlite_registry.hpp"
#include "fakes/temp_registry.hpp"

namespace fs = std::filesystem;
using sb::mapping::SqliteRegistry;

using sb::test::open_ok;
using sb::test::TempDir;

namespace {

std::vector<std::string> payloads(SqliteRegistry& r, const std::string& d, const std::string& q) {
  std::vector<std::string> out;
  for (auto& item : r.peek(d, q, SIZE_MAX)) out.push_back(item.payload);
  return out;
}

const std::string D = "mqtt.example.org";

}  // namespace

TEST_CASE("record framing: intact records are read back, a torn or corrupt tail is not") {
  using sb::mapping::sqlite::frame_record;
  using sb::mapping::sqlite::split_records;
  const std::string a = frame_record("first"), b = frame_record(std::string("\0bin\xff", 5)), e = frame_record("");
  std::string all = a + b + e;
  std::vector<std::string_view> bodies;
  CHECK(split_records(all, bodies) == all.size());
  REQUIRE(bodies.size() == 3);
  CHECK(bodies[0] == "first");
  CHECK(bodies[1] == std::string("\0bin\xff", 5));
  CHECK(bodies[2].empty());

  for (std::size_t cut = 1; cut < b.size(); ++cut) {  // a crash in the middle of the second write
    CAPTURE(cut);
    bodies.clear();
    CHECK(split_records(a + b.substr(0, cut), bodies) == a.size());
    CHECK(bodies.size() == 1);
  }
  std::string flipped = a + b;
  flipped[a.size() + 9] ^= 0x20;  // one bit of the second body
  bodies.clear();
  CHECK(split_records(flipped, bodies) == a.size());
  CHECK(bodies.size() == 1);
}

TEST_CASE("enqueue_hot: same queue semantics as enqueue, mixed freely") {
  auto r = open_ok(":memory:");
  auto a = r->enqueue_hot(D, "outbox", "a");
  auto b = r->enqueue(D, "outbox", "b");
  auto c = r->enqueue_hot(D, "outbox", std::string("c\0c", 3));
  auto other = r->enqueue_hot(D, "inbox", "other");
  CHECK(a > 0);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(c < other);
  CHECK(r->journaled_for_tests() == 3);
  r->ack(D, "inbox", a);  // another queue's id removes nothing
  CHECK(payloads(*r, D, "outbox") == std::vector<std::string>{"a", "b", std::string("c\0c", 3)});
  CHECK(r->journaled_for_tests() == 0);  // the read moved them into the table
  r->bump_attempts(D, "outbox", c);
  CHECK(r->peek(D, "outbox", 3).at(2).attempts == 1);
  auto d = r->enqueue_hot(D, "outbox", "d");
  r->ack_many(D, "outbox", {a, d});  // one in the table, one journaled
  CHECK(payloads(*r, D, "outbox") == std::vector<std::string>{"b", std::string("c\0c", 3)});
  CHECK(r->queue_size(D, "inbox") == 1);
  CHECK(r->enqueue_hot(D, "outbox", "e") > d);
}

TEST_CASE("enqueue_hot: journaled items survive a reopen, acked ones do not come back, ids are never reused") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  std::int64_t last = 0;
  {
    auto r = open_ok(path);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(r->enqueue_hot(D, "inbox", "m" + std::to_string(i)));
    r->ack_many(D, "inbox", {ids[0], ids[1], ids[5]});
    r->ack(D, "inbox", ids[9]);
    last = ids[9];
    CHECK(r->journaled_for_tests() == 6);
  }
  auto r = open_ok(path);
  CHECK(payloads(*r, D, "inbox") == std::vector<std::string>{"m2", "m3", "m4", "m6", "m7", "m8"});
  CHECK(r->enqueue_hot(D, "inbox", "later") > last);
  CHECK(fs::file_size(path + ".queue-journal") > 0);
  r.reset();
  CHECK(fs::file_size(path + ".queue-journal") == 0);  // a clean close leaves it empty
}

TEST_CASE("enqueue_hot: what a killed (kill -9) process had journaled is there on reopen, minus its acks") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  constexpr int kConfirmed = 3000;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: enqueues until killed, acking every even item in batches of 10 and
    // confirming each item once its batch is acked (or it stays queued).
    ::close(fds[0]);
    std::string error;
    auto r = SqliteRegistry::open(path, error);
    if (!r) ::_exit(2);
    std::vector<std::int64_t> batch;
    for (int i = 0; i < 10'000'000; ++i) {
      auto id = r->enqueue_hot(D, "inbox", "item-" + std::to_string(i));
      if (id == 0) ::_exit(3);
      if (i % 2 == 0) batch.push_back(id);
      if (i % 10 == 9) {
        r->ack_many(D, "inbox", batch);
        batch.clear();
        char c[10] = {'.', '.', '.', '.', '.', '.', '.', '.', '.', '.'};
        if (::write(fds[1], c, sizeof c) != sizeof c) ::_exit(4);
      }
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  int confirmed = 0;
  char buf[64];
  while (confirmed < kConfirmed) {
    ssize_t n = ::read(fds[0], buf, std::min<std::size_t>(sizeof buf, kConfirmed - confirmed));
    if (n <= 0) break;
    confirmed += static_cast<int>(n);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  REQUIRE(confirmed == kConfirmed);
  REQUIRE(WIFSIGNALED(status));

  auto r = open_ok(path);
  auto items = r->peek(D, "inbox", SIZE_MAX);
  std::set<std::string> got;
  for (std::size_t i = 0; i < items.size(); ++i) {
    got.insert(items[i].payload);
    if (i > 0) CHECK(items[i].id > items[i - 1].id);
  }
  // Every odd item confirmed is there; no confirmed even (acked) item came back.
  for (int i = 0; i < kConfirmed; ++i) {
    CAPTURE(i);
    CHECK(got.count("item-" + std::to_string(i)) == (i % 2 ? 1u : 0u));
  }
}

TEST_CASE("enqueue_hot: a torn record at the journal's end is ignored, the rest recovered") {
  TempDir dir;
  const std::string path = dir.file("registry.db");
  {
    std::string error;
    auto r = SqliteRegistry::open(path, error);
    REQUIRE(r);
    r->enqueue_hot(D, "inbox", "kept");
    // Simulate a crash: copy the journal as it is now, before the clean close empties it.
    fs::copy_file(path + ".queue-journal", dir.file("saved"));
  }
  {
    std::ofstream j(path + ".queue-journal", std::ios::binary | std::ios::trunc);
    std::ifstream saved(dir.file("saved"), std::ios::binary);
    j << saved.rdbuf();
    j << std::string("\x40\x00\x00\x00garbage", 11);  // a record cut short
  }
  auto r = open_ok(path);
  CHECK(payloads(*r, D, "inbox") == std::vector<std::string>{"kept"});
  r->enqueue_hot(D, "inbox", "after");
  r.reset();
  auto again = open_ok(path);
  CHECK(payloads(*again, D, "inbox") == std::vector<std::string>{"kept", "after"});
}

TEST_CASE("registry: calls from several threads at once are each atomic (thread_safe)") {
  TempDir dir;
  auto r = open_ok(dir.file("registry.db"));
  CHECK(r->thread_safe());
  constexpr int kPerThread = 2000;
  std::atomic<bool> go{false};
  std::vector<std::vector<std::int64_t>> ids(2);
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        auto p = std::to_string(t) + ":" + std::to_string(i);
        ids[t].push_back(t == 0 ? r->enqueue_hot(D, "inbox", p) : r->enqueue(D, "inbox", p));
      }
    });
  }
  go = true;
  // Meanwhile this thread reads, writes state and acks, as the io thread does.
  std::size_t acked = 0;
  while (acked < 500) {
    auto items = r->peek(D, "inbox", 50);
    std::vector<std::int64_t> batch;
    for (auto& it : items) batch.push_back(it.id);
    r->ack_many(D, "inbox", batch);
    acked += batch.size();
    r->put_state(D, "k", std::to_string(acked));
  }
  for (auto& w : writers) w.join();
  std::set<std::int64_t> all;
  for (int t = 0; t < 2; ++t) {
    REQUIRE(ids[t].size() == static_cast<std::size_t>(kPerThread));
    for (std::size_t i = 0; i < ids[t].size(); ++i) {
      CHECK(ids[t][i] > 0);
      if (i > 0) CHECK(ids[t][i] > ids[t][i - 1]);  // increasing in each thread's order
      all.insert(ids[t][i]);
    }
  }
  CHECK(all.size() == 2u * kPerThread);  // unique across threads
  CHECK(r->queue_size(D, "inbox") == 2u * kPerThread - acked);
  CHECK(r->get_state(D, "k") == std::to_string(acked));
}
