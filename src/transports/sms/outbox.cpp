// Outbox, the sending half: startup, submission, pacing, the state transitions and
// their durable writes. outbox_answers.cpp handles answers, callbacks and timers.
#include "transports/sms/outbox.hpp"

#include <algorithm>
#include "common/log.hpp"
#include "transports/sms/split.hpp"

namespace sb::transport::sms {
namespace {
constexpr std::string_view kOutbox = "outbox";

OutboxRecord meta_of(const OutboxRecord& r) {
  OutboxRecord m = r;
  m.body.clear();
  return m;
}

}  // namespace

Outbox::Outbox(Store& store, std::string domain, const Clock& clock, const Provider& provider, OutboxConfig cfg,
               OutboxIo& io, std::string boot, std::uint64_t seed)
    : store_(store), domain_(std::move(domain)), clock_(clock), provider_(provider), cfg_(cfg), io_(io),
      boot_(std::move(boot)), rng_(seed) {}

std::string Outbox::new_ref() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 2; ++i) {
    auto v = rng_();
    for (int k = 0; k < 8; ++k, v >>= 4) s.push_back(kHex[v & 15]);
  }
  return s;
}

TokenBucket& Outbox::bucket(const std::string& number) {
  auto it = buckets_.find(number);
  if (it == buckets_.end())
    it = buckets_.emplace(number, TokenBucket(cfg_.rate_per_number, std::max(1.0, cfg_.rate_per_number))).first;
  return it->second;
}

std::size_t Outbox::awaiting_reports() const {
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) {
    return kv.second.st.phase == Phase::Accepted;
  }));
}

std::size_t Outbox::ambiguous() const {
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) {
    return kv.second.st.phase == Phase::Ambiguous;
  }));
}

// ---- startup -------------------------------------------------------------------

void Outbox::load() {
  auto log = log::get(domain_);
  const auto now = clock_.unix_ms();
  std::map<std::string, RefState> states;
  for (auto& [k, v] : store_.states(domain_, kRefPrefix)) {
    if (auto st = RefState::from_json(v)) states.emplace(k.substr(kRefPrefix.size()), std::move(*st));
    else batch_.kv[k] = std::nullopt;  // unreadable: nothing can be done with it
  }
  std::size_t resumed = 0, ambiguous = 0;
  for (auto& item : store_.peek(domain_, kOutbox, 10'000'000)) {
    auto rec = OutboxRecord::from_json(item.payload);
    if (!rec || entries_.count(rec->ref)) {
      log->error("dropping an unreadable SMS outbox item #{}", item.id);
      batch_.acks.push_back(item.id);
      continue;
    }
    Entry e;
    e.item_id = item.id;
    e.rec = std::move(*rec);
    if (auto it = states.find(e.rec.ref); it != states.end()) {
      e.st = std::move(it->second);
      states.erase(it);
    }
    e.st.meta = meta_of(e.rec);
    const std::string ref = e.rec.ref;
    if (e.st.phase == Phase::Accepted || e.st.phase == Phase::Done) {
      // The provider had it; the crash came before the item left the queue.
      batch_.acks.push_back(item.id);
      e.item_id = 0;
      e.rec.body.clear();
      track(entries_.emplace(ref, std::move(e)).first->second);
      continue;
    }
    if (e.st.phase == Phase::Started || e.st.phase == Phase::Ambiguous) {
      // Begun and never answered: the provider may have it (SPEC §8). Its callback
      // may still come; else the look-up decides.
      e.st.phase = Phase::Ambiguous;
      e.st.at_ms = now;
      put(e);
      deadlines_.emplace(now + cfg_.ambiguous_seconds * 1000, ref);
      ++ambiguous;
    }
    ++queued_;
    ++resumed;
    convs_[conv_key(e.rec)].push_back(ref);
    entries_.emplace(ref, std::move(e));
  }
  for (auto& [ref, st] : states) {
    if (st.phase != Phase::Accepted && st.phase != Phase::Done) {
      batch_.kv[key(ref)] = std::nullopt;  // its item is gone: a final step was cut short
      continue;
    }
    Entry e;
    e.rec = st.meta;
    e.st = std::move(st);
    track(entries_.emplace(ref, std::move(e)).first->second);
  }
  for (auto& [conv, q] : convs_) make_ready(conv);
  flush();
  if (resumed)
    log->info("{} SMS waiting from the previous run ({} of them possibly sent already: resolved before any re-send)",
              resumed, ambiguous);
  probe();
  pump();
}

// ---- XMPP -> SMS -----------------------------------------------------------------

std::optional<SendOutcome> Outbox::submit(const OutboundMessage& m, const std::string& from, const std::string& to) {
  auto failure = [&](Failure f, std::string text) {
    return SendOutcome{.ref = m.ref, .ok = false, .failure = f, .text = std::move(text), .origin = m.origin};
  };
  if (stopped_) return failure(Failure::Unavailable, "The gateway is stopping; the message was not sent.");
  auto parts = split_body(m.body, cfg_.max_body);
  if (parts.empty()) return failure(Failure::NotAcceptable, "An SMS needs some text.");
  if (parts.size() > cfg_.max_parts)
    return failure(Failure::NotAcceptable, "The message is too long for SMS: " + std::to_string(count_chars(m.body)) +
                                               " characters, at most " +
                                               std::to_string(cfg_.max_parts * cfg_.max_body) + ".");
  if (queued_ + parts.size() > cfg_.max_queued)
    return failure(Failure::Unavailable,
                   std::to_string(queued_) + " SMS are already waiting to be sent; try again later.");

  const auto now = clock_.unix_ms();
  std::vector<Entry> made;
  std::vector<std::int64_t> ids;
  const std::string group = new_ref();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    Entry e;
    OutboxRecord& r = e.rec;
    r.ref = i == 0 ? group : new_ref();
    r.group = group;
    r.part = static_cast<int>(i + 1);
    r.parts = static_cast<int>(parts.size());
    r.user = m.user;
    r.from = from;
    r.to = to;
    r.body = std::move(parts[i]);
    r.origin = m.origin;
    r.want = m.want_outcome;
    r.core_ref = m.ref;
    r.boot = boot_;
    r.created_ms = now;
    // SPEC §8: durable before anything else.
    e.item_id = store_.enqueue(domain_, kOutbox, r.to_json());
    if (e.item_id == 0) {
      store_.ack_many(domain_, kOutbox, ids);
      return failure(Failure::Internal, "The gateway could not store the message; it was not sent.");
    }
    ids.push_back(e.item_id);
    e.st.meta = meta_of(r);
    made.push_back(std::move(e));
  }
  const std::string conv = conv_key(made.front().rec);
  auto& q = convs_[conv];
  const bool idle = q.empty();
  for (auto& e : made) {
    q.push_back(e.rec.ref);
    ++queued_;
    const std::string ref = e.rec.ref;
    entries_.emplace(ref, std::move(e));
  }
  if (idle) make_ready(conv);
  pump();
  return std::nullopt;
}

void Outbox::make_ready(const std::string& conv) {
  auto c = convs_.find(conv);
  if (c == convs_.end() || c->second.empty()) return;
  auto it = entries_.find(c->second.front());
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  if (e.in_flight) return;
  if (e.st.phase == Phase::Queued) ready_.emplace(e.item_id, conv);
  else if (e.st.phase == Phase::Retry) {
    if (e.st.due_ms <= clock_.unix_ms()) ready_.emplace(e.item_id, conv);
    else waiting_.emplace(e.st.due_ms, conv);
  }
  // Ambiguous: its deadline is registered; Started: its answer will move it.
}

void Outbox::leave_conv(const Entry& e) {
  const std::string conv = conv_key(e.rec);
  auto c = convs_.find(conv);
  if (c == convs_.end()) return;
  auto& q = c->second;
  auto pos = std::find(q.begin(), q.end(), e.rec.ref);
  if (pos == q.end()) return;
  const bool head = pos == q.begin();
  q.erase(pos);
  if (q.empty()) convs_.erase(c);
  else if (head) make_ready(conv);
}

void Outbox::pump() {
  if (stopped_) return;
  const auto now = clock_.unix_ms();
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    std::string conv = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    make_ready(conv);
  }
  rate_wake_ms_.reset();
  std::vector<std::string> starting;
  for (auto it = ready_.begin(); it != ready_.end() && calls_.size() + starting.size() < cfg_.max_in_flight;) {
    auto c = convs_.find(it->second);
    auto e_it = c == convs_.end() || c->second.empty() ? entries_.end() : entries_.find(c->second.front());
    if (e_it == entries_.end()) {
      it = ready_.erase(it);
      continue;
    }
    Entry& e = e_it->second;
    const bool due = e.st.phase == Phase::Queued || (e.st.phase == Phase::Retry && e.st.due_ms <= now);
    if (e.in_flight || !due || e.item_id != it->first) {  // stale: the head moved on
      it = ready_.erase(it);
      continue;
    }
    auto& b = bucket(e.rec.from);
    if (!b.try_take(now)) {
      const auto at = b.next_ms(now);
      rate_wake_ms_ = rate_wake_ms_ ? std::min(*rate_wake_ms_, at) : at;
      ++it;
      continue;
    }
    it = ready_.erase(it);
    e.st.phase = Phase::Started;
    ++e.st.attempt;
    e.st.started_ms = now;
    e.st.at_ms = now;
    e.in_flight = true;
    put(e);
    starting.push_back(e.rec.ref);
  }
  // "Attempt n started" is durable before any of these requests leaves.
  flush();
  for (const auto& ref : starting) {
    const Entry& e = entries_.at(ref);
    const auto id = next_call_++;
    calls_.emplace(id, Call{CallKind::Send, ref});
    io_.request(id, provider_.send_call(SmsPart{e.rec.from, e.rec.to, e.rec.body}, ref));
  }
  emit();
}

// ---- transitions -----------------------------------------------------------------

void Outbox::track(Entry& e) {
  e.tracked_at = tracked_.emplace(e.st.at_ms, e.rec.ref);
  if (!e.st.provider_id.empty()) by_provider_id_[e.st.provider_id] = e.rec.ref;
  ++tracked_count_;
}

void Outbox::accept(Entry& e, const std::string& provider_id) {
  if (e.st.phase == Phase::Accepted || e.st.phase == Phase::Done) return;
  e.st.phase = Phase::Accepted;
  e.st.provider_id = provider_id;
  e.st.at_ms = clock_.unix_ms();
  put(e);
  if (e.item_id) {
    batch_.acks.push_back(e.item_id);  // after the state above: see Batch
    e.item_id = 0;
    --queued_;
  }
  e.rec.body.clear();
  e.rec.body.shrink_to_fit();
  leave_conv(e);
  track(e);
  // One answer per user message: its last part (the parts go in order).
  if (e.rec.part == e.rec.parts) outcome(e, true, Failure::Internal, {}, false);
}

void Outbox::apply_status(Entry& e, const StatusReport& r) {
  if (e.st.phase == Phase::Done) return;  // a repeated final report
  if (e.st.phase != Phase::Accepted) accept(e, r.provider_id.empty() ? e.st.provider_id : r.provider_id);
  switch (r.progress) {
    case Progress::Accepted: return;
    case Progress::Delivered:
      if (e.rec.part == e.rec.parts && e.rec.want) outcome(e, true, Failure::Internal, {}, true);
      return retire(e);
    case Progress::Failed: {
      const std::string text = r.text.empty() ? std::string(provider_.name()) + " reported the message " + r.status : r.text;
      log::get(domain_)->info("SMS {} -> {} ({}): {}", e.rec.from, e.rec.to, e.st.provider_id, text);
      outcome(e, false, Failure::Unavailable, text, false);
      return retire(e);
    }
    case Progress::Final: return retire(e);
  }
}

void Outbox::retire(Entry& e) {
  e.st.phase = Phase::Done;
  e.st.meta.origin.clear();  // nothing more to answer
  e.rec.origin.clear();
  put(e);
}

void Outbox::fail(Entry& e, Failure f, const std::string& text) {
  outcome(e, false, f, text, false);
  const std::string group = e.rec.group, conv = conv_key(e.rec);
  const bool unsent = e.item_id != 0;
  finish(e.rec.ref);
  if (!unsent) return;
  // The parts after a failed one would only send half a message.
  auto c = convs_.find(conv);
  if (c == convs_.end()) return;
  std::vector<std::string> drop;
  for (const auto& ref : c->second) {
    const Entry& o = entries_.at(ref);
    if (o.rec.group == group && !o.in_flight) drop.push_back(ref);
  }
  for (const auto& ref : drop) finish(ref);
}

void Outbox::finish(std::string ref) {
  auto it = entries_.find(ref);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.item_id) {
    batch_.acks.push_back(e.item_id);
    --queued_;
  }
  batch_.kv[key(ref)] = std::nullopt;
  if (e.tracked_at) {
    tracked_.erase(*e.tracked_at);
    --tracked_count_;
  }
  if (!e.st.provider_id.empty())
    if (auto p = by_provider_id_.find(e.st.provider_id); p != by_provider_id_.end() && p->second == ref)
      by_provider_id_.erase(p);
  Entry gone = std::move(e);
  entries_.erase(it);
  leave_conv(gone);
}

void Outbox::outcome(const Entry& e, bool ok, Failure f, std::string text, bool delivered) {
  SendOutcome o;
  // The core's ref means something only to the run that issued it; later, the
  // core answers from the origin.
  o.ref = e.rec.boot == boot_ ? e.rec.core_ref : 0;
  o.ok = ok;
  o.failure = f;
  o.text = std::move(text);
  o.delivered = delivered;
  o.origin = e.rec.origin;
  if (ok && !delivered && o.ref == 0) return;  // nothing to say to a core that forgot it
  outcomes_.push_back(std::move(o));
}

// ---- durability ------------------------------------------------------------------

void Outbox::flush() {
  if (batch_.kv.empty() && batch_.acks.empty()) return;
  Batch b = std::exchange(batch_, {});
  std::vector<std::pair<std::string, std::string>> puts;
  std::vector<std::string> deletes;
  for (auto& [k, v] : b.kv) {
    if (v) puts.emplace_back(k, std::move(*v));
    else deletes.push_back(k);
  }
  // States first (an "accepted" before its item leaves the queue), then the queue,
  // then deletions (an item leaves the queue before its state is forgotten): a
  // crash between any two leaves something load() reads correctly.
  if (!puts.empty()) store_.put_states(domain_, puts);
  if (!b.acks.empty()) store_.ack_many(domain_, kOutbox, b.acks);
  for (const auto& k : deletes) store_.delete_state(domain_, k);
}

void Outbox::emit() {
  for (auto& o : std::exchange(outcomes_, {})) io_.outcome(std::move(o));
}

}  // namespace sb::transport::sms
