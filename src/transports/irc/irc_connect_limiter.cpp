// Connections in progress per IRC server; see irc_connect_limiter.hpp.
#include "transports/irc/irc_connect_limiter.hpp"

#include <algorithm>

namespace sb::transport::irc {

bool ConnectLimiter::request(const std::string& server, std::uint64_t id) {
  Server& s = per_server_[server];
  if (std::find(s.active.begin(), s.active.end(), id) != s.active.end()) return true;
  if (std::find(s.queue.begin(), s.queue.end(), id) != s.queue.end()) return false;
  if (s.active.size() < limit_ && s.queue.empty()) {
    s.active.push_back(id);
    return true;
  }
  s.queue.push_back(id);
  return false;
}

std::vector<std::uint64_t> ConnectLimiter::release(const std::string& server, std::uint64_t id) {
  std::vector<std::uint64_t> started;
  auto it = per_server_.find(server);
  if (it == per_server_.end()) return started;
  Server& s = it->second;
  if (auto a = std::find(s.active.begin(), s.active.end(), id); a != s.active.end()) {
    s.active.erase(a);
  } else if (auto q = std::find(s.queue.begin(), s.queue.end(), id); q != s.queue.end()) {
    s.queue.erase(q);
  } else {
    return started;
  }
  while (s.active.size() < limit_ && !s.queue.empty()) {
    s.active.push_back(s.queue.front());
    started.push_back(s.queue.front());
    s.queue.pop_front();
  }
  if (s.active.empty() && s.queue.empty()) per_server_.erase(it);  // nothing held for idle servers
  return started;
}

std::size_t ConnectLimiter::in_progress(const std::string& server) const {
  auto it = per_server_.find(server);
  return it == per_server_.end() ? 0 : it->second.active.size();
}

std::size_t ConnectLimiter::waiting(const std::string& server) const {
  auto it = per_server_.find(server);
  return it == per_server_.end() ? 0 : it->second.queue.size();
}

}  // namespace sb::transport::irc
