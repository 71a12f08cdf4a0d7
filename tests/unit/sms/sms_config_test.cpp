#include <doctest/doctest.h>

#include "transports/sms/signature.hpp"
#include "transports/sms/sms_config.hpp"

using namespace sb::transport::sms;

namespace {
struct Parsed {
  std::optional<SmsConfig> cfg;
  std::vector<std::string> problems;
};

Parsed parse(std::string_view text, bool have_http = true) {
  auto root = toml::parse(text, std::string_view("sb.toml"));
  const toml::table& block = *root["sms"].as_array()->get(0)->as_table();
  sb::ConfigProblems problems("sb.toml");
  sb::ConfigReader r(block, "[[sms]] #1", problems);
  for (auto k : {"domain", "secret", "allow"}) r.mark(k);
  Parsed p;
  p.cfg = parse_sms_config(r, have_http);
  for (auto& pr : problems.all()) p.problems.push_back(pr.str());
  return p;
}

bool has(const Parsed& p, std::string_view needle) {
  for (auto& s : p.problems)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

const std::string kTwilio = R"(
[[sms]]
domain = "sms.example.org"
secret = "s"
provider = "twilio"
account = "AC1"
token = "tok"
webhook = "/sms/twilio"
public_url = "https://gw.example.org/sms/twilio/"
rate_per_number = 0.5
  [[sms.numbers]]
  number = "+1 (555) 000-1111"
  owner = "alice@example.org"
  [[sms.numbers]]
  number = "+15550004444"
)";
}  // namespace

TEST_CASE("sms config: a Twilio block with defaults") {
  auto p = parse(kTwilio);
  INFO(p.problems.size());
  REQUIRE(p.cfg);
  CHECK(p.problems.empty());
  CHECK(p.cfg->provider == ProviderKind::Twilio);
  CHECK(p.cfg->api_base == "https://api.twilio.com");
  CHECK(p.cfg->public_url == "https://gw.example.org/sms/twilio");  // trailing '/' dropped
  CHECK(p.cfg->rate_per_number == 0.5);
  CHECK(p.cfg->max_body == 1600);
  CHECK(p.cfg->ambiguous_seconds == 600);
  REQUIRE(p.cfg->numbers.size() == 2);
  CHECK(p.cfg->numbers[0].number == "+15550001111");
  CHECK(p.cfg->numbers[0].owner == "alice@example.org");
  CHECK(p.cfg->numbers[1].owner.empty());
}

TEST_CASE("sms config: problems, each at its key") {
  auto no_http = parse(kTwilio, false);
  CHECK_FALSE(no_http.cfg);
  CHECK(has(no_http, "the sms transport needs [http] listen for its webhooks"));

  auto p = parse(R"(
[[sms]]
provider = "twillio"
token = "t"
webhook = "sms"
public_url = "gw.example.org"
rate_per_number = "fast"
colour = "blue"
  [[sms.numbers]]
  number = "555-0001"
  owner = "not a jid"
  [[sms.numbers]]
  number = "+15550001111"
  [[sms.numbers]]
  number = "+1 555 000 1111"
)");
  CHECK_FALSE(p.cfg);
  CHECK(has(p, "sb.toml:3:12: [[sms]] #1 provider: 'twillio' is not a provider"));
  CHECK(has(p, "webhook: 'sms' is not a path"));
  CHECK(has(p, "public_url: 'gw.example.org' is not an http:// or https:// URL"));
  CHECK(has(p, "rate_per_number: expected a number"));
  CHECK(has(p, "unknown key 'colour'"));
  CHECK(has(p, "numbers #1 number: '555-0001' is not an international (E.164) number"));
  CHECK(has(p, "numbers #1 owner: 'not a jid' is not a bare JID"));
  CHECK(has(p, "numbers #3 number: +15550001111 is listed twice"));
  CHECK(has(p, "missing required key 'account'"));  // twilio is assumed after a bad provider
}

TEST_CASE("sms config: Telnyx needs its public key, and no Twilio account") {
  const std::string key = base64_encode(std::string(32, 'k'));
  auto ok = parse(R"(
[[sms]]
provider = "telnyx"
token = "KEY"
public_key = ")" + key + R"("
messaging_profile_id = "prof"
webhook = "/sms/telnyx"
public_url = "https://gw.example.org/sms/telnyx"
default_country_code = "+44"
  [[sms.numbers]]
  number = "+447700900123"
  owner = "alice@example.org"
)");
  REQUIRE(ok.cfg);
  CHECK(ok.cfg->api_base == "https://api.telnyx.com");
  CHECK(ok.cfg->public_key == std::string(32, 'k'));
  CHECK(ok.cfg->default_country_code == "44");

  auto bad = parse(R"(
[[sms]]
provider = "telnyx"
account = "AC1"
token = "KEY"
public_key = "c2hvcnQ="
webhook = "/sms/telnyx"
public_url = "https://gw.example.org/sms/telnyx"
)");
  CHECK_FALSE(bad.cfg);
  CHECK(has(bad, "account: only applies to provider = \"twilio\""));
  CHECK(has(bad, "public_key: not a base64 Ed25519 public key"));
  CHECK(has(bad, "no [[sms.numbers]]"));

  auto missing = parse(R"(
[[sms]]
provider = "telnyx"
token = "KEY"
webhook = "/sms/telnyx"
public_url = "https://gw.example.org/sms/telnyx"
  [[sms.numbers]]
  number = "+447700900123"
)");
  CHECK(has(missing, "missing required key 'public_key' (or 'public_key_file')"));
}
