// The SMS sender end to end in memory: a manual clock, an in-memory store and a
// recorded "network" (SPEC §8 XMPP -> SMS; §10 nothing lost, never twice).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include "unit/sms/memory_store.hpp"
#include "transports/sms/form.hpp"
#include "transports/sms/outbox.hpp"

using namespace sb::transport::sms;
using sb::transport::Failure;
using sb::transport::OutboundMessage;
using sb::transport::SendOutcome;
using nlohmann::json;

namespace {

constexpr const char* kFrom = "+15550001111";
constexpr const char* kTo = "+15557654321";

struct FakeIo final : OutboxIo {
  std::vector<std::pair<std::uint64_t, HttpCall>> requests;
  std::vector<SendOutcome> outcomes;
  std::vector<std::pair<bool, std::string>> links;
  void request(std::uint64_t id, HttpCall call) override { requests.emplace_back(id, std::move(call)); }
  void outcome(SendOutcome o) override { outcomes.push_back(std::move(o)); }
  void link(bool up, std::string text) override { links.emplace_back(up, std::move(text)); }
};

bool is_send(const HttpCall& c) { return c.method == "POST"; }
bool is_lookup(const HttpCall& c) { return c.method == "GET" && c.url.find("Messages.json?") != std::string::npos; }

struct Sent {
  std::uint64_t id;
  std::string to, from, body, ref;
};

struct Rig {
  sb::test::MemoryStore store;
  sb::ManualClock clock;
  std::unique_ptr<Provider> provider;
  FakeIo io;
  OutboxConfig cfg;
  std::unique_ptr<Outbox> ob;
  std::uint64_t seed = 1;

  explicit Rig(bool telnyx = false) {
    cfg.rate_per_number = 0;
    cfg.ambiguous_seconds = 600;
    provider = telnyx ? make_telnyx({"https://api.telnyx", "", "K", "https://gw/sms", std::string(32, 'k'), ""})
                      : make_twilio({"https://api.twilio", "AC1", "tok", "https://gw/sms", "", ""});
  }
  // (Re)starts the sender on the same store: a new process after a crash.
  void start(std::string boot = "boot1") {
    io = FakeIo{};
    ob = std::make_unique<Outbox>(store, "sms.test", clock, *provider, cfg, io, std::move(boot), seed++);
    ob->load();
    // The start-up probe: the provider answers.
    for (auto& [id, c] : take_if([](const HttpCall& c) { return c.method == "GET" && !is_lookup(c); }))
      ob->on_results({{id, answer(200, "{}")}});
  }

  static HttpResult answer(int status, std::string body = {}, std::string retry_after = {}) {
    HttpResult r;
    r.status = status;
    r.reached = true;
    r.body = std::move(body);
    r.retry_after = std::move(retry_after);
    return r;
  }
  static HttpResult unreachable() {
    HttpResult r;
    r.error = "Connection refused";
    return r;
  }
  static HttpResult timed_out() {
    HttpResult r;
    r.reached = true;
    r.error = "Operation timed out";
    return r;
  }

  std::optional<SendOutcome> submit(std::string body, std::uint64_t ref = 1, bool want = false, std::string to = kTo,
                                    std::string from = kFrom) {
    OutboundMessage m;
    m.ref = ref;
    m.user = "alice@example.org";
    m.peer = to;
    m.body = std::move(body);
    m.want_outcome = want;
    m.origin = "origin-" + std::to_string(ref);
    return ob->submit(m, from, to);
  }

  template <class Pred>
  std::vector<std::pair<std::uint64_t, HttpCall>> take_if(Pred p) {
    std::vector<std::pair<std::uint64_t, HttpCall>> out, keep;
    for (auto& r : io.requests) (p(r.second) ? out : keep).push_back(std::move(r));
    io.requests = std::move(keep);
    return out;
  }
  std::vector<Sent> sends() {
    std::vector<Sent> out;
    for (auto& [id, c] : take_if(is_send)) {
      auto f = form_decode(c.body).value();
      std::string cb = *form_get(f, "StatusCallback");
      out.push_back({id, *form_get(f, "To"), *form_get(f, "From"), *form_get(f, "Body"), cb.substr(cb.find("ref=") + 4)});
    }
    return out;
  }
  Sent one_send() {
    auto s = sends();
    REQUIRE(s.size() == 1);
    return s[0];
  }
  std::vector<std::uint64_t> lookups() {
    std::vector<std::uint64_t> ids;
    for (auto& [id, c] : take_if(is_lookup)) ids.push_back(id);
    return ids;
  }
  void reply(std::uint64_t id, HttpResult r) { ob->on_results({{id, std::move(r)}}); }
  void accept(const Sent& s, std::string sid = "SM1") {
    reply(s.id, answer(201, json{{"sid", sid}, {"status", "queued"}}.dump()));
  }
  void advance(std::int64_t ms) {
    clock.advance(std::chrono::milliseconds(ms));
    ob->tick();
  }
  StatusReport status(const Sent& s, Progress p, std::string sid = "SM1", std::string text = {}) {
    StatusReport r;
    r.ref = s.ref;
    r.provider_id = std::move(sid);
    r.progress = p;
    r.text = std::move(text);
    return r;
  }
  std::size_t outbox() { return store.queue_size("sms.test", "outbox"); }
  std::string lookup_answer(const std::string& sid, const std::string& body) {
    json m = {{"sid", sid}, {"body", body}, {"to", kTo}, {"from", kFrom}, {"status", "sent"},
              {"date_created", "Tue, 14 Nov 2023 22:13:20 +0000"}};  // = the manual clock's start
    return json{{"messages", json::array({m})}}.dump();
  }
};

}  // namespace

TEST_CASE("accepted: ok outcome, the item leaves the outbox, delivery gives the receipt") {
  Rig r;
  r.start();
  CHECK_FALSE(r.submit("hello", 7, true));
  CHECK(r.outbox() == 1);
  auto s = r.one_send();
  CHECK((s.to == kTo && s.from == kFrom && s.body == "hello"));
  // "Attempt 1 started" is durable before the request goes out.
  auto st = RefState::from_json(r.store.kv.at("ref/" + s.ref));
  REQUIRE(st);
  CHECK(st->phase == Phase::Started);
  CHECK(st->attempt == 1);

  r.accept(s, "SM42");
  CHECK(r.outbox() == 0);
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ok);
  CHECK_FALSE(r.io.outcomes[0].delivered);
  CHECK(r.io.outcomes[0].ref == 7);
  CHECK(r.io.outcomes[0].origin == "origin-7");
  CHECK(RefState::from_json(r.store.kv.at("ref/" + s.ref))->phase == Phase::Accepted);

  CHECK(r.ob->on_status(r.status(s, Progress::Accepted, "SM42")));
  CHECK(r.io.outcomes.size() == 1);  // "sent" is no delivery
  CHECK(r.ob->on_status(r.status(s, Progress::Delivered, "SM42")));
  REQUIRE(r.io.outcomes.size() == 2);
  CHECK(r.io.outcomes[1].ok);
  CHECK(r.io.outcomes[1].delivered);
  // Final, remembered as done (no body, no origin) until pruned.
  auto done = RefState::from_json(r.store.kv.at("ref/" + s.ref));
  CHECK(done->phase == Phase::Done);
  CHECK(done->provider_id == "SM42");
  CHECK(done->meta.origin.empty());
  CHECK(r.ob->awaiting_reports() == 0);
  // The provider repeats its report: nothing more happens.
  CHECK(r.ob->on_status(r.status(s, Progress::Delivered, "SM42")));
  CHECK(r.io.outcomes.size() == 2);
}

TEST_CASE("the same text twice: the look-up does not take the first, delivered, for the second") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start("run1");
  r.submit("ok", 1, true);
  auto first = r.one_send();
  r.accept(first, "SMfirst");
  r.ob->on_status(r.status(first, Progress::Delivered, "SMfirst"));
  r.submit("ok", 2, true);
  auto second = r.one_send();
  r.reply(second.id, Rig::answer(500));  // not accepted, as it turns out
  r.start("run2");                        // and a restart on top: the first is remembered durably
  r.advance(2000);
  auto l = r.lookups();
  REQUIRE(l.size() == 1);
  r.reply(l[0], Rig::answer(200, r.lookup_answer("SMfirst", "ok")));  // only the first is there
  auto again = r.one_send();
  CHECK(again.body == "ok");
  CHECK(again.ref == second.ref);
}

TEST_CASE("4xx: the user gets the provider's code and text; nothing is retried") {
  Rig r;
  r.start();
  r.submit("bad", 3);
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(400, R"({"code":21211,"message":"The 'To' number is not a valid phone number."})"));
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK_FALSE(r.io.outcomes[0].ok);
  CHECK(r.io.outcomes[0].failure == Failure::NotAcceptable);
  CHECK(r.io.outcomes[0].text == "Twilio error 21211: The 'To' number is not a valid phone number.");
  CHECK(r.outbox() == 0);
  CHECK(r.store.kv.empty());
  r.advance(3'600'000);
  CHECK(r.sends().empty());
}

TEST_CASE("429: retried after the backoff, Retry-After honoured, never before") {
  Rig r;
  r.start();
  r.submit("later");
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(429, "{}", "5"));
  CHECK(RefState::from_json(r.store.kv.at("ref/" + s.ref))->phase == Phase::Retry);
  CHECK(r.ob->next_due_ms() == r.clock.unix_ms() + 5000);
  r.advance(4999);
  CHECK(r.sends().empty());
  r.advance(1);
  auto again = r.one_send();
  CHECK(again.ref == s.ref);  // the same message, the same ref
  r.accept(again);
  CHECK(r.outbox() == 0);
  CHECK(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ok);
}

TEST_CASE("unreachable provider: 1 s doubling to the cap, the link goes down, error after give_up") {
  Rig r;
  r.cfg.retry_max_seconds = 4;
  r.cfg.give_up_seconds = 20;
  r.start();
  CHECK(r.io.links.back().first);  // the probe answered: up
  r.submit("anyone there?", 9);
  std::vector<std::int64_t> gaps;
  auto last = r.clock.unix_ms();
  for (int i = 0; i < 10 && r.io.outcomes.empty(); ++i) {
    auto s = r.one_send();
    gaps.push_back(r.clock.unix_ms() - last);
    last = r.clock.unix_ms();
    r.reply(s.id, Rig::unreachable());
    if (!r.io.outcomes.empty()) break;
    r.advance(*r.ob->next_due_ms() - r.clock.unix_ms());
  }
  CHECK(gaps == std::vector<std::int64_t>{0, 1000, 2000, 4000, 4000, 4000, 4000, 4000});
  CHECK_FALSE(r.io.links.back().first);
  CHECK(r.io.links.back().second == "Twilio API unreachable: Connection refused");
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].failure == Failure::Unavailable);
  CHECK(r.io.outcomes[0].text.find("could not take the message for 20 s") != std::string::npos);
  CHECK(r.outbox() == 0);
}

TEST_CASE("ambiguous 500, then the status callback with our ref: accepted, never re-sent") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start();
  r.submit("maybe", 5, true);
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(500));
  CHECK(r.ob->ambiguous() == 1);
  CHECK(RefState::from_json(r.store.kv.at("ref/" + s.ref))->phase == Phase::Ambiguous);
  CHECK(r.io.outcomes.empty());
  CHECK(r.ob->on_status(r.status(s, Progress::Delivered, "SM77")));
  REQUIRE(r.io.outcomes.size() == 2);  // accepted, then delivered
  CHECK(r.io.outcomes[1].delivered);
  CHECK(r.outbox() == 0);
  r.advance(60'000);
  CHECK(r.sends().empty());
  CHECK(r.lookups().empty());
}

TEST_CASE("ambiguous timeout, the look-up finds it: accepted, not re-sent") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start();
  r.submit("slow provider", 5, true);
  auto s = r.one_send();
  r.reply(s.id, Rig::timed_out());
  r.advance(1999);
  CHECK(r.lookups().empty());  // the callback gets its chance first
  r.advance(1);
  auto l = r.lookups();
  REQUIRE(l.size() == 1);
  r.reply(l[0], Rig::answer(200, r.lookup_answer("SM9", "slow provider")));
  CHECK(r.outbox() == 0);
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ok);
  // Its delivery report still finds it, by ref.
  r.ob->on_status(r.status(s, Progress::Delivered, "SM9"));
  CHECK(r.io.outcomes.back().delivered);
  r.advance(60'000);
  CHECK(r.sends().empty());
}

TEST_CASE("ambiguous 500, the look-up finds nothing: sent again, once") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start();
  r.submit("retry me");
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(500));
  r.advance(2000);
  auto l = r.lookups();
  REQUIRE(l.size() == 1);
  CHECK(r.sends().empty());  // nothing before the look-up's answer
  r.reply(l[0], Rig::answer(200, R"({"messages":[]})"));
  auto again = r.one_send();
  CHECK(again.body == "retry me");
  CHECK(RefState::from_json(r.store.kv.at("ref/" + s.ref))->attempt == 2);
  r.accept(again);
  CHECK(r.outbox() == 0);
  r.advance(60'000);
  CHECK(r.sends().empty());
}

TEST_CASE("a failing look-up is asked again later; still nothing re-sent meanwhile") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start();
  r.submit("x");
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(502));
  r.advance(2000);
  auto l = r.lookups();
  REQUIRE(l.size() == 1);
  r.reply(l[0], Rig::unreachable());
  CHECK(r.sends().empty());
  r.advance(1000);
  l = r.lookups();
  REQUIRE(l.size() == 1);
  r.reply(l[0], Rig::answer(200, r.lookup_answer("SM5", "x")));
  CHECK(r.outbox() == 0);
  CHECK(r.sends().empty());
}

TEST_CASE("Telnyx: no look-up, so an unresolved ambiguous send is reported, not re-sent") {
  Rig r(true);
  r.cfg.ambiguous_seconds = 2;
  r.start();
  r.submit("via telnyx", 4);
  auto calls = r.take_if(is_send);
  REQUIRE(calls.size() == 1);
  r.reply(calls[0].first, Rig::answer(503));
  r.advance(2000);
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK_FALSE(r.io.outcomes[0].ok);
  CHECK(r.io.outcomes[0].failure == Failure::Unavailable);
  CHECK(r.io.outcomes[0].text == "Telnyx: could not confirm whether the message was sent; not re-sent");
  CHECK(r.outbox() == 0);
  CHECK(r.store.kv.empty());
  r.advance(60'000);
  CHECK(r.take_if(is_send).empty());
}

TEST_CASE("kill -9 mid-request: ambiguous at the next start, looked up before any re-send") {
  Rig r;
  r.cfg.ambiguous_seconds = 2;
  r.start("run1");
  r.submit("in flight when killed", 11, true);
  r.submit("queued behind it", 12, true);
  auto s = r.one_send();
  // The process dies here: the request's answer is never read.
  r.start("run2");
  CHECK(r.ob->ambiguous() == 1);
  CHECK(r.ob->queued() == 2);
  CHECK(r.sends().empty());  // the conversation waits for the resolution
  r.advance(2000);
  auto l = r.lookups();
  REQUIRE(l.size() == 1);
  r.reply(l[0], Rig::answer(200, r.lookup_answer("SM1", "in flight when killed")));
  // Resolved: accepted. The core of run2 does not know ref 11: only errors and
  // receipts are worth telling it, from the origin.
  CHECK(r.io.outcomes.empty());
  auto next = r.one_send();
  CHECK(next.body == "queued behind it");
  r.accept(next, "SM2");
  r.ob->on_status(r.status(s, Progress::Delivered, "SM1"));
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ref == 0);
  CHECK(r.io.outcomes[0].origin == "origin-11");
  CHECK(r.io.outcomes[0].delivered);
  CHECK(r.outbox() == 0);
}

TEST_CASE("restart: queued items go in order; retry state and accepted records survive") {
  Rig r;
  r.start("run1");
  r.submit("first", 1, true);
  auto s1 = r.one_send();
  r.accept(s1, "SM1");  // accepted, awaiting its delivery report
  r.submit("second", 2);
  auto s2 = r.one_send();
  r.reply(s2.id, Rig::answer(429, "", "30"));
  r.submit("third", 3);
  r.start("run2");
  CHECK(r.ob->queued() == 2);
  CHECK(r.ob->tracked() == 1);
  CHECK(r.sends().empty());  // "second" waits for its Retry-After, "third" behind it
  r.advance(30'000);
  auto a = r.one_send();
  CHECK(a.body == "second");
  r.accept(a, "SM2");
  auto b = r.one_send();
  CHECK(b.body == "third");
  r.accept(b, "SM3");
  // The delivery report for the first message, accepted by the previous run.
  CHECK(r.ob->on_status(r.status(s1, Progress::Failed, "SM1", "Twilio error 30003: unreachable")));
  REQUIRE_FALSE(r.io.outcomes.empty());
  CHECK(r.io.outcomes.back().text == "Twilio error 30003: unreachable");
  CHECK(r.io.outcomes.back().failure == Failure::Unavailable);
  CHECK(r.io.outcomes.back().origin == "origin-1");
}

TEST_CASE("order per conversation; other recipients do not wait") {
  Rig r;
  r.start();
  r.submit("one", 1);
  r.submit("two", 2);
  r.submit("to someone else", 3, false, "+15550009999");
  auto first = r.sends();
  REQUIRE(first.size() == 2);
  CHECK(first[0].body == "one");
  CHECK(first[1].body == "to someone else");
  r.accept(first[0], "SMa");
  auto second = r.one_send();
  CHECK(second.body == "two");
}

TEST_CASE("rate limit per sending number") {
  Rig r;
  r.cfg.rate_per_number = 1.0;
  r.start();
  r.submit("a", 1, false, "+15550000001");
  r.submit("b", 2, false, "+15550000002");
  r.submit("c", 3, false, "+15550000003", "+15550002222");  // another number: its own bucket
  auto now = r.sends();
  REQUIRE(now.size() == 2);
  CHECK(now[0].body == "a");
  CHECK(now[1].body == "c");
  CHECK(r.ob->next_due_ms() == r.clock.unix_ms() + 1000);
  r.advance(999);
  CHECK(r.sends().empty());
  r.advance(1);
  CHECK(r.one_send().body == "b");
}

TEST_CASE("a long message goes in parts, in order, and answers once") {
  Rig r;
  r.cfg.max_body = 10;
  r.start();
  CHECK_FALSE(r.submit("aaaa bbbb cccc dddd eeee", 8, true));
  CHECK(r.outbox() == 3);
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto s = r.one_send();
    bodies.push_back(s.body);
    r.accept(s, "SM" + std::to_string(i));
    if (i < 2) CHECK(r.io.outcomes.empty());  // no answer before the last part
  }
  CHECK(bodies == std::vector<std::string>{"aaaa bbbb", "cccc dddd", "eeee"});
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ok);
  CHECK(r.io.outcomes[0].ref == 8);

  // Too long altogether: refused at once.
  auto refused = r.submit(std::string(10 * 11, 'x'), 9);
  REQUIRE(refused);
  CHECK(refused->failure == Failure::NotAcceptable);
}

TEST_CASE("a refused part drops the parts after it, with one error") {
  Rig r;
  r.cfg.max_body = 10;
  r.start();
  r.submit("aaaa bbbb cccc dddd eeee", 8);
  r.submit("next one", 9);
  auto s = r.one_send();
  r.reply(s.id, Rig::answer(400, R"({"code":21610,"message":"Attempt to send to unsubscribed recipient"})"));
  REQUIRE(r.io.outcomes.size() == 1);
  CHECK(r.io.outcomes[0].ref == 8);
  CHECK(r.ob->queued() == 1);  // "next one" only
  auto next = r.one_send();
  CHECK(next.body == "next one");
}

TEST_CASE("a callback that overtakes the answer to our send") {
  Rig r;
  r.start();
  r.submit("quick", 1, true);
  auto s = r.one_send();
  CHECK(r.ob->on_status(r.status(s, Progress::Delivered, "SMq")));
  CHECK(r.io.outcomes.empty());  // the send's answer is still coming
  r.reply(s.id, Rig::answer(500));  // even a 500: the callback proved it was taken
  REQUIRE(r.io.outcomes.size() == 2);
  CHECK(r.io.outcomes[1].delivered);
  CHECK(r.outbox() == 0);
  r.advance(3'600'000);
  CHECK(r.sends().empty());
}

TEST_CASE("nothing is sent unless it was stored first") {
  Rig r;
  r.start();
  r.store.fail_enqueue = true;
  auto refused = r.submit("no disk", 2);
  REQUIRE(refused);
  CHECK(refused->failure == Failure::Internal);
  CHECK(refused->ref == 2);
  CHECK(r.sends().empty());
}

TEST_CASE("unknown callbacks are harmless; accepted records are bounded") {
  Rig r;
  r.cfg.max_tracked = 2;
  r.start();
  StatusReport stray;
  stray.ref = "nope";
  stray.provider_id = "SMnope";
  stray.progress = Progress::Delivered;
  CHECK_FALSE(r.ob->on_status(stray));
  for (int i = 0; i < 4; ++i) {
    r.submit("m" + std::to_string(i), static_cast<std::uint64_t>(i + 1));
    r.accept(r.one_send(), "SM" + std::to_string(i));
  }
  r.advance(1000);
  CHECK(r.ob->tracked() == 2);
  CHECK(r.store.states("sms.test", "ref/").size() == 2);
  // A report without our ref finds the message by the provider's id.
  StatusReport by_id;
  by_id.provider_id = "SM3";
  by_id.progress = Progress::Delivered;
  CHECK(r.ob->on_status(by_id));
  CHECK(r.ob->tracked() == 2);
  CHECK(r.ob->awaiting_reports() == 1);
}
