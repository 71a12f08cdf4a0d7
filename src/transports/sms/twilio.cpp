// Twilio's Programmable Messaging API (https://www.twilio.com/docs/messaging/api):
//   send:    POST {api_base}/2010-04-01/Accounts/{account}/Messages.json, Basic auth
//            account:token, form fields To, From, Body, StatusCallback -> 201
//            {"sid": "SM...", "status": "queued", ...}; errors {"code", "message"}.
//   look-up: GET .../Messages.json?To=..&From=..&PageSize=50 -> {"messages": [...]}.
//   inbound: form POST with MessageSid, AccountSid, From, To, Body, NumMedia,
//            MediaUrl0.., signed with X-Twilio-Signature; answered with TwiML.
//   status:  form POST to StatusCallback with MessageSid, MessageStatus, ErrorCode.
#include <charconv>
#include <nlohmann/json.hpp>

#include "transports/sms/form.hpp"
#include "transports/sms/provider.hpp"
#include "transports/sms/signature.hpp"

namespace sb::transport::sms {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return {};
}

// The Twilio error codes a user is most likely to meet on a delivery report
// (https://www.twilio.com/docs/api/errors).
std::string describe(std::string_view code) {
  if (code == "30001") return "queue overflow";
  if (code == "30002") return "account suspended";
  if (code == "30003") return "unreachable destination handset";
  if (code == "30004") return "message blocked";
  if (code == "30005") return "unknown destination handset";
  if (code == "30006") return "landline or unreachable carrier";
  if (code == "30007") return "message filtered by the carrier";
  if (code == "30008") return "unknown error";
  return "message not delivered";
}

Progress progress_of(std::string_view s) {
  if (s == "delivered" || s == "read") return Progress::Delivered;
  if (s == "failed" || s == "undelivered" || s == "canceled") return Progress::Failed;
  return Progress::Accepted;  // accepted, scheduled, queued, sending, sent, receiving, received
}

StatusReport report(std::string sid, std::string status, std::string_view error_code) {
  StatusReport r;
  r.provider_id = std::move(sid);
  r.progress = progress_of(status);
  if (r.progress == Progress::Failed) {
    r.text = error_code.empty() || error_code == "0"
                 ? "Twilio reported the message " + status
                 : "Twilio error " + std::string(error_code) + ": " + describe(error_code) + " (" + status + ")";
  }
  r.status = std::move(status);
  return r;
}

class Twilio final : public Provider {
 public:
  explicit Twilio(ProviderSettings s) : s_(std::move(s)) {
    auth_ = "Basic " + base64_encode(s_.account + ":" + s_.token);
    messages_url_ = s_.api_base + "/2010-04-01/Accounts/" + url_encode(s_.account) + "/Messages.json";
  }

  std::string_view name() const override { return "Twilio"; }

  HttpCall send_call(const SmsPart& p, std::string_view ref) const override {
    HttpCall c;
    c.method = "POST";
    c.url = messages_url_;
    c.headers = {{"Authorization", auth_},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
    c.body = form_encode({{"To", p.to},
                          {"From", p.from},
                          {"Body", p.body},
                          {"StatusCallback", s_.public_url + "/status?ref=" + std::string(ref)}});
    return c;
  }

  SendResult classify_send(const HttpResult& r) const override {
    SendResult out;
    out.verdict = verdict_of(r);
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object()) j = json::object();
    switch (out.verdict) {
      case Verdict::Accepted: out.provider_id = str(j, "sid"); break;
      case Verdict::Failed: {
        out.failure = failure_of_status(r.status);
        std::string code = str(j, "code"), message = str(j, "message");
        if (code.empty()) code = std::to_string(r.status);
        if (message.empty()) message = r.body.empty() ? "HTTP " + std::to_string(r.status) : excerpt(r.body);
        out.text = "Twilio error " + code + ": " + message;
        break;
      }
      case Verdict::Retry:
      case Verdict::Ambiguous:
        out.text = r.status ? "HTTP " + std::to_string(r.status) : r.error;
        break;
    }
    return out;
  }

  std::optional<HttpCall> lookup_call(const SmsPart& p) const override {
    HttpCall c;
    c.url = messages_url_ + "?To=" + url_encode(p.to) + "&From=" + url_encode(p.from) + "&PageSize=50";
    c.headers = {{"Authorization", auth_}, {"Accept", "application/json"}};
    return c;
  }

  LookupResult classify_lookup(const HttpResult& r, const SmsPart& p, std::int64_t since_ms,
                               const std::set<std::string>& known) const override {
    LookupResult out;
    if (r.status != 200) {
      out.text = r.status ? "look-up answered HTTP " + std::to_string(r.status) : "look-up failed: " + r.error;
      return out;
    }
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
      out.text = "look-up answer without a \"messages\" list";
      return out;
    }
    out.kind = LookupResult::NotFound;
    for (const auto& m : j["messages"]) {
      if (!m.is_object()) continue;
      std::string sid = str(m, "sid");
      if (sid.empty() || known.count(sid)) continue;
      if (str(m, "body") != p.body) continue;
      if (auto to = str(m, "to"); !to.empty() && to != p.to) continue;
      if (auto from = str(m, "from"); !from.empty() && from != p.from) continue;
      // An unreadable date cannot prove the message is older: count it as ours
      // (a person must never get the same text twice).
      if (auto created = parse_date_ms(str(m, "date_created")); created && *created < since_ms) continue;
      out.kind = LookupResult::Found;
      out.provider_id = sid;
      out.status = report(sid, str(m, "status"), str(m, "error_code"));
      return out;
    }
    return out;
  }

  HttpCall probe_call() const override {
    HttpCall c;
    c.url = s_.api_base + "/2010-04-01/Accounts/" + url_encode(s_.account) + ".json";
    c.headers = {{"Authorization", auth_}, {"Accept", "application/json"}};
    return c;
  }

  std::optional<std::string> verify(const http::HttpRequestFull& req, std::string_view url,
                                    std::int64_t) const override {
    const std::string* sig = req.headers.find("X-Twilio-Signature");
    if (!sig) return "no X-Twilio-Signature header";
    auto params = form_decode(req.body);
    if (!params) return "the body is not form-encoded";
    if (!twilio_signature_valid(url, *params, s_.token, *sig)) return "X-Twilio-Signature does not match";
    return std::nullopt;
  }

  Webhook parse_webhook(const http::HttpRequestFull& req, bool status_route) const override {
    Webhook w;
    auto f = form_decode(req.body);
    if (!f) {
      w.error = "the body is not form-encoded";
      return w;
    }
    auto get = [&](std::string_view k) {
      const std::string* v = form_get(*f, k);
      return v ? *v : std::string();
    };
    std::string sid = get("MessageSid");
    if (sid.empty()) sid = get("SmsSid");
    if (sid.empty() || sid.size() > 128) {
      w.error = "no usable MessageSid";
      return w;
    }
    if (status_route) {
      std::string status = get("MessageStatus");
      if (status.empty()) status = get("SmsStatus");
      if (status.empty()) {
        w.error = "a status callback without MessageStatus";
        return w;
      }
      w.kind = Webhook::Status;
      w.status = report(sid, status, get("ErrorCode"));
      w.status->ref = query_param(req.query(), "ref").value_or("");
      return w;
    }
    InboundSms in;
    in.provider_id = sid;
    in.from = get("From");
    in.to = get("To");
    in.text = get("Body");
    if (in.from.empty() || in.to.empty()) {
      w.error = "an inbound message without From or To";
      return w;
    }
    int n = 0;
    const std::string num_media = get("NumMedia");
    std::from_chars(num_media.data(), num_media.data() + num_media.size(), n);
    for (int i = 0; i < std::min(n, 10); ++i)
      if (auto u = get("MediaUrl" + std::to_string(i)); !u.empty()) in.media.push_back(u);
    w.kind = Webhook::Inbound;
    w.inbound = std::move(in);
    return w;
  }

  http::HttpResponse inbound_ok() const override {
    http::HttpResponse r;
    r.content_type = "text/xml";
    r.body = "<Response/>";  // TwiML: no reply message
    return r;
  }

 private:
  ProviderSettings s_;
  std::string auth_, messages_url_;
};

}  // namespace

std::unique_ptr<Provider> make_twilio(ProviderSettings s) { return std::make_unique<Twilio>(std::move(s)); }

}  // namespace sb::transport::sms
