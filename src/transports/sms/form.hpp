// application/x-www-form-urlencoded (WHATWG URL §5) as Twilio sends and expects
// it: Twilio's requests to us (inbound SMS, status callbacks) and our requests to
// Twilio's Messages API. Pure.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::transport::sms {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes everything but ALPHA / DIGIT / "-._~"; a space becomes '+'
// (form encoding) or "%20" (form = false: a URL query value in RFC 3986 style).
std::string url_encode(std::string_view s, bool form = true);
// Decodes %XX and, in form encoding, '+' as a space. nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view s, bool form = true);

std::string form_encode(const FormFields& fields);
// Pairs in their order (a repeated name stays repeated); nullopt on a bad escape.
// "a=1&b" yields ("b", ""); empty pieces ("a=1&&b=2") are skipped.
std::optional<FormFields> form_decode(std::string_view body);

// The first value of `name`, or nullptr.
const std::string* form_get(const FormFields& fields, std::string_view name);

}  // namespace sb::transport::sms
