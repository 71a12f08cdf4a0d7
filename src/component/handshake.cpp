#include "component/handshake.hpp"

#include <openssl/evp.h>

#include <string>

namespace sb::xmpp {

std::string handshake_digest(std::string_view stream_id, std::string_view secret) {
  // XEP-0114 §2: SHA-1 over the concatenation, sent as lowercase hex.
  std::string input;
  input.reserve(stream_id.size() + secret.size());
  input.append(stream_id);
  input.append(secret);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), md, &len, EVP_sha1(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0F];
  }
  return out;
}

}  // namespace sb::xmpp
