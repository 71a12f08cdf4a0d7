// An SMS provider's HTTP API as values (SPEC §8: "providers are plugins behind one
// interface"). Pure: a Provider builds requests and reads answers and webhooks; the
// curl edge (http_client.hpp) moves the bytes. Implementations: twilio.cpp, telnyx.cpp.
//
// Our reference ("ref") travels in the status-callback URL of every send, as
// `public_url + "/status?ref=" + ref`, so a callback names the outbox entry it is
// about even when the answer to the send itself was lost (SPEC §8, ambiguous sends).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "http/http_handler.hpp"
#include "transports/api/events.hpp"

namespace sb::transport::sms {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What came back. status 0: no HTTP answer; `reached` then says whether the request
// may have been received by the provider (bytes of it were sent), which decides
// between a safe retry and an ambiguous send.
struct HttpResult {
  int status = 0;
  bool reached = false;
  std::string body;
  std::string retry_after;  // the header, verbatim
  std::string error;        // transport error text when status == 0
};

// One SMS to send (a part of a user's message, after splitting).
struct SmsPart {
  std::string from, to, body;
};

enum class Verdict {
  Accepted,   // the provider has it (2xx)
  Retry,      // it certainly did not reach the provider (429, refused, DNS, connect timeout, 408)
  Failed,     // refused for good (4xx): tell the user
  Ambiguous,  // 5xx or a timeout after sending: it may have been accepted
};

struct SendResult {
  Verdict verdict = Verdict::Failed;
  std::string provider_id;                   // Accepted
  Failure failure = Failure::NotAcceptable;  // Failed
  std::string text;                          // Failed: "<Provider> error <code>: <message>"; else a log note
  std::optional<std::int64_t> retry_after_s; // Retry: the provider asked for this pause
};

// A delivery report (status callback), or a look-up's view of a message.
enum class Progress {
  Accepted,   // queued, sending, sent: the provider has it, no final word yet
  Delivered,  // the handset has it: XEP-0184 receipt
  Failed,     // failed, undelivered: error to the user
  Final,      // finished without a delivery report (e.g. Telnyx delivery_unconfirmed)
};

struct StatusReport {
  std::string ref;          // our ref from the callback URL's query ("" when absent)
  std::string provider_id;  // the provider's message id
  Progress progress = Progress::Accepted;
  std::string status;       // the provider's word ("delivered", "undelivered", ...)
  std::string text;         // Failed: "<Provider> error <code>: <description>"
};

struct LookupResult {
  enum Kind { Found, NotFound, Error } kind = Error;
  std::string provider_id;  // Found
  std::optional<StatusReport> status;  // Found: the message's state, when the answer says
  std::string text;         // Error: why
};

// An inbound SMS/MMS as the provider reported it.
struct InboundSms {
  std::string provider_id;  // dedupe key
  std::string from, to;     // as sent (normalised by the caller)
  std::string text;
  std::vector<std::string> media;  // URLs, in order
};

// What a webhook POST turned out to be, after the signature check.
struct Webhook {
  enum Kind { Bad, Ignored, Inbound, Status } kind = Bad;
  std::string error;                 // Bad: why (logged; 400)
  std::optional<InboundSms> inbound;
  std::optional<StatusReport> status;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;  // "Twilio"

  virtual HttpCall send_call(const SmsPart& part, std::string_view ref) const = 0;
  virtual SendResult classify_send(const HttpResult& r) const = 0;

  // A look-up of a message whose send was ambiguous; nullopt: the provider offers
  // none, the outcome is then reported as unknown (never re-sent).
  virtual std::optional<HttpCall> lookup_call(const SmsPart& part) const = 0;
  // `since_ms`: messages created before this (unix ms) are not ours; `known`:
  // provider ids already accounted for (an identical earlier text).
  virtual LookupResult classify_lookup(const HttpResult& r, const SmsPart& part, std::int64_t since_ms,
                                       const std::set<std::string>& known) const = 0;

  // A cheap authenticated GET: any HTTP answer shows the provider reachable.
  virtual HttpCall probe_call() const = 0;

  // Signature check of a webhook POST. `url` is the URL the provider called (the
  // configured public URL + the route's suffix + "?" + query); `now_s` unix seconds.
  // Returns an error text (for the log) when not authentic.
  virtual std::optional<std::string> verify(const http::HttpRequestFull& req, std::string_view url,
                                            std::int64_t now_s) const = 0;
  // `status_route`: the POST came to the status-callback route.
  virtual Webhook parse_webhook(const http::HttpRequestFull& req, bool status_route) const = 0;
  // The 200 that tells the provider an inbound message was taken.
  virtual http::HttpResponse inbound_ok() const = 0;
};

struct ProviderSettings {
  std::string api_base;  // no trailing '/'
  std::string account;   // Twilio Account SID
  std::string token;     // Twilio auth token / Telnyx API key
  std::string public_url;
  std::string public_key;  // Telnyx: raw 32-byte Ed25519 key
  std::string messaging_profile_id;
};

std::unique_ptr<Provider> make_twilio(ProviderSettings s);
std::unique_ptr<Provider> make_telnyx(ProviderSettings s);

// ---- shared pieces (provider.cpp) ------------------------------------------------

// RFC 2822 / RFC 7231 dates ("Wed, 18 Aug 2010 20:01:40 +0000", "Sun, 06 Nov 1994
// 08:49:37 GMT") and ISO 8601 ("2010-08-18T20:01:40Z", "+00:00", fractions) -> unix ms.
std::optional<std::int64_t> parse_date_ms(std::string_view s);
// Retry-After: delta-seconds or an HTTP date; seconds from now.
std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);
// The query parameter `name` of a query string ("ref=abc&x=1"), decoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name);
// Failure category of a 4xx answer: 401/403 Forbidden, the rest NotAcceptable.
Failure failure_of_status(int status);
// Verdict of an answer that is not 2xx (status 0 included), before reading its body.
Verdict verdict_of(const HttpResult& r);
// A short, printable excerpt of a body for messages and logs.
std::string excerpt(std::string_view body, std::size_t max = 200);

}  // namespace sb::transport::sms
