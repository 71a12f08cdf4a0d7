// The mapping registry (SPEC §5): registrations, legacy-id <-> JID mappings,
// presence subscriptions, per-user settings, durable queues and small state.
//
// Contract: every write is durable when the call returns (SQLite WAL, synchronous
// NORMAL is enough for WAL to survive kill -9 of the process). Called on the io
// thread only. Keys are bare JIDs as strings and legacy ids as decoded strings.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "transports/api/store.hpp"

namespace sb::mapping {

using FieldValues = std::vector<std::pair<std::string, std::string>>;

struct Registration {
  std::string user;        // bare JID
  FieldValues fields;      // transport-declared registration fields
  std::int64_t created_ms = 0;
};

class Registry : public transport::Store {
 public:
  // Registrations, per component domain.
  virtual std::optional<Registration> registration(std::string_view domain, std::string_view user) = 0;
  virtual std::vector<Registration> registrations(std::string_view domain) = 0;
  virtual void put_registration(std::string_view domain, const Registration& r) = 0;  // insert or replace
  // Deletes the registration and everything of this user in the domain
  // (registration fields, the user's subscriptions and settings). Legacy-id
  // mappings are shared between users and stay. False if there was none.
  virtual bool remove_registration(std::string_view domain, std::string_view user) = 0;

  // Presence subscriptions of a user to a legacy contact ("" = the domain itself).
  virtual void set_subscribed(std::string_view domain, std::string_view user, std::string_view peer, bool on) = 0;
  virtual bool is_subscribed(std::string_view domain, std::string_view user, std::string_view peer) = 0;
  virtual std::vector<std::string> subscribers(std::string_view domain, std::string_view peer) = 0;
  virtual std::vector<std::string> subscriptions(std::string_view domain, std::string_view user) = 0;

  // Per-user settings (XEP-0050 settings command).
  virtual FieldValues settings(std::string_view domain, std::string_view user) = 0;
  virtual void put_setting(std::string_view domain, std::string_view user, std::string_view key, std::string_view value) = 0;

  // Legacy id <-> JID localpart, when the codec alone cannot say (e.g. a
  // transport-assigned short name). Escaped per XEP-0106 by the caller.
  virtual void put_mapping(std::string_view domain, std::string_view legacy_id, std::string_view localpart) = 0;
  virtual std::optional<std::string> localpart_for(std::string_view domain, std::string_view legacy_id) = 0;
  virtual std::optional<std::string> legacy_for(std::string_view domain, std::string_view localpart) = 0;

  virtual int schema_version() = 0;
};

}  // namespace sb::mapping
