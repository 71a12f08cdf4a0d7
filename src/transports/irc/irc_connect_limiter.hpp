// How many IRC connections may be connecting to one server at once (SPEC §7: one
// connection per user and server), and the order of those that wait.
//
// Why: when many users join at once (a gateway restart, a bench burst), each opens
// its own connection to the same server. A small IRC server listens with a small
// backlog (ngIRCd: 10); the kernel drops the handshakes past it and the client sits
// in SYN retransmits (1 s, 3 s, 7 s, 15 s, ...): users waited over 30 s. So at most
// kMaxConnectingPerServer connections per server are "in progress" (TCP connect,
// TLS, registration up to 001 or closed); the others wait in arrival order and
// start as slots free up. The waiting does not count against the connection's own
// connect/registration timeouts: they start when it starts.
//
// Pure: ids in, ids out; the transport starts the connections. Memory: an entry
// per server only while something is in progress or waiting (servers come from the
// config, so the map is bounded by it; ids by the users' sessions).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace sb::transport::irc {

// Below ngIRCd's listen backlog of 10 (and well below the usual 128 of others), and
// enough to keep registrations flowing: on a LAN a registration takes milliseconds.
constexpr std::size_t kMaxConnectingPerServer = 8;

class ConnectLimiter {
 public:
  explicit ConnectLimiter(std::size_t per_server = kMaxConnectingPerServer) : limit_(per_server ? per_server : 1) {}

  // Connection `id` to `server` wants to start: true = start it now (it holds a
  // slot); false = it waits its turn (release() will name it). Asking again for an
  // id already known changes nothing (and answers whether it holds a slot).
  bool request(const std::string& server, std::uint64_t id);

  // Connection `id` no longer needs its slot or its place in the queue: it is
  // registered, closed, or dropped before it started. Unknown ids are ignored.
  // Returns the waiting ids that now hold a slot, in arrival order: start them.
  std::vector<std::uint64_t> release(const std::string& server, std::uint64_t id);

  std::size_t in_progress(const std::string& server) const;
  std::size_t waiting(const std::string& server) const;
  std::size_t servers() const { return per_server_.size(); }  // entries held

 private:
  struct Server {
    std::vector<std::uint64_t> active;  // at most limit_
    std::deque<std::uint64_t> queue;    // arrival order
  };
  std::size_t limit_;
  std::map<std::string, Server> per_server_;
};

}  // namespace sb::transport::irc
