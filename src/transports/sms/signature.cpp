#include "transports/sms/signature.hpp"

#include <algorithm>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sb::transport::sms {

std::string hmac_sha1(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string twilio_signature(std::string_view url, const FormFields& params, std::string_view auth_token) {
  // Sorted by name; a repeated name keeps its values in a defined order too.
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  for (const auto& p : params) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
  // A repeated name contributes each distinct value once (Twilio's own validators).
  sorted.erase(std::unique(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a == *b; }), sorted.end());
  std::string data(url);
  for (const auto* p : sorted) data.append(p->first).append(p->second);
  return base64_encode(hmac_sha1(auth_token, data));
}

bool twilio_signature_valid(std::string_view url, const FormFields& params, std::string_view auth_token,
                            std::string_view header) {
  const std::string expected = twilio_signature(url, params, auth_token);
  return header.size() == expected.size() && CRYPTO_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()),
                                  public_key.size()),
      &EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

bool telnyx_signature_valid(std::string_view public_key, std::string_view timestamp, std::string_view body,
                            std::string_view signature_b64) {
  auto sig = base64_decode(signature_b64);
  if (!sig) return false;
  std::string message(timestamp);
  message.push_back('|');
  message.append(body);
  return ed25519_verify(public_key, message, *sig);
}

}  // namespace sb::transport::sms
