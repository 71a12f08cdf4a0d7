#include "transports/sms/numbers.hpp"

#include <algorithm>
#include "transports/sms/e164.hpp"

namespace sb::transport::sms {

std::string lower_jid(std::string_view jid) {
  std::string s(jid);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

NumberBook::NumberBook(std::vector<NumberEntry> numbers) : numbers_(std::move(numbers)) {
  for (auto& n : numbers_) n.owner = lower_jid(n.owner);
}

const NumberEntry* NumberBook::find(std::string_view number) const {
  for (const auto& n : numbers_)
    if (n.number == number) return &n;
  return nullptr;
}

bool NumberBook::has(std::string_view number) const { return find(number) != nullptr; }

std::optional<std::string> NumberBook::owner_of(std::string_view number) const {
  const NumberEntry* n = find(number);
  if (!n) return std::nullopt;
  if (!n->owner.empty()) return n->owner;
  if (auto it = claims_.find(number); it != claims_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> NumberBook::numbers_of(std::string_view user) const {
  const std::string u = lower_jid(user);
  std::vector<std::string> out;
  for (const auto& n : numbers_)
    if (n.owner == u) out.push_back(n.number);
  for (const auto& n : numbers_)
    if (n.owner.empty())
      if (auto it = claims_.find(n.number); it != claims_.end() && it->second == u) out.push_back(n.number);
  return out;
}

std::optional<std::string> NumberBook::default_of(std::string_view user) const {
  auto v = numbers_of(user);
  if (v.empty()) return std::nullopt;
  return v.front();
}

bool NumberBook::owns(std::string_view user, std::string_view number) const {
  auto o = owner_of(number);
  return o && *o == lower_jid(user);
}

std::vector<std::string> NumberBook::free_pool() const {
  std::vector<std::string> out;
  for (const auto& n : numbers_)
    if (n.owner.empty() && !claims_.count(n.number)) out.push_back(n.number);
  return out;
}

std::optional<std::string> NumberBook::sender(std::string_view user, std::string_view resource,
                                              std::string& error) const {
  if (!resource.empty()) {
    auto n = normalise_e164(resource);
    if (n && owns(user, *n)) return n;
    error = "You cannot send from " + std::string(resource) + ": it is not your number";
    return std::nullopt;
  }
  if (auto d = default_of(user)) return d;
  error = "You have no number on this gateway; register to claim one";
  return std::nullopt;
}

std::optional<std::string> NumberBook::check_claim(std::string_view user, std::string_view number) const {
  const NumberEntry* n = find(number);
  if (!n) return "The number " + std::string(number) + " is not a number of this gateway.";
  auto owner = owner_of(number);
  if (owner && *owner != lower_jid(user)) return "The number " + std::string(number) + " belongs to someone else.";
  return std::nullopt;
}

bool NumberBook::set_claim(std::string_view user, std::string_view number) {
  const std::string u = lower_jid(user);
  if (!number.empty() && check_claim(u, number)) return false;
  release(u);
  const NumberEntry* n = number.empty() ? nullptr : find(number);
  if (n && n->owner.empty()) claims_[n->number] = u;  // a config-owned number needs no claim
  return true;
}

void NumberBook::release(std::string_view user) {
  const std::string u = lower_jid(user);
  std::erase_if(claims_, [&](const auto& kv) { return kv.second == u; });
}

}  // namespace sb::transport::sms
