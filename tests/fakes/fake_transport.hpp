// A Transport for core scenario tests: every query answers from public fields
// the test sets; send() records the Commands (the harness forwards the core's
// ToTransport effects here, as the app's effect executor does).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include "transports/api/transport.hpp"

namespace sb::test {

// An AddressCodec whose rules the test picks; by default the identity mapping,
// refusing empty localparts and any containing "!" (a stand-in for "not an
// address of this network").
class FakeCodec final : public transport::AddressCodec {
 public:
  std::function<std::optional<std::string>(std::string_view)> decode = [](std::string_view lp) {
    if (lp.empty() || lp.find('!') != std::string_view::npos) return std::optional<std::string>();
    return std::optional<std::string>(std::string(lp));
  };
  std::function<std::string(std::string_view)> encode = [](std::string_view peer) { return std::string(peer); };
  std::optional<std::string> from_localpart(std::string_view lp) const override { return decode(lp); }
  std::string to_localpart(std::string_view peer) const override { return encode(peer); }
};

class FakeTransport final : public transport::Transport {
 public:
  std::string kind_ = "mqtt";
  std::string name_ = "MQTT gateway";
  std::vector<std::string> features_;
  FakeCodec codec;
  std::vector<transport::Field> fields;
  std::vector<transport::Field> settings;
  std::string instructions = "Register with this gateway.";
  bool needs_registration = true;
  std::optional<std::string> prompt;
  std::function<std::optional<std::string>(std::string_view)> resolve;
  // Returns an error text for a value set; default accepts everything.
  std::function<std::optional<std::string>(std::string_view, transport::FieldValues&)> validate;
  std::vector<transport::Item> items_;
  std::vector<std::pair<std::string, std::string>> stats_;
  std::vector<transport::CommandInfo> commands_;
  transport::CommandReport report_;

  std::vector<transport::Command> sent;
  int started = 0, stopped = 0;

  std::string_view kind() const override { return kind_; }
  std::string_view display_name() const override { return name_; }
  std::vector<std::string> features() const override { return features_; }
  const transport::AddressCodec& addresses() const override { return codec; }
  std::vector<transport::Field> registration_fields() const override { return fields; }
  std::string registration_instructions() const override { return instructions; }
  std::optional<std::string> validate_registration(std::string_view user,
                                                   transport::FieldValues& values) const override {
    return validate ? validate(user, values) : std::nullopt;
  }
  std::vector<transport::Field> settings_fields() const override { return settings; }
  bool requires_registration() const override { return needs_registration; }
  bool durable = true;
  bool keeps_commands_durably() const override { return durable; }
  std::optional<std::string> gateway_prompt() const override { return prompt; }
  std::optional<std::string> gateway_resolve(std::string_view input) const override {
    return resolve ? resolve(input) : std::nullopt;
  }
  std::vector<transport::Item> items(std::string_view) const override { return items_; }
  // Peers (and "" for the domain) whose items are fetched: ListItems, answered by an ItemList.
  std::vector<std::string> listed_peers;
  bool lists_items(std::string_view peer) const override {
    for (const auto& p : listed_peers)
      if (p == peer) return true;
    return false;
  }
  // (user_resource, peer, nick) -> occupancy; unset: Unknown.
  std::function<transport::Occupancy(std::string_view, std::string_view, std::string_view)> occupancy_of;
  transport::Occupancy occupancy(std::string_view, std::string_view res, std::string_view peer,
                                 std::string_view nick) const override {
    return occupancy_of ? occupancy_of(res, peer, nick) : transport::Occupancy::Unknown;
  }
  std::function<std::optional<transport::PeerInfo>(std::string_view)> peer_info_of;
  std::optional<transport::PeerInfo> peer_info(std::string_view, std::string_view peer) const override {
    return peer_info_of ? peer_info_of(peer) : std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> stats() const override { return stats_; }
  std::vector<transport::CommandInfo> commands() const override { return commands_; }
  std::optional<transport::CommandReport> run_command(std::string_view node, std::string_view) const override {
    for (auto& c : commands_)
      if (c.node == node) return report_;
    return std::nullopt;
  }

  void start(transport::EventSink&) override { ++started; }
  void send(transport::Command cmd) override { sent.push_back(std::move(cmd)); }
  void stop() override { ++stopped; }

  // The recorded commands of one kind, in order.
  template <class T>
  std::vector<T> sent_of() const {
    std::vector<T> v;
    for (const auto& c : sent)
      if (auto* p = std::get_if<T>(&c)) v.push_back(*p);
    return v;
  }
};

}  // namespace sb::test
