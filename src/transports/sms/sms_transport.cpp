#include "transports/sms/sms_transport.hpp"

#include <algorithm>
#include <random>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include "common/log.hpp"
#include "http/http_handler.hpp"
#include "transports/sms/e164.hpp"
#include "transports/sms/http_client.hpp"
#include "transports/sms/inbox.hpp"
#include "transports/sms/numbers.hpp"
#include "transports/sms/outbox.hpp"
#include "transports/sms/sms_config.hpp"

namespace sb::transport::sms {
namespace {

constexpr std::string_view kPhone = "phone";

std::uint64_t random_seed() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

// A sender that is not an E.164 number (a short code, an alphanumeric sender id)
// stays a contact, with what cannot be part of a JID removed.
std::string peer_of(std::string_view from) {
  if (auto n = normalise_e164(from)) return *n;
  std::string s;
  for (char c : from)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.' || c == '_') s.push_back(c);
  return s.substr(0, 64);
}

class SmsTransport final : public Transport, private OutboxIo {
 public:
  SmsTransport(Deps& deps, SmsConfig cfg, std::unique_ptr<Provider> provider)
      : executor_(deps.executor), clock_(deps.clock), store_(deps.store), domain_(deps.domain), cfg_(std::move(cfg)),
        provider_(std::move(provider)), book_(cfg_.numbers), boot_(std::to_string(random_seed())),
        outbox_(store_, domain_, clock_, *provider_, outbox_config(cfg_), *this, boot_, random_seed()),
        inbox_(store_, domain_, clock_), tick_timer_(deps.executor), wake_timer_(deps.executor),
        flush_timer_(deps.executor), log_(log::get(deps.domain)) {
    display_ = std::string("SMS gateway (") + std::string(provider_->name()) + ")";
  }

  ~SmsTransport() override {
    *self_ = nullptr;  // routes outlive us in the HTTP handler
    client_.reset();
  }

  // Adds the webhook routes; false when a path is taken.
  bool add_routes(http::HttpHandler& h) {
    auto self = self_;
    bool ok = h.add_route("POST", cfg_.webhook, [self](const http::HttpRequestFull& req, http::Respond respond) {
      if (!*self) return respond(http::text_response(503, "stopping\n"));
      (*self)->on_webhook(req, std::move(respond), false);
    });
    ok = h.add_route("POST", cfg_.webhook + "/status",
                     [self](const http::HttpRequestFull& req, http::Respond respond) {
                       if (!*self) return respond(http::text_response(503, "stopping\n"));
                       (*self)->on_webhook(req, std::move(respond), true);
                     }) && ok;
    return ok;
  }

  std::string_view kind() const override { return "sms"; }
  std::string_view display_name() const override { return display_; }
  const AddressCodec& addresses() const override { return codec_; }

  // ---- registration: claiming a pool number ---------------------------------

  std::vector<Field> registration_fields() const override {
    // Without a pool there is nothing to choose: an empty form registers.
    const bool pool = std::any_of(book_.all().begin(), book_.all().end(), [](auto& n) { return n.owner.empty(); });
    if (!pool) return {};
    Field f;
    f.var = std::string(kPhone);
    f.label = "Phone number";
    f.type = "list-single";
    f.options = book_.free_pool();
    f.desc = "A number of this gateway to send and receive SMS with (leave empty if your numbers are assigned to you)";
    return {f};
  }
  std::string registration_instructions() const override {
    return "Register to use this SMS gateway. Users with numbers assigned by the administrator need no field; "
           "others choose a free number.";
  }
  std::optional<std::string> validate_registration(std::string_view user, FieldValues& values) const override {
    for (auto& [k, v] : values) {
      if (k != kPhone || v.empty()) continue;
      auto n = normalise_e164(v, cfg_.default_country_code);
      if (!n) return "'" + v + "' is not a phone number.";
      if (auto why = book_.check_claim(user, *n)) return why;
      v = *n;
    }
    return std::nullopt;
  }
  bool requires_registration() const override { return false; }

  // ---- XEP-0100 --------------------------------------------------------------

  // The core words it "Enter the <prompt> of the contact you want to add."
  std::optional<std::string> gateway_prompt() const override { return "phone number"; }
  std::optional<std::string> gateway_resolve(std::string_view input) const override {
    return normalise_e164(input, cfg_.default_country_code);
  }

  // ---- disco, commands, stats ----------------------------------------------

  std::vector<Item> items(std::string_view user) const override {
    std::vector<Item> v;
    auto numbers = book_.numbers_of(user);
    for (std::size_t i = 0; i < numbers.size(); ++i)
      v.push_back(Item{numbers[i], "Your number " + numbers[i] + (i == 0 ? " (default)" : "")});
    return v;
  }
  std::vector<CommandInfo> commands() const override {
    return {CommandInfo{"numbers", "Your SMS numbers"}};
  }
  std::optional<CommandReport> run_command(std::string_view node, std::string_view user) const override {
    if (node != "numbers") return std::nullopt;
    CommandReport r;
    r.title = "Your numbers on " + domain_;
    auto numbers = book_.numbers_of(user);
    for (std::size_t i = 0; i < numbers.size(); ++i)
      r.lines.emplace_back(numbers[i], i == 0 ? "default: messages to +number@" + domain_ + " go out from it"
                                              : "send to +number@" + domain_ + "/" + numbers[i] + " to use it");
    r.note = numbers.empty() ? "You have no number on this gateway; register to claim one (" +
                                   std::to_string(book_.free_pool().size()) + " free)."
                             : std::to_string(book_.free_pool().size()) + " pool numbers are free.";
    return r;
  }
  std::vector<std::pair<std::string, std::string>> stats() const override {
    const auto up = outbox_.provider_up();
    return {{"provider", std::string(provider_->name()) + (up ? (*up ? " (reachable)" : " (unreachable)") : "")},
            {"outbox", std::to_string(outbox_.queued())},
            {"ambiguous sends", std::to_string(outbox_.ambiguous())},
            {"requests in flight", std::to_string(outbox_.in_flight())},
            {"awaiting delivery report", std::to_string(outbox_.awaiting_reports())},
            {"inbox", std::to_string(store_.queue_size(domain_, "inbox"))},
            {"numbers", std::to_string(book_.all().size()) + " (" + std::to_string(book_.free_pool().size()) + " free)"}};
  }

  // ---- lifecycle -------------------------------------------------------------

  void start(EventSink& sink) override {
    sink_ = &sink;
    client_ = std::make_unique<HttpClient>(executor_, cfg_.request_timeout_seconds,
                                           [this](HttpClient::Results r) { on_results(std::move(r)); });
    sink_->deliver(LinkState{false, std::string("contacting ") + std::string(provider_->name()) + " at " + cfg_.api_base});
    // SMS stored by the previous run and not proven delivered go first. They are
    // delivered once the core has replayed the registrations (right after start()),
    // so a claimed number is known as its owner's default.
    auto leftovers = inbox_.load();
    outbox_.load();
    started_ = true;
    boost::asio::post(executor_, [self = self_, leftovers = std::move(leftovers)] {
      if (!*self || (*self)->stopped_) return;
      if (!leftovers.empty()) (*self)->log_->info("delivering {} SMS kept from the previous run", leftovers.size());
      for (auto& [id, m] : leftovers) (*self)->deliver_inbound(m, id, true);
    });
    schedule_tick();
    arm_wake();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    outbox_.stop();
    inbox_.flush();
    tick_timer_.cancel();
    wake_timer_.cancel();
    flush_timer_.cancel();
    if (client_) client_->stop();
  }

  void delivered(std::uint64_t token) override {
    inbox_.delivered(static_cast<std::int64_t>(token));
    schedule_flush();
  }

  void send(Command cmd) override {
    if (auto* m = std::get_if<OutboundMessage>(&cmd)) return on_message(*m);
    if (auto* r = std::get_if<UserRegistered>(&cmd)) {
      std::string phone;
      for (auto& [k, v] : r->fields)
        if (k == kPhone) phone = v;
      if (!book_.set_claim(r->user, phone))
        log_->warn("{} registered with {}, which is no longer free for them (config changed?); not claimed", r->user,
                   phone);
      return;
    }
    if (auto* u = std::get_if<UserRemoved>(&cmd)) return book_.release(u->user);
  }

 private:
  static OutboxConfig outbox_config(const SmsConfig& c) {
    OutboxConfig o;
    o.rate_per_number = c.rate_per_number;
    o.max_body = static_cast<std::size_t>(c.max_body);
    o.retry_max_seconds = c.retry_max_seconds;
    o.give_up_seconds = c.give_up_seconds;
    o.ambiguous_seconds = c.ambiguous_seconds;
    return o;
  }

  // ---- XMPP -> SMS -----------------------------------------------------------

  void on_message(const OutboundMessage& m) {
    auto fail = [&](Failure f, std::string text) {
      sink_->deliver(SendOutcome{.ref = m.ref, .ok = false, .failure = f, .text = std::move(text), .origin = m.origin});
    };
    if (!sink_ || stopped_) return;
    if (!is_e164(m.peer)) return fail(Failure::BadRequest, m.peer + " is not a phone number in international format");
    // The contact's resource may pick another of the user's numbers; nobody sends
    // from a number that is not theirs (SPEC §10).
    std::string why;
    auto from = book_.sender(m.user, m.peer_resource, why);
    if (!from) return fail(Failure::Forbidden, why);
    if (m.body.empty()) return fail(Failure::NotAcceptable, "An SMS needs some text");
    if (auto refused = outbox_.submit(m, *from, m.peer)) sink_->deliver(std::move(*refused));
    arm_wake();
  }

  // OutboxIo
  void request(std::uint64_t id, HttpCall call) override {
    if (client_) client_->submit(id, std::move(call));
  }
  void outcome(SendOutcome o) override {
    if (sink_) sink_->deliver(std::move(o));
  }
  void link(bool up, std::string text) override {
    log_->info("{}", text);
    if (sink_) sink_->deliver(LinkState{up, std::move(text)});
  }

  void on_results(HttpClient::Results r) {
    if (stopped_) return;
    outbox_.on_results(std::move(r));
    arm_wake();
  }

  // ---- SMS -> XMPP -----------------------------------------------------------

  void on_webhook(const http::HttpRequestFull& req, http::Respond respond, bool status_route) {
    if (!started_ || stopped_) return respond(http::text_response(503, "not running\n"));
    // The URL the provider signed: the configured public URL of this route, query included.
    std::string url = cfg_.public_url + (status_route ? "/status" : "");
    if (!req.query().empty()) url.append("?").append(req.query());
    if (auto why = provider_->verify(req, url, clock_.unix_ms() / 1000)) {
      log_->warn("webhook {} refused (403): {}", req.path(), *why);
      return respond(http::text_response(403, "bad signature\n"));
    }
    Webhook w = provider_->parse_webhook(req, status_route);
    switch (w.kind) {
      case Webhook::Bad:
        log_->warn("webhook {}: {} (400)", req.path(), w.error);
        return respond(http::text_response(400, w.error + "\n"));
      case Webhook::Ignored: return respond(http::text_response(200, ""));
      case Webhook::Status:
        if (!outbox_.on_status(*w.status))
          log_->debug("status '{}' for an unknown message ({} {})", w.status->status, w.status->ref,
                      w.status->provider_id);
        arm_wake();
        return respond(http::text_response(200, ""));
      case Webhook::Inbound: return on_inbound(*w.inbound, std::move(respond));
    }
  }

  void on_inbound(const InboundSms& in, http::Respond respond) {
    auto to = normalise_e164(in.to);
    auto owner = to ? book_.owner_of(*to) : std::nullopt;
    if (!owner) {
      log_->warn("SMS to {}, which nobody owns on this gateway: refused (404)", in.to);
      return respond(http::text_response(404, "no such number here\n"));
    }
    StoredInbound m;
    m.provider_id = in.provider_id;
    m.user = *owner;
    m.from = peer_of(in.from);
    m.to = *to;
    m.text = in.text;
    m.media = in.media;
    m.received_ms = clock_.unix_ms();
    if (m.from.empty()) {
      log_->warn("SMS {} from an unusable sender '{}': refused (400)", in.provider_id, in.from);
      return respond(http::text_response(400, "unusable From\n"));
    }
    std::int64_t id = 0;
    switch (inbox_.accept(m, id)) {
      case Inbox::Result::Duplicate:
        log_->info("SMS {} again (a provider retry): already taken", m.provider_id);
        return respond(provider_->inbound_ok());
      case Inbox::Result::Failed:
        log_->error("could not store SMS {} from {}: answered 500, the provider will retry", m.provider_id, m.from);
        return respond(http::text_response(500, "could not store the message\n"));
      case Inbox::Result::Stored: break;
    }
    // Durable: only now may the provider forget it (SPEC §8).
    respond(provider_->inbound_ok());
    schedule_flush();
    deliver_inbound(m, id, false);
  }

  void deliver_inbound(const StoredInbound& m, std::int64_t id, bool replayed) {
    for (auto& msg : inbound_messages(m, static_cast<std::uint64_t>(id), book_.default_of(m.user), replayed))
      sink_->deliver(std::move(msg));
  }

  // ---- timers ----------------------------------------------------------------

  void schedule_tick() {
    tick_timer_.expires_after(std::chrono::seconds(1));
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      outbox_.tick();
      if (inbox_.dirty()) inbox_.flush();
      arm_wake();
      schedule_tick();
    });
  }

  // The outbox's next deadline (a retry, a rate-limited send, an ambiguous send's
  // look-up), sooner than the 1 s tick.
  void arm_wake() {
    if (stopped_) return;
    auto due = outbox_.next_due_ms();
    if (!due) return;
    const auto delay = std::max<std::int64_t>(0, *due - clock_.unix_ms());
    if (wake_armed_ && wake_at_ <= *due) return;
    wake_armed_ = true;
    wake_at_ = *due;
    wake_timer_.expires_after(std::chrono::milliseconds(delay));
    wake_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: re-armed sooner, or stopping
      wake_armed_ = false;
      if (stopped_) return;
      outbox_.tick();
      arm_wake();
    });
  }

  // Seen-marks and delivered inbox items: one transaction per 100 ms.
  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(100));
    flush_timer_.async_wait([this](const boost::system::error_code& ec) {
      flush_scheduled_ = false;
      if (!ec) inbox_.flush();
    });
  }

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  Store& store_;
  std::string domain_;
  SmsConfig cfg_;
  std::unique_ptr<Provider> provider_;
  NumberBook book_;
  E164Codec codec_;
  std::string boot_;
  std::string display_;
  Outbox outbox_;
  Inbox inbox_;
  std::unique_ptr<HttpClient> client_;
  EventSink* sink_ = nullptr;
  boost::asio::steady_timer tick_timer_, wake_timer_, flush_timer_;
  bool wake_armed_ = false;
  std::int64_t wake_at_ = 0;
  bool flush_scheduled_ = false;
  bool started_ = false;
  bool stopped_ = false;
  std::shared_ptr<SmsTransport*> self_ = std::make_shared<SmsTransport*>(this);
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

FactoryEntry factory() {
  return FactoryEntry{"sms", [](ConfigReader& block, Deps& deps) -> std::unique_ptr<Transport> {
                        auto cfg = parse_sms_config(block, deps.http != nullptr);
                        if (!cfg) return nullptr;
                        ProviderSettings s{cfg->api_base, cfg->account, cfg->token, cfg->public_url, cfg->public_key,
                                           cfg->messaging_profile_id};
                        auto provider = cfg->provider == ProviderKind::Twilio ? make_twilio(std::move(s))
                                                                              : make_telnyx(std::move(s));
                        auto t = std::make_unique<SmsTransport>(deps, std::move(*cfg), std::move(provider));
                        if (!t->add_routes(*deps.http)) {
                          block.problem("webhook", "the path (or its /status route) is already used by another route "
                                                   "of the [http] listener");
                          return nullptr;
                        }
                        return t;
                      }};
}

}  // namespace sb::transport::sms
