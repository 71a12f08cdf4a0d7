#include "transports/sms/inbox.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace sb::transport::sms {
namespace {
constexpr std::string_view kInbox = "inbox";
constexpr std::string_view kSeen = "seen/";
using nlohmann::json;
}  // namespace

std::string StoredInbound::to_json() const {
  json j = {{"id", provider_id}, {"u", user}, {"f", from}, {"t", to}, {"x", text}, {"m", media}, {"at", received_ms}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<StoredInbound> StoredInbound::from_json(std::string_view s) {
  json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  StoredInbound m;
  try {
    m.provider_id = j.at("id").get<std::string>();
    m.user = j.at("u").get<std::string>();
    m.from = j.at("f").get<std::string>();
    m.to = j.at("t").get<std::string>();
    m.text = j.value("x", "");
    m.media = j.value("m", std::vector<std::string>{});
    m.received_ms = j.value("at", std::int64_t{0});
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return m;
}

Inbox::Inbox(Store& store, std::string domain, const Clock& clock, std::size_t max_seen, int seen_days)
    : store_(store), domain_(std::move(domain)), clock_(clock), max_seen_(max_seen),
      keep_ms_(std::int64_t{seen_days} * 86'400'000) {}

void Inbox::remember(const std::string& id, std::int64_t at) {
  if (!seen_.emplace(id, at).second) return;
  order_.emplace_back(at, id);
}

std::vector<std::pair<std::int64_t, StoredInbound>> Inbox::load() {
  std::vector<std::pair<std::int64_t, std::string>> marks;
  for (auto& [k, v] : store_.states(domain_, kSeen)) {
    std::int64_t at = 0;  // unreadable: oldest, pruned first
    std::from_chars(v.data(), v.data() + v.size(), at);
    marks.emplace_back(at, k.substr(kSeen.size()));
  }
  std::sort(marks.begin(), marks.end());
  for (auto& [at, id] : marks) remember(id, at);

  std::vector<std::pair<std::int64_t, StoredInbound>> out;
  for (auto& item : store_.peek(domain_, kInbox, 10'000'000)) {
    auto m = StoredInbound::from_json(item.payload);
    if (!m) {
      done_.push_back(item.id);  // unreadable: nothing to deliver
      continue;
    }
    // Its seen-mark may not have been written before the crash.
    if (!seen_.count(m->provider_id)) {
      remember(m->provider_id, m->received_ms);
      pending_seen_.emplace_back(std::string(kSeen) + m->provider_id, std::to_string(m->received_ms));
    }
    out.emplace_back(item.id, std::move(*m));
  }
  flush();
  return out;
}

Inbox::Result Inbox::accept(const StoredInbound& m, std::int64_t& id) {
  if (seen_.count(m.provider_id)) return Result::Duplicate;
  id = store_.enqueue(domain_, kInbox, m.to_json());
  if (id == 0) return Result::Failed;
  remember(m.provider_id, m.received_ms);
  pending_seen_.emplace_back(std::string(kSeen) + m.provider_id, std::to_string(m.received_ms));
  return Result::Stored;
}

void Inbox::flush() {
  const auto now = clock_.unix_ms();
  while (!order_.empty() && (seen_.size() > max_seen_ || order_.front().first + keep_ms_ <= now)) {
    auto [at, id] = std::move(order_.front());
    order_.pop_front();
    seen_.erase(id);
    prune_.push_back(std::string(kSeen) + id);
  }
  if (!pending_seen_.empty()) store_.put_states(domain_, std::exchange(pending_seen_, {}));
  if (!done_.empty()) store_.ack_many(domain_, kInbox, std::exchange(done_, {}));
  for (const auto& k : std::exchange(prune_, {})) store_.delete_state(domain_, k);
}

std::vector<InboundMessage> inbound_messages(const StoredInbound& m, std::uint64_t token,
                                             const std::optional<std::string>& owner_default, bool replayed) {
  std::vector<InboundMessage> out;
  InboundMessage base;
  base.user = m.user;
  base.peer = m.from;
  if (!owner_default || *owner_default != m.to) base.peer_resource = m.to;
  base.kind = MessageKind::Chat;
  if (replayed && m.received_ms > 0) base.timestamp_ms = m.received_ms;

  InboundMessage first = base;
  first.body = m.text;
  first.id = m.provider_id;
  if (!m.media.empty()) first.oob_url = m.media[0];
  out.push_back(std::move(first));
  for (std::size_t i = 1; i < m.media.size(); ++i) {
    InboundMessage extra = base;
    extra.oob_url = m.media[i];  // the core puts the URL in the body too (XEP-0066 §3)
    extra.id = m.provider_id + "/" + std::to_string(i);
    out.push_back(std::move(extra));
  }
  out.back().delivery_token = token;
  return out;
}

}  // namespace sb::transport::sms
