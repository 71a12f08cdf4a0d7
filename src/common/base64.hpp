// RFC 4648 §4 base64 (standard alphabet), one implementation for every user:
// MQTT binary payloads, IRC SASL PLAIN, SMS Basic auth and webhook signatures.
// Pure.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb {

// With padding.
std::string base64_encode(std::string_view bytes);
// Padding optional, no whitespace; nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sb
