// Outbox, the answering half: answers to our requests (sends, look-ups, probes),
// status callbacks and timers. outbox.cpp has startup, submission, pacing and the
// state transitions; outbox.hpp the whole story.
#include <algorithm>
#include "common/log.hpp"
#include "transports/sms/outbox.hpp"

namespace sb::transport::sms {
namespace {
int rank(Progress p) { return p == Progress::Accepted ? 0 : 1; }
}  // namespace

// ---- answers ---------------------------------------------------------------------

void Outbox::on_results(std::vector<std::pair<std::uint64_t, HttpResult>> results) {
  for (auto& [id, r] : results) {
    auto c = calls_.find(id);
    if (c == calls_.end()) continue;
    const Call call = c->second;
    calls_.erase(c);
    note_reachability(r);
    if (call.kind == CallKind::Probe) {
      on_probe_result(r);
      continue;
    }
    auto e = entries_.find(call.ref);
    if (e == entries_.end()) continue;
    if (call.kind == CallKind::Send) on_send_result(e->second, r);
    else on_lookup_result(e->second, r);
  }
  flush();
  emit();
  pump();
}

void Outbox::note_reachability(const HttpResult& r) {
  const auto now = clock_.unix_ms();
  if (r.status > 0) {
    last_answer_ms_ = now;
    probe_failures_ = 0;
    if (up_ != true) {
      up_ = true;
      io_.link(true, std::string(provider_.name()) + " API reachable");
    }
  } else if (!r.reached) {
    if (up_ != false) {
      up_ = false;
      io_.link(false, std::string(provider_.name()) + " API unreachable: " + r.error);
    }
  }
}

void Outbox::probe() {
  if (probing_ || stopped_) return;
  probing_ = true;
  const auto id = next_call_++;
  calls_.emplace(id, Call{CallKind::Probe, {}});
  io_.request(id, provider_.probe_call());
}

void Outbox::on_probe_result(const HttpResult& r) {
  probing_ = false;
  const auto now = clock_.unix_ms();
  if (r.status == 401 || r.status == 403)
    log::get(domain_)->warn("{} refuses our credentials (HTTP {}): check the account and token", provider_.name(),
                            r.status);
  if (r.status > 0) {
    next_probe_ms_ = now + 60'000;
  } else {
    ++probe_failures_;
    next_probe_ms_ = now + std::min<std::int64_t>(30'000, backoff_ms(probe_failures_, std::nullopt, 30));
  }
}

void Outbox::on_send_result(Entry& e, const HttpResult& r) {
  auto log = log::get(domain_);
  e.in_flight = false;
  const auto now = clock_.unix_ms();
  SendResult res = provider_.classify_send(r);
  if (e.early) {
    // A callback with our ref already proved the provider has it.
    StatusReport early = std::move(*e.early);
    e.early.reset();
    accept(e, !res.provider_id.empty() ? res.provider_id : early.provider_id);
    if (early.progress != Progress::Accepted) apply_status(e, early);
    return;
  }
  switch (res.verdict) {
    case Verdict::Accepted:
      accept(e, res.provider_id);
      return;
    case Verdict::Failed:
      log->info("SMS {} -> {} refused: {}", e.rec.from, e.rec.to, res.text);
      fail(e, res.failure, res.text);
      return;
    case Verdict::Retry: {
      if (now - e.rec.created_ms >= cfg_.give_up_seconds * 1000) {
        fail(e, Failure::Unavailable,
             std::string(provider_.name()) + " could not take the message for " +
                 std::to_string(cfg_.give_up_seconds) + " s (last: " + res.text + "); it was not sent");
        return;
      }
      const auto delay = backoff_ms(e.st.attempt, parse_retry_after(r.retry_after, now), cfg_.retry_max_seconds);
      e.st.phase = Phase::Retry;
      e.st.due_ms = now + delay;
      e.st.at_ms = now;
      put(e);
      waiting_.emplace(e.st.due_ms, conv_key(e.rec));
      log->info("SMS {} -> {} not taken ({}); attempt {} in {} ms", e.rec.from, e.rec.to, res.text, e.st.attempt + 1,
                delay);
      return;
    }
    case Verdict::Ambiguous:
      log->warn("SMS {} -> {}: {} after the request was sent; it may have been accepted: not re-sent until resolved",
                e.rec.from, e.rec.to, res.text);
      to_ambiguous(e, now + cfg_.ambiguous_seconds * 1000);
      return;
  }
}

void Outbox::to_ambiguous(Entry& e, std::int64_t deadline) {
  e.st.phase = Phase::Ambiguous;
  e.st.at_ms = clock_.unix_ms();
  put(e);
  deadlines_.emplace(deadline, e.rec.ref);
}

void Outbox::on_lookup_result(Entry& e, const HttpResult& r) {
  auto log = log::get(domain_);
  e.in_flight = false;
  if (e.st.phase != Phase::Ambiguous) return;  // a callback resolved it meanwhile
  const auto now = clock_.unix_ms();
  // Twilio's clock and ours may differ a little: a minute of slack (SPEC §8).
  auto res = provider_.classify_lookup(r, SmsPart{e.rec.from, e.rec.to, e.rec.body}, e.st.started_ms - 60'000,
                                       known_ids(e));
  switch (res.kind) {
    case LookupResult::Found:
      log->info("SMS {} -> {}: found at {} as {}: it was accepted", e.rec.from, e.rec.to, provider_.name(),
                res.provider_id);
      accept(e, res.provider_id);
      if (res.status && res.status->progress != Progress::Accepted) apply_status(e, *res.status);
      return;
    case LookupResult::NotFound:
      log->warn("SMS {} -> {}: not at {} after {} s: sending it again", e.rec.from, e.rec.to, provider_.name(),
                cfg_.ambiguous_seconds);
      e.st.phase = Phase::Queued;
      e.st.at_ms = now;
      put(e);
      make_ready(conv_key(e.rec));
      return;
    case LookupResult::Error: {
      ++e.lookup_failures;
      const auto delay = backoff_ms(e.lookup_failures, std::nullopt, cfg_.retry_max_seconds);
      log->warn("SMS {} -> {}: {}; looking again in {} ms", e.rec.from, e.rec.to, res.text, delay);
      deadlines_.emplace(now + delay, e.rec.ref);
      return;
    }
  }
}

std::set<std::string> Outbox::known_ids(const Entry& e) const {
  std::set<std::string> ids;
  for (const auto& [pid, ref] : by_provider_id_) {
    auto it = entries_.find(ref);
    if (it != entries_.end() && it->second.rec.from == e.rec.from && it->second.rec.to == e.rec.to) ids.insert(pid);
  }
  return ids;
}

// ---- callbacks and timers -------------------------------------------------------

bool Outbox::on_status(const StatusReport& r) {
  auto it = r.ref.empty() ? entries_.end() : entries_.find(r.ref);
  if (it == entries_.end() && !r.provider_id.empty())
    if (auto p = by_provider_id_.find(r.provider_id); p != by_provider_id_.end()) it = entries_.find(p->second);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (e.in_flight && e.st.phase == Phase::Started) {
    // The answer to our send is still coming: keep the most telling report.
    if (!e.early || rank(r.progress) >= rank(e.early->progress)) e.early = r;
    return true;
  }
  // Any other state: the provider has it (an ambiguous send resolved, even if a
  // look-up is under way: its answer is then ignored).
  if (e.st.phase == Phase::Ambiguous)
    log::get(domain_)->info("SMS {} -> {}: the status callback resolved the ambiguous send ({})", e.rec.from,
                            e.rec.to, r.status);
  apply_status(e, r);
  flush();
  emit();
  pump();
  return true;
}

void Outbox::tick() {
  if (stopped_) return;
  const auto now = clock_.unix_ms();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::string ref = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = entries_.find(ref);
    if (it == entries_.end() || it->second.st.phase != Phase::Ambiguous || it->second.in_flight) continue;
    Entry& e = it->second;
    if (auto call = provider_.lookup_call(SmsPart{e.rec.from, e.rec.to, e.rec.body})) {
      e.in_flight = true;
      const auto id = next_call_++;
      calls_.emplace(id, Call{CallKind::Lookup, ref});
      io_.request(id, std::move(*call));
    } else {
      // No way to know: a person must never get the same text twice (SPEC §8).
      log::get(domain_)->warn("SMS {} -> {}: no status callback within {} s and no look-up: reported as unknown",
                              e.rec.from, e.rec.to, cfg_.ambiguous_seconds);
      fail(e, Failure::Unavailable,
           std::string(provider_.name()) + ": could not confirm whether the message was sent; not re-sent");
    }
  }
  // Delivery reports come within minutes, rarely days: forget the oldest.
  while (!tracked_.empty() &&
         (tracked_count_ > cfg_.max_tracked || tracked_.begin()->first + cfg_.track_seconds * 1000 <= now))
    finish(tracked_.begin()->second);
  if (!probing_ && now >= next_probe_ms_ && (up_ != true || now - last_answer_ms_ >= 60'000)) probe();
  flush();
  emit();
  pump();
}

std::optional<std::int64_t> Outbox::next_due_ms() const {
  std::optional<std::int64_t> due = rate_wake_ms_;
  auto earliest = [&](std::int64_t t) { due = due ? std::min(*due, t) : t; };
  if (!waiting_.empty()) earliest(waiting_.begin()->first);
  if (!deadlines_.empty()) earliest(deadlines_.begin()->first);
  return due;
}

}  // namespace sb::transport::sms
