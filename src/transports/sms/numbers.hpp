// Who sends from which number (SPEC §8: "numbers are assigned to users in config or
// claimed by registration"; §10: a user can never send from another's number). Pure.
//
// Config numbers with an `owner` belong to that user; numbers without one form a
// pool a user may claim by registering with the field "phone". A user's numbers are
// their config numbers (config order), then their claimed pool number; the first is
// their default, the one a plain "+1555…@domain" message is sent from. User JIDs are
// compared ASCII case-insensitively (the core case-folds JIDs).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::transport::sms {

struct NumberEntry {
  std::string number;  // canonical E.164
  std::string owner;   // bare JID from config; empty: pool
};

class NumberBook {
 public:
  explicit NumberBook(std::vector<NumberEntry> numbers);

  bool has(std::string_view number) const;
  // The config owner or the claimant; nullopt: nobody (a free pool number or not ours).
  std::optional<std::string> owner_of(std::string_view number) const;
  std::vector<std::string> numbers_of(std::string_view user) const;
  std::optional<std::string> default_of(std::string_view user) const;
  bool owns(std::string_view user, std::string_view number) const;
  std::vector<std::string> free_pool() const;
  // The number a message from `user` goes out from: `resource` (the contact JID's
  // resource, "+1555…@domain/+15550002222") when it is one of theirs, else their
  // default. nullopt with `error` (for the user, forbidden) when they may not send.
  std::optional<std::string> sender(std::string_view user, std::string_view resource, std::string& error) const;
  const std::vector<NumberEntry>& all() const { return numbers_; }

  // Checks a registration's "phone" for `user` (already E.164): nullopt when the user
  // may hold it, else the reason for the user.
  std::optional<std::string> check_claim(std::string_view user, std::string_view number) const;
  // The user's registration now says `number` ("" = none): their previous claim is
  // released, a free pool number claimed. False (and nothing claimed) when the
  // number is not free for them (config changed since they registered).
  bool set_claim(std::string_view user, std::string_view number);
  void release(std::string_view user);
  std::size_t claimed() const { return claims_.size(); }

 private:
  const NumberEntry* find(std::string_view number) const;

  std::vector<NumberEntry> numbers_;           // config order, owners lower-cased
  std::map<std::string, std::string, std::less<>> claims_;  // pool number -> user (lower case)
};

std::string lower_jid(std::string_view jid);

}  // namespace sb::transport::sms
