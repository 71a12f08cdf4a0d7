// An in-memory transport::Store for the SMS unit tests: the contract of store.hpp
// without a database. A test "restarts" by building a new Outbox/Inbox on the same
// store; `fail_enqueue` simulates a full disk.
#pragma once
#include <algorithm>
#include <map>
#include <string>
#include <vector>
#include "transports/api/store.hpp"

namespace sb::test {

class MemoryStore final : public transport::Store {
 public:
  using SV = std::string_view;
  bool fail_enqueue = false;
  int transactions = 0;  // write calls, to check batching

  void put_state(SV, SV k, SV v) override {
    ++transactions;
    kv[std::string(k)] = std::string(v);
  }
  std::optional<std::string> get_state(SV, SV k) override {
    auto it = kv.find(std::string(k));
    if (it == kv.end()) return std::nullopt;
    return it->second;
  }
  void delete_state(SV, SV k) override {
    ++transactions;
    kv.erase(std::string(k));
  }
  void put_states(SV, const std::vector<std::pair<std::string, std::string>>& items) override {
    ++transactions;
    for (auto& [k, v] : items) kv[k] = v;
  }
  std::vector<std::pair<std::string, std::string>> states(SV, SV prefix) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [k, v] : kv)
      if (SV(k).substr(0, prefix.size()) == prefix) out.emplace_back(k, v);
    return out;
  }
  std::int64_t enqueue(SV, SV q, SV payload) override {
    if (fail_enqueue) return 0;
    ++transactions;
    queues[std::string(q)].push_back({++seq, std::string(payload), 0, 0});
    return seq;
  }
  std::vector<transport::QueuedItem> peek(SV, SV q, std::size_t limit) override {
    auto& v = queues[std::string(q)];
    return {v.begin(), v.begin() + static_cast<long>(std::min(limit, v.size()))};
  }
  void ack(SV, SV q, std::int64_t id) override {
    ++transactions;
    std::erase_if(queues[std::string(q)], [&](const auto& i) { return i.id == id; });
  }
  void ack_many(SV d, SV q, const std::vector<std::int64_t>& ids) override {
    for (auto id : ids) std::erase_if(queues[std::string(q)], [&](const auto& i) { return i.id == id; });
    ++transactions;
    (void)d;
  }
  void bump_attempts(SV, SV, std::int64_t) override {}
  std::size_t queue_size(SV, SV q) override { return queues[std::string(q)].size(); }

  std::map<std::string, std::string> kv;
  std::map<std::string, std::vector<transport::QueuedItem>> queues;
  std::int64_t seq = 0;
};

}  // namespace sb::test
