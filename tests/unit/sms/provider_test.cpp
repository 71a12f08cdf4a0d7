#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include "transports/sms/form.hpp"
#include "transports/sms/provider.hpp"
#include "transports/sms/signature.hpp"

using namespace sb::transport::sms;
using sb::transport::Failure;
using nlohmann::json;

namespace {
ProviderSettings twilio_settings() {
  return ProviderSettings{"http://127.0.0.1:9000", "AC123", "tok", "https://gw.example.org/sms/twilio", "", ""};
}
std::string header(const HttpCall& c, std::string_view name) {
  for (auto& [k, v] : c.headers)
    if (k == name) return v;
  return {};
}
HttpResult answer(int status, std::string body = {}) {
  HttpResult r;
  r.status = status;
  r.reached = true;
  r.body = std::move(body);
  return r;
}
sb::http::HttpRequestFull post(std::string target, std::string body) {
  sb::http::HttpRequestFull r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}
const SmsPart kPart{"+15550001111", "+15557654321", "hello there"};
}  // namespace

TEST_CASE("Twilio: the send request") {
  auto p = make_twilio(twilio_settings());
  auto c = p->send_call(kPart, "r0f");
  CHECK(c.method == "POST");
  CHECK(c.url == "http://127.0.0.1:9000/2010-04-01/Accounts/AC123/Messages.json");
  CHECK(header(c, "Authorization") == "Basic " + base64_encode("AC123:tok"));
  CHECK(header(c, "Content-Type") == "application/x-www-form-urlencoded");
  auto f = form_decode(c.body);
  REQUIRE(f);
  CHECK(*form_get(*f, "To") == "+15557654321");
  CHECK(*form_get(*f, "From") == "+15550001111");
  CHECK(*form_get(*f, "Body") == "hello there");
  CHECK(*form_get(*f, "StatusCallback") == "https://gw.example.org/sms/twilio/status?ref=r0f");
}

TEST_CASE("Twilio: answers to a send") {
  auto p = make_twilio(twilio_settings());
  auto ok = p->classify_send(answer(201, R"({"sid":"SM42","status":"queued"})"));
  CHECK(ok.verdict == Verdict::Accepted);
  CHECK(ok.provider_id == "SM42");

  auto bad = p->classify_send(answer(400, R"({"code":21211,"message":"The 'To' number is not valid.","status":400})"));
  CHECK(bad.verdict == Verdict::Failed);
  CHECK(bad.failure == Failure::NotAcceptable);
  CHECK(bad.text == "Twilio error 21211: The 'To' number is not valid.");

  auto auth = p->classify_send(answer(401, R"({"code":20003,"message":"Authenticate"})"));
  CHECK(auth.failure == Failure::Forbidden);
  CHECK(auth.text == "Twilio error 20003: Authenticate");
  CHECK(p->classify_send(answer(403, "")).failure == Failure::Forbidden);
  CHECK(p->classify_send(answer(404, "<html>")).text == "Twilio error 404: <html>");

  CHECK(p->classify_send(answer(429, R"({"code":20429})")).verdict == Verdict::Retry);
  CHECK(p->classify_send(answer(408)).verdict == Verdict::Retry);
  CHECK(p->classify_send(answer(500)).verdict == Verdict::Ambiguous);
  CHECK(p->classify_send(answer(503)).verdict == Verdict::Ambiguous);

  HttpResult refused;  // no connection: it never reached Twilio
  refused.error = "Couldn't connect to server";
  CHECK(p->classify_send(refused).verdict == Verdict::Retry);
  HttpResult timeout;  // sent, then no answer
  timeout.reached = true;
  CHECK(p->classify_send(timeout).verdict == Verdict::Ambiguous);
  // 2xx without a readable body: the provider has it all the same.
  CHECK(p->classify_send(answer(201, "garbage")).verdict == Verdict::Accepted);
}

TEST_CASE("Twilio: the look-up of an ambiguous send") {
  auto p = make_twilio(twilio_settings());
  auto c = p->lookup_call(kPart);
  REQUIRE(c);
  CHECK(c->method == "GET");
  CHECK(c->url ==
        "http://127.0.0.1:9000/2010-04-01/Accounts/AC123/Messages.json?To=%2B15557654321&From=%2B15550001111&PageSize=50");
  CHECK(header(*c, "Authorization") == "Basic " + base64_encode("AC123:tok"));

  const std::int64_t since = *parse_date_ms("Tue, 21 Nov 2023 10:00:00 +0000");
  auto msg = [](std::string sid, std::string body, std::string date) {
    return json{{"sid", sid}, {"body", body}, {"date_created", date}, {"to", "+15557654321"},
                {"from", "+15550001111"}, {"status", "sent"}};
  };
  json list = {{"messages", json::array({msg("SMnew", "other text", "Tue, 21 Nov 2023 10:05:00 +0000"),
                                         msg("SMold", "hello there", "Tue, 21 Nov 2023 09:00:00 +0000"),
                                         msg("SMours", "hello there", "Tue, 21 Nov 2023 10:00:30 +0000")})}};
  auto found = p->classify_lookup(answer(200, list.dump()), kPart, since, {});
  CHECK(found.kind == LookupResult::Found);
  CHECK(found.provider_id == "SMours");
  REQUIRE(found.status);
  CHECK(found.status->progress == Progress::Accepted);

  // The same text sent earlier (already accounted for) is not ours.
  CHECK(p->classify_lookup(answer(200, list.dump()), kPart, since, {"SMours"}).kind == LookupResult::NotFound);
  // Older than the attempt: not ours.
  json old = {{"messages", json::array({msg("SMold", "hello there", "Tue, 21 Nov 2023 09:59:00 +0000")})}};
  CHECK(p->classify_lookup(answer(200, old.dump()), kPart, since, {}).kind == LookupResult::NotFound);
  // An unreadable date cannot prove it older: counted as ours (never a duplicate).
  json odd = {{"messages", json::array({msg("SMx", "hello there", "yesterday")})}};
  CHECK(p->classify_lookup(answer(200, odd.dump()), kPart, since, {}).kind == LookupResult::Found);
  CHECK(p->classify_lookup(answer(200, R"({"messages":[]})"), kPart, since, {}).kind == LookupResult::NotFound);
  CHECK(p->classify_lookup(answer(500), kPart, since, {}).kind == LookupResult::Error);
  CHECK(p->classify_lookup(answer(200, "{}"), kPart, since, {}).kind == LookupResult::Error);
  // A delivered message found: its state comes along.
  json done = {{"messages", json::array({msg("SMd", "hello there", "Tue, 21 Nov 2023 10:00:01 +0000")})}};
  done["messages"][0]["status"] = "delivered";
  auto d = p->classify_lookup(answer(200, done.dump()), kPart, since, {});
  CHECK(d.status->progress == Progress::Delivered);
}

TEST_CASE("Twilio: inbound webhook, signature over the public URL") {
  auto p = make_twilio(twilio_settings());
  FormFields params = {{"MessageSid", "SM9"}, {"AccountSid", "AC123"}, {"From", "+15557654321"},
                       {"To", "+15550001111"}, {"Body", "hi <3"},     {"NumMedia", "2"},
                       {"MediaUrl0", "https://m/1"}, {"MediaContentType0", "image/jpeg"},
                       {"MediaUrl1", "https://m/2"}, {"MediaContentType1", "image/png"}};
  auto req = post("/sms/twilio", form_encode(params));
  const std::string url = "https://gw.example.org/sms/twilio";
  CHECK(p->verify(req, url, 0) == "no X-Twilio-Signature header");
  req.headers.add("X-Twilio-Signature", twilio_signature(url, params, "tok"));
  CHECK_FALSE(p->verify(req, url, 0));
  CHECK(p->verify(req, url + "/", 0));  // another URL: refused
  auto w = p->parse_webhook(req, false);
  REQUIRE(w.kind == Webhook::Inbound);
  CHECK(w.inbound->provider_id == "SM9");
  CHECK(w.inbound->from == "+15557654321");
  CHECK(w.inbound->to == "+15550001111");
  CHECK(w.inbound->text == "hi <3");
  CHECK(w.inbound->media == std::vector<std::string>{"https://m/1", "https://m/2"});
  CHECK(p->inbound_ok().body == "<Response/>");
  CHECK(p->inbound_ok().content_type == "text/xml");
  CHECK(p->parse_webhook(post("/sms/twilio", "From=%2B1"), false).kind == Webhook::Bad);
}

TEST_CASE("Twilio: status callbacks") {
  auto p = make_twilio(twilio_settings());
  auto status = [&](std::string st, std::string code = {}) {
    FormFields f = {{"MessageSid", "SM1"}, {"MessageStatus", st}};
    if (!code.empty()) f.emplace_back("ErrorCode", code);
    auto w = p->parse_webhook(post("/sms/twilio/status?ref=abc", form_encode(f)), true);
    REQUIRE(w.kind == Webhook::Status);
    CHECK(w.status->ref == "abc");
    CHECK(w.status->provider_id == "SM1");
    return *w.status;
  };
  CHECK(status("queued").progress == Progress::Accepted);
  CHECK(status("sent").progress == Progress::Accepted);
  CHECK(status("delivered").progress == Progress::Delivered);
  auto u = status("undelivered", "30005");
  CHECK(u.progress == Progress::Failed);
  CHECK(u.text == "Twilio error 30005: unknown destination handset (undelivered)");
  CHECK(status("failed").progress == Progress::Failed);
}

TEST_CASE("Telnyx: send request and answers") {
  auto p = make_telnyx(ProviderSettings{"http://127.0.0.1:9001", "", "KEY1", "https://gw/sms/telnyx", "", "prof-1"});
  auto c = p->send_call(kPart, "r1");
  CHECK(c.url == "http://127.0.0.1:9001/v2/messages");
  CHECK(header(c, "Authorization") == "Bearer KEY1");
  CHECK(header(c, "Content-Type") == "application/json");
  auto j = json::parse(c.body);
  CHECK(j["from"] == "+15550001111");
  CHECK(j["to"] == "+15557654321");
  CHECK(j["text"] == "hello there");
  CHECK(j["webhook_url"] == "https://gw/sms/telnyx/status?ref=r1");
  CHECK(j["use_profile_webhooks"] == false);
  CHECK(j["messaging_profile_id"] == "prof-1");
  CHECK_FALSE(p->lookup_call(kPart));

  auto ok = p->classify_send(answer(200, R"({"data":{"id":"40317","record_type":"message"}})"));
  CHECK(ok.verdict == Verdict::Accepted);
  CHECK(ok.provider_id == "40317");
  auto bad = p->classify_send(
      answer(422, R"({"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"The 'to' number is invalid."}]})"));
  CHECK(bad.verdict == Verdict::Failed);
  CHECK(bad.failure == Failure::NotAcceptable);
  CHECK(bad.text == "Telnyx error 40310: Invalid 'to' address (The 'to' number is invalid.)");
  CHECK(p->classify_send(answer(401, R"({"errors":[{"code":"10009","title":"Authentication failed"}]})")).text ==
        "Telnyx error 10009: Authentication failed");
}

TEST_CASE("Telnyx: webhooks and their signature") {
  // The signature check itself is in signature_test.cpp; here: the headers and the clock.
  auto p = make_telnyx(ProviderSettings{"http://x", "", "K", "https://gw/sms/telnyx", std::string(32, 'k'), ""});
  auto req = post("/sms/telnyx", "{}");
  CHECK(p->verify(req, "", 1'700'000'000));
  req.headers.add("telnyx-timestamp", "1699999000");
  req.headers.add("telnyx-signature-ed25519", base64_encode(std::string(64, 's')));
  CHECK(*p->verify(req, "", 1'700'000'000) == "telnyx-timestamp is more than 300 s off");
  auto fresh = post("/sms/telnyx", "{}");
  fresh.headers.add("telnyx-timestamp", "1700000000");
  fresh.headers.add("telnyx-signature-ed25519", base64_encode(std::string(64, 's')));
  CHECK(*p->verify(fresh, "", 1'700'000'100) == "telnyx-signature-ed25519 does not match");

  json inbound = {{"data",
                   {{"event_type", "message.received"},
                    {"id", "evt-1"},
                    {"payload",
                     {{"id", "msg-1"},
                      {"from", {{"phone_number", "+15557654321"}}},
                      {"to", json::array({{{"phone_number", "+15550001111"}}})},
                      {"text", "hi"},
                      {"media", json::array({{{"url", "https://m/a.jpg"}, {"content_type", "image/jpeg"}}})}}}}}};
  auto w = p->parse_webhook(post("/sms/telnyx", inbound.dump()), false);
  REQUIRE(w.kind == Webhook::Inbound);
  CHECK(w.inbound->provider_id == "msg-1");
  CHECK(w.inbound->from == "+15557654321");
  CHECK(w.inbound->to == "+15550001111");
  CHECK(w.inbound->media == std::vector<std::string>{"https://m/a.jpg"});

  auto finalized = [&](std::string status) {
    json e = {{"data",
               {{"event_type", "message.finalized"},
                {"payload", {{"id", "msg-9"}, {"to", json::array({{{"phone_number", "+1"}, {"status", status}}})}}}}}};
    if (status == "delivery_failed")
      e["data"]["payload"]["errors"] = json::array({{{"code", "40008"}, {"title", "Undeliverable"}}});
    auto w = p->parse_webhook(post("/sms/telnyx/status?ref=r7", e.dump()), true);
    REQUIRE(w.kind == Webhook::Status);
    CHECK(w.status->ref == "r7");
    CHECK(w.status->provider_id == "msg-9");
    return *w.status;
  };
  CHECK(finalized("delivered").progress == Progress::Delivered);
  auto failed = finalized("delivery_failed");
  CHECK(failed.progress == Progress::Failed);
  CHECK(failed.text == "Telnyx error 40008: Undeliverable (delivery_failed)");
  CHECK(finalized("delivery_unconfirmed").progress == Progress::Final);
  json sent = {{"data", {{"event_type", "message.sent"}, {"payload", {{"id", "msg-9"}}}}}};
  CHECK(p->parse_webhook(post("/sms/telnyx/status", sent.dump()), true).status->progress == Progress::Accepted);
  json other = {{"data", {{"event_type", "number_order.complete"}, {"payload", {{"id", "x"}}}}}};
  CHECK(p->parse_webhook(post("/sms/telnyx", other.dump()), false).kind == Webhook::Ignored);
  CHECK(p->parse_webhook(post("/sms/telnyx", "not json"), false).kind == Webhook::Bad);
}

TEST_CASE("dates, Retry-After and query parameters") {
  CHECK(parse_date_ms("Thu, 01 Jan 1970 00:00:01 +0000") == 1000);
  CHECK(parse_date_ms("Wed, 18 Aug 2010 20:01:40 +0000") == 1282161700000);
  CHECK(parse_date_ms("Wed, 18 Aug 2010 22:01:40 +0200") == 1282161700000);
  CHECK(parse_date_ms("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000);
  CHECK(parse_date_ms("2010-08-18T20:01:40Z") == 1282161700000);
  CHECK(parse_date_ms("2010-08-18T20:01:40.250+00:00") == 1282161700250);
  CHECK(parse_date_ms("2010-08-18T21:01:40+01:00") == 1282161700000);
  CHECK_FALSE(parse_date_ms("yesterday"));
  CHECK_FALSE(parse_date_ms(""));
  CHECK(parse_retry_after("7", 0) == 7);
  CHECK(parse_retry_after(" 120\r", 0) == 120);
  CHECK(parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 10'000) == 20);
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK(query_param("ref=abc&x=1", "ref") == "abc");
  CHECK(query_param("x=1&ref=a%2Bb", "ref") == "a+b");
  CHECK_FALSE(query_param("x=1", "ref"));
}
