#include "transports/sms/sms_config.hpp"

#include "transports/sms/e164.hpp"
#include "transports/sms/signature.hpp"

namespace sb::transport::sms {
namespace {

void value_problem(ConfigReader& r, std::string_view key, const std::string& text) {
  const toml::node* n = r.table().get(key);
  r.problems().add(n ? n->source() : r.where(key), r.path() + " " + std::string(key) + ": " + text);
}

bool http_url(std::string_view u) {
  auto scheme_end = u.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto scheme = u.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  auto rest = u.substr(scheme_end + 3);
  return !rest.empty() && rest.front() != '/' && rest.find_first_of(" \t\r\n#?") == std::string_view::npos;
}

bool looks_like_bare_jid(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  return s.find_first_of("/ \t\r\n") == std::string_view::npos;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::optional<SmsConfig> parse_sms_config(ConfigReader& block, bool have_http) {
  const std::size_t before = block.problems().all().size();
  SmsConfig c;

  std::string provider = block.require_string("provider");
  if (provider == "telnyx") c.provider = ProviderKind::Telnyx;
  else if (!provider.empty() && provider != "twilio")
    value_problem(block, "provider", "'" + provider + "' is not a provider; use \"twilio\" or \"telnyx\"");
  const bool twilio = c.provider == ProviderKind::Twilio;

  c.api_base = trim_slash(block.get_string("api_base", twilio ? "https://api.twilio.com" : "https://api.telnyx.com"));
  if (block.has("api_base") && !http_url(c.api_base))
    value_problem(block, "api_base", "'" + c.api_base + "' is not an http:// or https:// URL");

  if (twilio) {
    c.account = block.require_string("account");
  } else if (block.has("account")) {
    block.mark("account");
    value_problem(block, "account", "only applies to provider = \"twilio\"");
  }
  c.token = block.get_secret("token", true);

  if (!twilio) {
    std::string key = block.get_secret("public_key", true);
    if (!key.empty()) {
      auto raw = base64_decode(key);
      if (!raw || raw->size() != 32)
        value_problem(block, block.has("public_key") ? "public_key" : "public_key_file",
                      "not a base64 Ed25519 public key (32 bytes), as the Telnyx portal shows it");
      else c.public_key = std::move(*raw);
    }
    c.messaging_profile_id = block.get_string("messaging_profile_id");
  } else {
    for (auto key : {"public_key", "public_key_file", "messaging_profile_id"}) {
      if (!block.has(key)) continue;
      block.mark(key);
      value_problem(block, key, "only applies to provider = \"telnyx\"");
    }
  }

  c.webhook = block.require_string("webhook");
  if (!c.webhook.empty() && (c.webhook.front() != '/' || c.webhook.find_first_of("?# \t") != std::string::npos ||
                             c.webhook.size() < 2 || c.webhook.back() == '/'))
    value_problem(block, "webhook", "'" + c.webhook + "' is not a path like \"/sms/twilio\"");
  c.public_url = trim_slash(block.require_string("public_url"));
  if (!c.public_url.empty() && !http_url(c.public_url))
    value_problem(block, "public_url",
                  "'" + c.public_url + "' is not an http:// or https:// URL (without query): the URL the provider calls");
  if (!have_http) block.problem({}, "the sms transport needs [http] listen for its webhooks");

  c.default_country_code = block.get_string("default_country_code");
  if (auto& cc = c.default_country_code; !cc.empty()) {
    if (cc.front() == '+') cc.erase(0, 1);
    if (!valid_country_code(cc))
      value_problem(block, "default_country_code", "'" + cc + "' is not a country calling code like \"1\" or \"44\"");
  }

  block.mark("rate_per_number");
  if (const toml::node* n = block.table().get("rate_per_number")) {
    if (auto f = n->as_floating_point()) c.rate_per_number = f->get();
    else if (auto i = n->as_integer()) c.rate_per_number = static_cast<double>(i->get());
    else value_problem(block, "rate_per_number", "expected a number of messages per second (0 = unlimited)");
    if (c.rate_per_number < 0 || c.rate_per_number > 10000 || c.rate_per_number != c.rate_per_number) {
      value_problem(block, "rate_per_number", "must be between 0 (unlimited) and 10000");
      c.rate_per_number = 1.0;
    }
  }
  c.max_body = static_cast<int>(block.get_int("max_body", 1600, 10, 100000));
  c.retry_max_seconds = static_cast<int>(block.get_int("retry_max_seconds", 60, 1, 86400));
  c.give_up_seconds = static_cast<int>(block.get_int("give_up_seconds", 86400, 1, 30 * 86400));
  c.ambiguous_seconds = static_cast<int>(block.get_int("ambiguous_seconds", 600, 1, 7 * 86400));
  c.request_timeout_seconds = static_cast<int>(block.get_int("request_timeout_seconds", 30, 1, 600));

  auto tables = block.get_tables("numbers");
  if (tables.empty() && !block.has("numbers"))
    block.problem({}, "no [[sms.numbers]]: add at least one number (number, and owner unless it is for claiming)");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    ConfigReader n(*tables[i], block.path() + " numbers #" + std::to_string(i + 1), block.problems());
    NumberEntry e;
    std::string number = n.require_string("number");
    if (!number.empty()) {
      if (auto norm = normalise_e164(number)) {
        e.number = *norm;
        for (const auto& prev : c.numbers)
          if (prev.number == e.number) value_problem(n, "number", e.number + " is listed twice");
      } else {
        value_problem(n, "number", "'" + number + "' is not an international (E.164) number like \"+15550001111\"");
      }
    }
    e.owner = n.get_string("owner");
    if (n.has("owner") && !looks_like_bare_jid(e.owner))
      value_problem(n, "owner", "'" + e.owner + "' is not a bare JID like alice@example.org");
    n.finish();
    if (!e.number.empty()) c.numbers.push_back(std::move(e));
  }
  block.finish();
  if (block.problems().all().size() != before) return std::nullopt;
  return c;
}

}  // namespace sb::transport::sms
