// What the SMS outbox keeps durably (SPEC §8, §10). Pure values and their JSON.
//
// Two things per SMS part:
//  - the queue item (Store queue "outbox"): an OutboxRecord, written before anything
//    else happens to a user's message, removed once the provider has it (or it
//    failed for good);
//  - the small state "ref/<ref>" (Store kv): where its sending stands. Absent =
//    queued, never tried. "started" is written before each HTTP request, so a
//    crash mid-request leaves proof that the provider may have it: such an item is
//    ambiguous at the next start, never blindly re-sent. "accepted" outlives the
//    queue item until the delivery report, to answer it; "done" (the provider's id)
//    until pruning, so a look-up can tell our earlier identical texts from this one.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::transport::sms {

struct OutboxRecord {
  std::string ref;      // ours: in the status-callback URL; unique (random)
  std::string group;    // the ref of the first part of the user's message
  int part = 1, parts = 1;
  std::string user, from, to, body;
  std::string origin;   // the core's (SendOutcome::origin)
  bool want = false;    // a XEP-0184 receipt was requested
  std::uint64_t core_ref = 0;
  std::string boot;     // core_ref is only meaningful within the run that took it
  std::int64_t created_ms = 0;

  std::string to_json() const;
  static std::optional<OutboxRecord> from_json(std::string_view s);
};

enum class Phase {
  Queued,     // not tried (or safe to try again)
  Started,    // attempt n began: the request may be on the wire
  Retry,      // attempt n certainly did not reach the provider: again at due_ms
  Ambiguous,  // attempt n may have been accepted: wait for a callback, then look up
  Accepted,   // the provider has it: waiting for the delivery report
  Done,       // its final report came: kept a while so a look-up never takes it for a later
              // identical text (people send "ok" twice), and repeated reports are ignored
};
std::string_view phase_name(Phase p);

struct RefState {
  Phase phase = Phase::Queued;
  int attempt = 0;            // attempts begun
  std::int64_t started_ms = 0;  // the last attempt's start (unix ms)
  std::int64_t due_ms = 0;      // Retry: next attempt
  std::int64_t at_ms = 0;       // when this phase began
  std::string provider_id;      // Accepted
  OutboxRecord meta;            // the record without its body: who to answer, once the item is gone

  std::string to_json() const;
  static std::optional<RefState> from_json(std::string_view s);
};

constexpr std::string_view kRefPrefix = "ref/";

}  // namespace sb::transport::sms
