// An in-memory Registry with the contract of registry.hpp (no durability), for
// core scenario tests.
#pragma once
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include "mapping/registry.hpp"

namespace sb::test {

class MemoryRegistry final : public mapping::Registry {
 public:
  using SV = std::string_view;

  // Store
  void put_state(SV d, SV k, SV v) override { state_[{std::string(d), std::string(k)}] = std::string(v); }
  std::optional<std::string> get_state(SV d, SV k) override {
    auto it = state_.find({std::string(d), std::string(k)});
    if (it == state_.end()) return std::nullopt;
    return it->second;
  }
  void delete_state(SV d, SV k) override { state_.erase({std::string(d), std::string(k)}); }
  void put_states(SV d, const std::vector<std::pair<std::string, std::string>>& kv) override {
    for (auto& [k, v] : kv) put_state(d, k, v);
  }
  std::vector<std::pair<std::string, std::string>> states(SV d, SV prefix) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [key, v] : state_)
      if (key.first == d && std::string_view(key.second).substr(0, prefix.size()) == prefix) out.emplace_back(key.second, v);
    return out;
  }
  std::int64_t enqueue(SV d, SV q, SV payload) override {
    auto& queue = queues_[{std::string(d), std::string(q)}];
    queue.push_back({++queue_seq_, std::string(payload), 0, 0});
    return queue_seq_;
  }
  std::vector<transport::QueuedItem> peek(SV d, SV q, std::size_t limit) override {
    auto& queue = queues_[{std::string(d), std::string(q)}];
    return {queue.begin(), queue.begin() + static_cast<long>(std::min(limit, queue.size()))};
  }
  void ack_many(SV d, SV q, const std::vector<std::int64_t>& ids) override {
    for (auto id : ids) ack(d, q, id);
  }
  void ack(SV d, SV q, std::int64_t id) override {
    std::erase_if(queues_[{std::string(d), std::string(q)}], [&](const auto& i) { return i.id == id; });
  }
  void bump_attempts(SV d, SV q, std::int64_t id) override {
    for (auto& i : queues_[{std::string(d), std::string(q)}])
      if (i.id == id) ++i.attempts;
  }
  std::size_t queue_size(SV d, SV q) override { return queues_[{std::string(d), std::string(q)}].size(); }

  // Registrations
  std::optional<mapping::Registration> registration(SV d, SV u) override {
    auto it = regs_.find({std::string(d), std::string(u)});
    if (it == regs_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<mapping::Registration> registrations(SV d) override {
    std::vector<mapping::Registration> v;
    for (const auto& [k, r] : regs_)
      if (k.first == d) v.push_back(r);
    return v;
  }
  void put_registration(SV d, const mapping::Registration& r) override { regs_[{std::string(d), r.user}] = r; }
  bool remove_registration(SV d, SV u) override {
    // As SqliteRegistry: everything of the user goes; the answer is whether a registration did.
    std::erase_if(subs_, [&](const auto& t) { return std::get<0>(t) == d && std::get<1>(t) == u; });
    std::erase_if(settings_, [&](const auto& kv) { return std::get<0>(kv.first) == d && std::get<1>(kv.first) == u; });
    return regs_.erase({std::string(d), std::string(u)}) > 0;
  }

  // Subscriptions
  void set_subscribed(SV d, SV u, SV p, bool on) override {
    std::tuple<std::string, std::string, std::string> key{d, u, p};
    if (on) subs_.insert(key); else subs_.erase(key);
  }
  bool is_subscribed(SV d, SV u, SV p) override { return subs_.count({std::string(d), std::string(u), std::string(p)}); }
  std::vector<std::string> subscribers(SV d, SV p) override {
    std::vector<std::string> v;
    for (const auto& [dd, u, pp] : subs_)
      if (dd == d && pp == p) v.push_back(u);
    return v;
  }
  std::vector<std::string> subscriptions(SV d, SV u) override {
    std::vector<std::string> v;
    for (const auto& [dd, uu, p] : subs_)
      if (dd == d && uu == u) v.push_back(p);
    return v;
  }

  // Settings
  mapping::FieldValues settings(SV d, SV u) override {
    mapping::FieldValues v;
    for (const auto& [k, val] : settings_)
      if (std::get<0>(k) == d && std::get<1>(k) == u) v.emplace_back(std::get<2>(k), val);
    return v;
  }
  void put_setting(SV d, SV u, SV k, SV v) override { settings_[{std::string(d), std::string(u), std::string(k)}] = v; }

  // Mappings
  void put_mapping(SV d, SV legacy, SV local) override {
    to_local_[{std::string(d), std::string(legacy)}] = local;
    to_legacy_[{std::string(d), std::string(local)}] = legacy;
  }
  std::optional<std::string> localpart_for(SV d, SV legacy) override {
    auto it = to_local_.find({std::string(d), std::string(legacy)});
    if (it == to_local_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> legacy_for(SV d, SV local) override {
    auto it = to_legacy_.find({std::string(d), std::string(local)});
    if (it == to_legacy_.end()) return std::nullopt;
    return it->second;
  }

  int schema_version() override { return 1; }

 private:
  using Key2 = std::pair<std::string, std::string>;
  using Key3 = std::tuple<std::string, std::string, std::string>;
  std::map<Key2, std::string> state_;
  std::map<Key2, std::vector<transport::QueuedItem>> queues_;
  std::int64_t queue_seq_ = 0;
  std::map<Key2, mapping::Registration> regs_;
  std::set<Key3> subs_;
  std::map<Key3, std::string> settings_;
  std::map<Key2, std::string> to_local_, to_legacy_;
};

}  // namespace sb::test
