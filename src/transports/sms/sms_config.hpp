// The [[sms]] block (SPEC §2, §8), read through the ConfigReader with every problem
// reported at its line and column. Pure (reads the secret files named in it).
//
//   provider = "twilio" | "telnyx"
//   api_base = "https://api.twilio.com" | "https://api.telnyx.com"   (the defaults)
//   account  = "AC..."                     Twilio Account SID (twilio only, required)
//   token / token_file                      Twilio auth token / Telnyx API key (required)
//   webhook  = "/sms/twilio"               inbound route on [http]; status callbacks: webhook + "/status"
//   public_url = "https://gw.example.org/sms/twilio"   that route as the provider reaches it
//   public_key / public_key_file            Telnyx webhook Ed25519 key, base64 (telnyx only, required)
//   messaging_profile_id = ""               telnyx only, optional
//   default_country_code = ""               e.g. "1": national numbers typed in XEP-0100 get +1
//   rate_per_number = 1.0                   messages/s per sending number; 0 = unlimited
//   max_body = 1600                         characters per SMS; longer texts are split
//   retry_max_seconds = 60                  backoff cap
//   give_up_seconds = 86400                 then the sender gets recipient-unavailable
//   ambiguous_seconds = 600                 wait for a status callback before a look-up
//   request_timeout_seconds = 30
//   [[sms.numbers]] number = "+15550001111", owner = "alice@example.org" (optional: pool)
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "common/config_reader.hpp"
#include "transports/sms/numbers.hpp"

namespace sb::transport::sms {

enum class ProviderKind { Twilio, Telnyx };

struct SmsConfig {
  ProviderKind provider = ProviderKind::Twilio;
  std::string api_base;
  std::string account;
  std::string token;
  std::string webhook;
  std::string public_url;
  std::string public_key;  // raw 32 bytes
  std::string messaging_profile_id;
  std::string default_country_code;
  double rate_per_number = 1.0;
  int max_body = 1600;
  int retry_max_seconds = 60;
  int give_up_seconds = 86400;
  int ambiguous_seconds = 600;
  int request_timeout_seconds = 30;
  std::vector<NumberEntry> numbers;
};

// `have_http`: [http] has a listener (the webhooks need one).
std::optional<SmsConfig> parse_sms_config(ConfigReader& block, bool have_http);

}  // namespace sb::transport::sms
