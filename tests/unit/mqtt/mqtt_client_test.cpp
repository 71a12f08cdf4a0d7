// MqttClient against a REAL mosquitto (started here on a free loopback port, config
// and persistence in a temp dir) and, for the PUBACK ordering, a scripted fake broker.
// Every wait has a deadline; the io_context runs on the test thread, so "the io
// thread" below is this thread.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include "transports/mqtt/mqtt_client.hpp"

extern char** environ;

using namespace std::chrono_literals;
using sb::transport::mqtt::ClientOptions;
using sb::transport::mqtt::MqttClient;
using sb::transport::mqtt::PublishStatus;
namespace fs = std::filesystem;

namespace {

const char* kMosquitto = "/usr/sbin/mosquitto";

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// One mosquitto process; the port and the persistence dir survive restart().
class Mosquitto {
 public:
  // `acl`: the lines of an acl_file (mosquitto.conf(5)), or none.
  explicit Mosquitto(const std::string& acl = {}) : port_(free_port()) {
    char tmpl[] = "/tmp/sb-mqttc-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0777);  // mosquitto started as root drops to its own user
    std::ofstream conf(dir_ / "mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\npersistence true\n"
         << "persistence_location " << dir_.string() << "/\n";
    if (!acl.empty()) {
      std::ofstream(dir_ / "acl") << acl;
      ::chmod((dir_ / "acl").c_str(), 0644);
      conf << "acl_file " << (dir_ / "acl").string() << "\n";
    }
    conf.close();
    start();
  }
  ~Mosquitto() {
    kill(SIGTERM);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool start() {
    std::string conf = (dir_ / "mosquitto.conf").string(), log = (dir_ / "mosquitto.log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char* argv[] = {const_cast<char*>(kMosquitto), const_cast<char*>("-c"), conf.data(), nullptr};
    int rc = posix_spawn(&pid_, kMosquitto, &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return false;
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (port_open(port_)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 250 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(20ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) { ::kill(pid_, SIGKILL); ::waitpid(pid_, &status, 0); }
    pid_ = -1;
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  fs::path dir_;
  pid_t pid_ = -1;
};

struct Received { std::string topic, payload; int qos; bool retained; std::int64_t stored; };

// A client plus what its handlers saw, all recorded on the io (test) thread.
struct Probe {
  boost::asio::io_context& io;
  std::thread::id io_thread = std::this_thread::get_id();
  int connects = 0, disconnects = 0;
  bool off_thread = false;  // a handler ran on some other thread
  std::vector<Received> got;
  // Stands for the transport's durable store; runs on a Paho thread.
  std::atomic<int> persisted{0};
  std::atomic<bool> persist_on_io{false};
  std::function<void()> persist_delay = [] {};
  std::unique_ptr<MqttClient> client;

  Probe(boost::asio::io_context& ioc, ClientOptions o) : io(ioc) {
    MqttClient::Handlers h;
    h.on_connected = [this] { check(); ++connects; };
    h.on_disconnected = [this](std::string) { check(); ++disconnects; };
    h.persist = [this](const std::string&, const std::string&) -> std::int64_t {
      if (std::this_thread::get_id() == io_thread) persist_on_io = true;
      persist_delay();
      return ++persisted;
    };
    h.on_message = [this](std::string t, std::string p, int q, bool r, std::int64_t stored) {
      check();
      got.push_back({std::move(t), std::move(p), q, r, stored});
    };
    client = std::make_unique<MqttClient>(io.get_executor(), std::move(o), std::move(h));
  }
  void check() { if (std::this_thread::get_id() != io_thread) off_thread = true; }
};

// Runs the io_context on this thread until pred() holds or the deadline passes.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::steady_clock::duration limit = 10s) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
    if (pred()) return true;
    io.run_for(10ms);
  }
  return pred();
}

ClientOptions options(const std::string& uri, const std::string& id, int protocol = 4) {
  ClientOptions o;
  o.broker = uri;
  o.client_id = id;
  o.protocol = protocol;
  o.min_retry_s = 1;
  o.max_retry_s = 2;
  return o;
}

// Publishes and runs the io_context until the done callback came; returns ok.
bool publish_sync(boost::asio::io_context& io, MqttClient& c, const std::string& t, const std::string& p) {
  int state = 0;
  c.publish(t, p, 1, false, [&](PublishStatus st, std::string) { state = st == PublishStatus::Ok ? 1 : 2; });
  run_until(io, [&] { return state != 0; });
  return state == 1;
}

void stop_and_destroy(boost::asio::io_context& io, Probe& p) {
  bool stopped = false;
  p.client->stop([&] { stopped = true; });
  run_until(io, [&] { return stopped; }, 5s);
  p.client.reset();
}

// A scripted MQTT 3.1.1 broker for one client: CONNACK, then one QoS 1 PUBLISH
// (packet id 7); records whether the PUBACK came after the test's ack.
class FakeBroker {
 public:
  explicit FakeBroker(const std::atomic<bool>& acked) : acked_(acked) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 1);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    th_ = std::thread([this] { run(); });
  }
  ~FakeBroker() { th_.join(); ::close(lfd_); }
  int port = 0;
  std::atomic<bool> puback_seen{false}, puback_after_ack{false};

 private:
  bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }
  bool read_n(int fd, unsigned char* b, size_t n) {
    while (n > 0) {
      if (!wait_readable(fd)) return false;
      ssize_t r = ::recv(fd, b, n, 0);
      if (r <= 0) return false;
      b += r;
      n -= size_t(r);
    }
    return true;
  }
  // One packet: returns its first byte and body, or -1 on timeout/close.
  int read_packet(int fd, std::string& body) {
    unsigned char h, c;
    if (!read_n(fd, &h, 1)) return -1;
    size_t len = 0, mul = 1;
    do {
      if (!read_n(fd, &c, 1)) return -1;
      len += (c & 0x7f) * mul;
      mul *= 128;
    } while (c & 0x80);
    body.assign(len, '\0');
    if (len && !read_n(fd, reinterpret_cast<unsigned char*>(body.data()), len)) return -1;
    return h;
  }
  void run() {
    if (!wait_readable(lfd_)) return;
    int fd = ::accept(lfd_, nullptr, nullptr);
    std::string body;
    if (read_packet(fd, body) == 0x10) {  // CONNECT
      const unsigned char connack[] = {0x20, 0x02, 0x00, 0x00};
      ::send(fd, connack, sizeof connack, MSG_NOSIGNAL);
      // PUBLISH QoS 1: topic "dev/x/state", packet id 7, payload "42"
      const std::string topic = "dev/x/state";
      std::string pub = {char(0x32), char(2 + topic.size() + 2 + 2), 0, char(topic.size())};
      pub += topic + std::string{0, 7} + "42";
      ::send(fd, pub.data(), pub.size(), MSG_NOSIGNAL);
      for (int type; (type = read_packet(fd, body)) != -1;) {
        if (type == 0xC0) {  // PINGREQ
          const unsigned char resp[] = {0xD0, 0x00};
          ::send(fd, resp, sizeof resp, MSG_NOSIGNAL);
        } else if (type == 0x40 && body.size() >= 2 && body[1] == 7) {
          puback_after_ack = acked_.load();
          puback_seen = true;
        } else if (type == 0xE0) {
          break;  // DISCONNECT
        }
      }
    }
    ::close(fd);
  }
  const std::atomic<bool>& acked_;
  int lfd_ = -1;
  std::thread th_;
};

#define REQUIRE_MOSQUITTO()                                              \
  if (!fs::exists(kMosquitto)) {                                         \
    MESSAGE("skipped: " << kMosquitto << " is not installed");          \
    return;                                                              \
  }

// Stored/replayed session: client A subscribes QoS 1, leaves, B publishes 20 QoS 1
// messages, A comes back with the same id and gets all 20 without re-subscribing.
// `expiry`: A's MQTT 5 session expiry interval; `away`: how long A stays away
// before B publishes (past a session that wrongly expired after 1 s).
void persistent_session(int protocol, std::uint32_t expiry = 86400,
                        std::chrono::milliseconds away = std::chrono::milliseconds(0)) {
  Mosquitto broker;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  const std::string id = "sb-client-a-v" + std::to_string(protocol);
  auto a_options = [&] {
    ClientOptions o = options(broker.uri(), id, protocol);
    o.session_expiry_s = expiry;
    return o;
  };
  {
    Probe a(io, a_options());
    a.client->start();
    REQUIRE(run_until(io, [&] { return a.connects == 1; }));
    a.client->subscribe({{"dev/+/state", 1}});
    // Our own publish coming back proves the subscription is in place.
    REQUIRE(publish_sync(io, *a.client, "dev/probe/state", "probe"));
    REQUIRE(run_until(io, [&] { return !a.got.empty(); }));
    stop_and_destroy(io, a);
  }
  std::this_thread::sleep_for(away);
  Probe b(io, options(broker.uri(), "sb-client-b-v" + std::to_string(protocol), protocol));
  b.client->start();
  REQUIRE(run_until(io, [&] { return b.connects == 1; }));
  int acked = 0;
  for (int i = 0; i < 20; ++i)
    b.client->publish("dev/d" + std::to_string(i) + "/state", std::to_string(i), 1, false,
                      [&](PublishStatus st, std::string) { acked += st == PublishStatus::Ok; });
  REQUIRE(run_until(io, [&] { return acked == 20; }));

  Probe a2(io, a_options());
  a2.client->start();  // no subscribe(): the session holds the subscription
  CHECK(run_until(io, [&] { return a2.got.size() >= 20; }));
  std::vector<std::string> payloads;
  for (auto& r : a2.got) payloads.push_back(r.payload);
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    CHECK(std::find(payloads.begin(), payloads.end(), std::to_string(i)) != payloads.end());
  }
  CHECK_FALSE(a2.off_thread);
  stop_and_destroy(io, a2);
  stop_and_destroy(io, b);
}

}  // namespace

TEST_CASE("mqtt client: QoS 1 round trip through a real broker, handlers on the io thread") {
  REQUIRE_MOSQUITTO();
  Mosquitto broker;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options(broker.uri(), "sb-roundtrip"));
  CHECK_FALSE(p.client->connected());
  p.client->start();
  REQUIRE(run_until(io, [&] { return p.connects == 1; }));
  CHECK(p.client->connected());
  p.client->subscribe({{"home/+/state", 1}});

  std::string error = "unset";
  bool done = false, done_on_io = false;
  p.client->publish("home/kitchen/state", "21.5", 1, false, [&](PublishStatus st, std::string e) {
    done = st == PublishStatus::Ok;
    error = e;
    done_on_io = std::this_thread::get_id() == p.io_thread;
  });
  REQUIRE(run_until(io, [&] { return done && !p.got.empty(); }));
  CHECK(error.empty());
  CHECK(done_on_io);
  CHECK(p.got[0].topic == "home/kitchen/state");
  CHECK(p.got[0].payload == "21.5");
  CHECK(p.got[0].qos == 1);
  CHECK_FALSE(p.got[0].retained);
  CHECK(p.got[0].stored == 1);  // persisted first, on a Paho thread, with its token
  CHECK(p.persisted == 1);
  CHECK_FALSE(p.persist_on_io.load());
  CHECK_FALSE(p.off_thread);
  stop_and_destroy(io, p);
}

TEST_CASE("mqtt client: QoS 0 publishes are delivered without being persisted") {
  REQUIRE_MOSQUITTO();
  Mosquitto broker;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options(broker.uri(), "sb-qos0"));
  p.client->start();
  REQUIRE(run_until(io, [&] { return p.connects == 1; }));
  p.client->subscribe({{"q0/#", 0}});
  int state = 0;
  for (int i = 0; i < 50 && p.got.empty(); ++i) {  // until the subscription is in place
    p.client->publish("q0/a", "x", 0, false, [&](PublishStatus st, std::string) { state = st == PublishStatus::Ok ? 1 : 2; });
    run_until(io, [&] { return !p.got.empty(); }, 100ms);
  }
  REQUIRE_FALSE(p.got.empty());
  CHECK(p.got[0].qos == 0);
  CHECK(p.got[0].stored == 0);
  CHECK(p.persisted == 0);
  stop_and_destroy(io, p);
}

TEST_CASE("mqtt client: publish while not connected fails at once, not silently") {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options("tcp://127.0.0.1:" + std::to_string(free_port()), "sb-nobroker"));
  p.client->start();
  int state = 0;
  std::string why;
  PublishStatus status = PublishStatus::Ok;
  p.client->publish("a/b", "x", 1, false, [&](PublishStatus st, std::string e) { state = 2; status = st; why = e; });
  REQUIRE(run_until(io, [&] { return state != 0 && p.disconnects >= 1; }));
  CHECK(status == PublishStatus::NotConnected);  // held by the caller, not dropped
  CHECK_FALSE(why.empty());
  CHECK_FALSE(p.client->connected());
}

TEST_CASE("mqtt client: persistent session delivers QoS 1 published while away (3.1.1)") {
  REQUIRE_MOSQUITTO();
  persistent_session(4);
}

TEST_CASE("mqtt client: persistent session delivers QoS 1 published while away (5)") {
  REQUIRE_MOSQUITTO();
  persistent_session(5);
}

TEST_CASE("mqtt client: session expiry 4294967295 (MQTT 5 \"never expires\") is sent as is, not as 1 s") {
  REQUIRE_MOSQUITTO();
  // Away 2.5 s: a session expiry wrongly sent as 1 s has ended by then, and the 20
  // publishes made meanwhile would be lost.
  persistent_session(5, 4294967295u, std::chrono::milliseconds(2500));
}

TEST_CASE("mqtt client: broker restart -> disconnected, reconnected, publishing works again") {
  REQUIRE_MOSQUITTO();
  Mosquitto broker;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options(broker.uri(), "sb-restart"));
  p.client->start();
  REQUIRE(run_until(io, [&] { return p.connects == 1; }));
  p.client->subscribe({{"r/#", 1}});
  REQUIRE(publish_sync(io, *p.client, "r/1", "before"));

  broker.kill(SIGKILL);
  REQUIRE(run_until(io, [&] { return p.disconnects >= 1; }));
  CHECK_FALSE(p.client->connected());
  REQUIRE(broker.start());
  REQUIRE(run_until(io, [&] { return p.connects == 2; }, 20s));
  CHECK(p.client->connected());
  // The session may be gone (killed broker): the client re-sent its subscription.
  REQUIRE(publish_sync(io, *p.client, "r/2", "after"));
  CHECK(run_until(io, [&] {
    return std::any_of(p.got.begin(), p.got.end(), [](auto& r) { return r.payload == "after"; });
  }));
  CHECK_FALSE(p.off_thread);
  stop_and_destroy(io, p);
}

// Pins Paho C 1.3's order (DELIVERY.md): the PUBACK goes out only after
// messageArrived returned, i.e. after persist. Were Paho to send it first, the
// fake broker would see it while persist is still "storing".
TEST_CASE("mqtt client: inbound QoS 1 is PUBACKed only after persist returned (SPEC §10)") {
  std::atomic<bool> acked{false};
  FakeBroker fake(acked);
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options("tcp://127.0.0.1:" + std::to_string(fake.port), "sb-order"));
  std::atomic<bool> puback_while_storing{false};
  p.persist_delay = [&] {  // "storing" takes a while; an early PUBACK has every chance
    std::this_thread::sleep_for(400ms);
    puback_while_storing = fake.puback_seen.load();
    acked = true;
  };
  p.client->start();
  REQUIRE(run_until(io, [&] { return p.got.size() == 1; }));
  CHECK(p.got[0].payload == "42");
  CHECK(p.got[0].stored == 1);
  CHECK_FALSE(puback_while_storing.load());
  REQUIRE(run_until(io, [&] { return fake.puback_seen.load(); }, 5s));
  CHECK(fake.puback_after_ack.load());
  CHECK_FALSE(p.off_thread);
  stop_and_destroy(io, p);
}

// Issue 3: Paho C refuses a publish with -12 ("No more messages can be buffered")
// once 100 publishes wait in its command queue, connected or not. MqttClient keeps
// its own queue in front of Paho, so any number published at once all go out.
TEST_CASE("mqtt client: 1000 QoS 1 publishes at once are all acknowledged and arrive in order") {
  REQUIRE_MOSQUITTO();
  for (int protocol : {4, 5}) {
    CAPTURE(protocol);
    Mosquitto broker;
    boost::asio::io_context io;
    auto guard = boost::asio::make_work_guard(io);
    Probe sub(io, options(broker.uri(), "sb-burst-sub", protocol));
    Probe pub(io, options(broker.uri(), "sb-burst-pub", protocol));
    sub.client->start();
    pub.client->start();
    REQUIRE(run_until(io, [&] { return sub.connects == 1 && pub.connects == 1; }));
    sub.client->subscribe({{"burst/#", 1}});
    REQUIRE(publish_sync(io, *sub.client, "burst/probe", "probe"));  // the subscription is in place
    REQUIRE(run_until(io, [&] { return !sub.got.empty(); }));

    constexpr int n = 1000;
    const auto t0 = std::chrono::steady_clock::now();
    int acked = 0, refused = 0;
    std::string why;
    for (int i = 0; i < n; ++i)
      pub.client->publish("burst/x", std::to_string(i), 1, false, [&](PublishStatus st, std::string e) {
        st == PublishStatus::Ok ? ++acked : ++refused;
        if (st != PublishStatus::Ok && why.empty()) why = e;
      });
    CHECK(run_until(io, [&] { return acked + refused == n && sub.got.size() >= n + 1; }, 30s));
    CHECK(acked == n);
    CHECK_MESSAGE(refused == 0, "first refusal: " << why);
    std::vector<std::string> got;
    for (auto& r : sub.got)
      if (r.topic == "burst/x") got.push_back(r.payload);
    std::vector<std::string> want;
    for (int i = 0; i < n; ++i) want.push_back(std::to_string(i));
    CHECK(got == want);
    // Promptly (~0.1 s here): Paho's send thread is never left asleep with publishes
    // queued behind mosquitto's MQTT 5 Receive Maximum of 20 -- a PUBACK does not wake
    // it, so a window above 20 took ~2 s for the same 1000 (DELIVERY.md).
    const auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("protocol " << protocol << ": " << n << " publishes acknowledged in "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(took < 1500ms);
    stop_and_destroy(io, pub);
    stop_and_destroy(io, sub);
  }
}

// A refusal is not a lost link: with MQTT 5 the broker says so in the PUBACK (reason
// 0x87, MQTT 5 §3.4.2.1), and the publish is reported NotAuthorized -- the transport
// answers the sender instead of retrying for ever. Publishing goes on.
TEST_CASE("mqtt client: a publish the broker refuses (MQTT 5 not authorized) is reported as a refusal") {
  REQUIRE_MOSQUITTO();
  Mosquitto broker("topic readwrite open/#\n");
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  Probe p(io, options(broker.uri(), "sb-acl", 5));
  p.client->start();
  REQUIRE(run_until(io, [&] { return p.connects == 1; }));
  int done = 0;
  PublishStatus denied = PublishStatus::Ok, allowed = PublishStatus::NotConnected;
  std::string why;
  p.client->publish("closed/x", "no", 1, false, [&](PublishStatus st, std::string e) {
    denied = st;
    why = e;
    ++done;
  });
  p.client->publish("open/x", "yes", 1, false, [&](PublishStatus st, std::string) {
    allowed = st;
    ++done;
  });
  REQUIRE(run_until(io, [&] { return done == 2; }));
  CHECK(denied == PublishStatus::NotAuthorized);
  CHECK(why.find("not authorized") != std::string::npos);
  CHECK(allowed == PublishStatus::Ok);
  CHECK(p.client->connected());
  stop_and_destroy(io, p);
}
