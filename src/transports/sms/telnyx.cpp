// Telnyx Messaging API v2 (https://developers.telnyx.com/api/messaging):
//   send:    POST {api_base}/v2/messages, "Authorization: Bearer <API key>", JSON
//            {"from", "to", "text", "webhook_url", "use_profile_webhooks": false,
//            "messaging_profile_id"?} -> 200 {"data": {"id": "...", ...}};
//            errors {"errors": [{"code", "title", "detail"}]}.
//   webhooks: JSON {"data": {"event_type", "id", "payload": {...}}}, signed with
//            telnyx-signature-ed25519 over telnyx-timestamp + "|" + body.
//            message.received (inbound), message.sent and message.finalized
//            (delivery: payload.to[0].status delivered / delivery_failed /
//            sending_failed / delivery_unconfirmed).
// Telnyx offers no look-up of a message by its content: an ambiguous send is
// resolved by its webhook only.
#include <charconv>
#include <nlohmann/json.hpp>

#include "transports/sms/form.hpp"
#include "transports/sms/provider.hpp"
#include "transports/sms/signature.hpp"

namespace sb::transport::sms {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return {};
}

const json& at(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// "Telnyx error 40310: Invalid 'to' address (The 'to' number is not valid)".
std::string error_text(const json& errors, int status) {
  const json& e = errors.is_array() && !errors.empty() ? errors[0] : json();
  std::string code = str(e, "code"), title = str(e, "title"), detail = str(e, "detail");
  if (code.empty()) code = std::to_string(status);
  std::string message = title.empty() ? detail : detail.empty() || detail == title ? title : title + " (" + detail + ")";
  if (message.empty()) message = "HTTP " + std::to_string(status);
  return "Telnyx error " + code + ": " + message;
}

class Telnyx final : public Provider {
 public:
  explicit Telnyx(ProviderSettings s) : s_(std::move(s)) {}

  std::string_view name() const override { return "Telnyx"; }

  HttpCall send_call(const SmsPart& p, std::string_view ref) const override {
    HttpCall c;
    c.method = "POST";
    c.url = s_.api_base + "/v2/messages";
    c.headers = {{"Authorization", "Bearer " + s_.token},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
    json j = {{"from", p.from},
              {"to", p.to},
              {"text", p.body},
              {"webhook_url", s_.public_url + "/status?ref=" + std::string(ref)},
              {"use_profile_webhooks", false}};
    if (!s_.messaging_profile_id.empty()) j["messaging_profile_id"] = s_.messaging_profile_id;
    c.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return c;
  }

  SendResult classify_send(const HttpResult& r) const override {
    SendResult out;
    out.verdict = verdict_of(r);
    json j = json::parse(r.body, nullptr, false);
    switch (out.verdict) {
      case Verdict::Accepted: out.provider_id = str(at(j, "data"), "id"); break;
      case Verdict::Failed:
        out.failure = failure_of_status(r.status);
        out.text = j.is_object() ? error_text(at(j, "errors"), r.status)
                                 : "Telnyx error " + std::to_string(r.status) + ": " +
                                       (r.body.empty() ? "HTTP " + std::to_string(r.status) : excerpt(r.body));
        break;
      case Verdict::Retry:
      case Verdict::Ambiguous: out.text = r.status ? "HTTP " + std::to_string(r.status) : r.error; break;
    }
    return out;
  }

  std::optional<HttpCall> lookup_call(const SmsPart&) const override { return std::nullopt; }
  LookupResult classify_lookup(const HttpResult&, const SmsPart&, std::int64_t, const std::set<std::string>&) const override {
    return LookupResult{LookupResult::Error, {}, std::nullopt, "Telnyx has no look-up"};
  }

  HttpCall probe_call() const override {
    HttpCall c;
    c.url = s_.api_base + "/v2/balance";
    c.headers = {{"Authorization", "Bearer " + s_.token}, {"Accept", "application/json"}};
    return c;
  }

  std::optional<std::string> verify(const http::HttpRequestFull& req, std::string_view, std::int64_t now_s) const override {
    const std::string* sig = req.headers.find("telnyx-signature-ed25519");
    const std::string* ts = req.headers.find("telnyx-timestamp");
    if (!sig || !ts) return "no telnyx-signature-ed25519 / telnyx-timestamp header";
    std::int64_t t = 0;
    auto [end, ec] = std::from_chars(ts->data(), ts->data() + ts->size(), t);
    if (ec != std::errc() || end != ts->data() + ts->size()) return "telnyx-timestamp is not a number";
    // A replayed request: signed more than 5 minutes ago (or in the future).
    if (t < now_s - 300 || t > now_s + 300) return "telnyx-timestamp is more than 300 s off";
    if (!telnyx_signature_valid(s_.public_key, *ts, req.body, *sig)) return "telnyx-signature-ed25519 does not match";
    return std::nullopt;
  }

  Webhook parse_webhook(const http::HttpRequestFull& req, bool status_route) const override {
    Webhook w;
    json j = json::parse(req.body, nullptr, false);
    const json& data = at(j, "data");
    const json& payload = at(data, "payload");
    const std::string type = str(data, "event_type");
    if (!payload.is_object() || type.empty()) {
      w.error = "not a Telnyx event (no data.event_type / data.payload)";
      return w;
    }
    const std::string id = str(payload, "id");
    if (id.empty() || id.size() > 128) {
      w.error = "no usable data.payload.id";
      return w;
    }
    if (type == "message.received" && !status_route) {
      InboundSms in;
      in.provider_id = id;
      in.from = str(at(payload, "from"), "phone_number");
      const json& to = at(payload, "to");
      if (to.is_array() && !to.empty()) in.to = str(to[0], "phone_number");
      in.text = str(payload, "text");
      const json& media = at(payload, "media");
      if (media.is_array())
        for (const auto& m : media)
          if (auto u = str(m, "url"); !u.empty() && in.media.size() < 10) in.media.push_back(u);
      if (in.from.empty() || in.to.empty()) {
        w.error = "message.received without from/to phone numbers";
        return w;
      }
      w.kind = Webhook::Inbound;
      w.inbound = std::move(in);
      return w;
    }
    if (type != "message.sent" && type != "message.finalized") {
      w.kind = Webhook::Ignored;
      return w;
    }
    StatusReport r;
    r.provider_id = id;
    r.ref = query_param(req.query(), "ref").value_or("");
    const json& to = at(payload, "to");
    r.status = to.is_array() && !to.empty() ? str(to[0], "status") : std::string();
    if (r.status.empty()) r.status = type == "message.sent" ? "sent" : "finalized";
    if (r.status == "delivered") {
      r.progress = Progress::Delivered;
    } else if (r.status == "delivery_failed" || r.status == "sending_failed") {
      r.progress = Progress::Failed;
      const json& errors = at(payload, "errors");
      r.text = errors.is_array() && !errors.empty() ? error_text(errors, 0) + " (" + r.status + ")"
                                                     : "Telnyx reported the message " + r.status;
    } else if (type == "message.finalized") {
      r.progress = Progress::Final;  // delivery_unconfirmed: no receipt, no error
    } else {
      r.progress = Progress::Accepted;
    }
    w.kind = Webhook::Status;
    w.status = std::move(r);
    return w;
  }

  http::HttpResponse inbound_ok() const override {
    http::HttpResponse r;
    r.body.clear();
    return r;
  }

 private:
  ProviderSettings s_;
};

}  // namespace

std::unique_ptr<Provider> make_telnyx(ProviderSettings s) { return std::make_unique<Telnyx>(std::move(s)); }

}  // namespace sb::transport::sms
