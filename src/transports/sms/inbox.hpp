// Inbound SMS, durably (SPEC §8 "SMS -> XMPP", §10). Pure: Store and Clock are
// injected; the webhook handler and the core's delivery proofs drive it.
//
// A webhook that passed its signature check is accepted here: a provider message
// id seen before is a Duplicate (answered 200, nothing delivered: providers retry
// when our 200 was lost); otherwise the message is enqueued in the durable queue
// "inbox" and only then does the provider get its 200. It leaves the inbox once
// the XMPP server has provably read what was made of it (delivered()); leftovers
// are delivered again at start.
// Seen ids ("seen/<provider id>" -> unix ms) are written in batches; an id whose
// seen-mark was not written yet is in the inbox item itself, which load() reads
// too, so a crash between the two cannot let a provider's retry through twice.
// They are kept seen_days (7) and at most max_seen (100000), oldest dropped first.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include "common/clock.hpp"
#include "transports/api/events.hpp"
#include "transports/api/store.hpp"

namespace sb::transport::sms {

struct StoredInbound {
  std::string provider_id;
  std::string user;      // the owner of `to` when it arrived
  std::string from, to;  // from: E.164 when it is one, else the sender as given (short codes, names)
  std::string text;
  std::vector<std::string> media;
  std::int64_t received_ms = 0;

  std::string to_json() const;
  static std::optional<StoredInbound> from_json(std::string_view s);
};

class Inbox {
 public:
  Inbox(Store& store, std::string domain, const Clock& clock, std::size_t max_seen = 100000, int seen_days = 7);

  // The seen ids and the items the previous run did not deliver, oldest first.
  std::vector<std::pair<std::int64_t, StoredInbound>> load();

  enum class Result { Stored, Duplicate, Failed };
  // Stored: `id` is the inbox item (the delivery token).
  Result accept(const StoredInbound& m, std::int64_t& id);
  void delivered(std::int64_t id) { done_.push_back(id); }
  // Seen-marks first, then the delivered items leave the queue; prunes old marks.
  void flush();
  bool dirty() const { return !pending_seen_.empty() || !done_.empty() || !prune_.empty(); }
  std::size_t seen() const { return seen_.size(); }

 private:
  void remember(const std::string& id, std::int64_t at);

  Store& store_;
  std::string domain_;
  const Clock& clock_;
  std::size_t max_seen_;
  std::int64_t keep_ms_;
  std::unordered_map<std::string, std::int64_t> seen_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  // oldest first
  std::vector<std::pair<std::string, std::string>> pending_seen_;
  std::vector<std::string> prune_;
  std::vector<std::int64_t> done_;
};

// The XMPP messages for one inbound SMS (pure). The peer is the sender; the
// owner's number it came to is the peer_resource unless it is the owner's default
// number, so a reply goes out from the number the SMS came to. The first media URL
// is the XEP-0066 out-of-band URL of the text's message; each further one comes as
// a message of its own (body = URL, OOB = URL), as XMPP clients show one attachment
// per message. The delivery token rides on the last message (the link proves
// stanzas in order). `replayed`: delivered late, so the XEP-0203 stamp is set.
std::vector<InboundMessage> inbound_messages(const StoredInbound& m, std::uint64_t token,
                                             const std::optional<std::string>& owner_default, bool replayed);

}  // namespace sb::transport::sms
