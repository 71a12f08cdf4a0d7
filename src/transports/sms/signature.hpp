// Webhook authenticity (SPEC §8: a bad signature -> 403, nothing delivered). Pure.
//
// Twilio (https://www.twilio.com/docs/usage/security#validating-requests):
//   X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + every POST parameter's
//   name and value, sorted by name)), the URL exactly as Twilio requested it,
//   query string included.
// Telnyx (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks):
//   telnyx-signature-ed25519 = base64(Ed25519 signature over
//   telnyx-timestamp + "|" + raw body), checked with the account's public key
//   (base64 of the 32 raw key bytes, from the portal).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include "common/base64.hpp"
#include "transports/sms/form.hpp"

namespace sb::transport::sms {

using sb::base64_decode;  // common/base64.hpp
using sb::base64_encode;

std::string hmac_sha1(std::string_view key, std::string_view data);

// The expected X-Twilio-Signature for a form POST to `url`.
std::string twilio_signature(std::string_view url, const FormFields& params, std::string_view auth_token);
// Constant-time comparison with the header's value.
bool twilio_signature_valid(std::string_view url, const FormFields& params, std::string_view auth_token,
                            std::string_view header);

// `public_key` is the raw 32-byte Ed25519 key; `signature_b64` the header's value.
bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature);
bool telnyx_signature_valid(std::string_view public_key, std::string_view timestamp, std::string_view body,
                            std::string_view signature_b64);

}  // namespace sb::transport::sms
