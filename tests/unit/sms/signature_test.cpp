#include <doctest/doctest.h>

#include <memory>
#include <openssl/evp.h>
#include "transports/sms/signature.hpp"

using namespace sb::transport::sms;

namespace {
// Twilio's documented example (https://www.twilio.com/docs/usage/security), the
// expected value checked independently with Python's hmac module.
const std::string kUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const FormFields kParams = {{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
                            {"From", "+12349013030"},         {"To", "+18005551212"}};

// A fresh Ed25519 key pair, as Telnyx holds one: signs, and gives the raw public key.
struct Ed25519 {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
  Ed25519() {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                     &EVP_PKEY_CTX_free);
    EVP_PKEY* k = nullptr;
    REQUIRE(EVP_PKEY_keygen_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_keygen(ctx.get(), &k) == 1);
    key.reset(k);
  }
  std::string public_raw() const {
    std::string out(32, '\0');
    std::size_t len = out.size();
    REQUIRE(EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(out.data()), &len) == 1);
    return out;
  }
  std::string sign(std::string_view msg) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1);
    std::string sig(64, '\0');
    std::size_t len = sig.size();
    REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1);
    return sig;
  }
};
}  // namespace

TEST_CASE("base64 round trips and refuses garbage") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYmFy") == "foobar");
  CHECK(base64_decode("Zg==") == "f");
  CHECK(base64_decode("Zg") == "f");
  CHECK_FALSE(base64_decode("Zm9v!"));
  CHECK_FALSE(base64_decode("Z"));
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  CHECK(base64_decode(base64_encode(bytes)) == bytes);
}

TEST_CASE("Twilio signature: the example from Twilio's documentation") {
  CHECK(twilio_signature(kUrl, kParams, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  CHECK(twilio_signature_valid(kUrl, kParams, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  // Parameter order on the wire does not matter: they are sorted by name.
  FormFields shuffled(kParams.rbegin(), kParams.rend());
  CHECK(twilio_signature_valid(kUrl, shuffled, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
}

TEST_CASE("Twilio signature: any change is refused") {
  CHECK_FALSE(twilio_signature_valid(kUrl, kParams, "54321", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));  // other token
  CHECK_FALSE(twilio_signature_valid(kUrl + "&x=1", kParams, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  FormFields tampered = kParams;
  tampered[2].second = "1235";
  CHECK_FALSE(twilio_signature_valid(kUrl, tampered, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  FormFields extra = kParams;
  extra.emplace_back("Body", "");
  CHECK_FALSE(twilio_signature_valid(kUrl, extra, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  CHECK_FALSE(twilio_signature_valid(kUrl, kParams, "12345", ""));
  CHECK_FALSE(twilio_signature_valid(kUrl, kParams, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
}

TEST_CASE("Telnyx signature: Ed25519 over timestamp|body with a generated key") {
  Ed25519 k;
  const std::string body = R"({"data":{"event_type":"message.received","payload":{"id":"m1"}}})";
  const std::string ts = "1700000000";
  const std::string sig = base64_encode(k.sign(ts + "|" + body));
  CHECK(telnyx_signature_valid(k.public_raw(), ts, body, sig));
  CHECK_FALSE(telnyx_signature_valid(k.public_raw(), "1700000001", body, sig));    // other timestamp
  CHECK_FALSE(telnyx_signature_valid(k.public_raw(), ts, body + " ", sig));        // other body
  CHECK_FALSE(telnyx_signature_valid(Ed25519().public_raw(), ts, body, sig));      // other key
  CHECK_FALSE(telnyx_signature_valid(k.public_raw(), ts, body, "not base64!"));
  CHECK_FALSE(telnyx_signature_valid(k.public_raw(), ts, body, base64_encode("short")));
  CHECK_FALSE(telnyx_signature_valid("too short a key", ts, body, sig));
}
