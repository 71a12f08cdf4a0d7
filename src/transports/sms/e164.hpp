// Phone numbers in E.164 (SPEC §8: contacts are "+E164@domain"). Pure.
//
// normalise_e164 accepts what people type and returns the canonical form:
//   "+1 (555) 000-1111"          -> "+15550001111"
//   "0044 20 7946 0958"          -> "+442079460958"   ("00" international prefix)
//   "(555) 000-1111", cc "1"     -> "+15550001111"    (national, default_country_code)
//   "1-555-000-1111", cc "1"     -> "+15550001111"    (NANP: a national number may keep its 1)
//   "020 7946 0958",  cc "44"    -> "+442079460958"   (the national trunk 0 is dropped)
// Separators allowed: space, '-', '.', '/', '(' and ')'. Anything else (letters,
// a '+' inside) is refused. The result has 8 to 15 digits and its country code
// does not start with 0.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include "transports/api/address_codec.hpp"

namespace sb::transport::sms {

std::optional<std::string> normalise_e164(std::string_view input, std::string_view default_cc = {});

// Exactly the canonical form: '+', 8..15 digits, no leading 0.
bool is_e164(std::string_view s);

// A country calling code as configured: 1 to 3 digits, not starting with 0.
bool valid_country_code(std::string_view cc);

// Contacts: the localpart is the canonical E.164 number ("+15551234567"); anything
// else is not an address of this gateway (jid-malformed). XEP-0100 is where typed
// numbers are normalised.
class E164Codec final : public AddressCodec {
 public:
  std::optional<std::string> from_localpart(std::string_view lp) const override {
    if (!is_e164(lp)) return std::nullopt;
    return std::string(lp);
  }
  std::string to_localpart(std::string_view peer) const override { return std::string(peer); }
};

}  // namespace sb::transport::sms
