#include <doctest/doctest.h>

#include "transports/sms/form.hpp"

using namespace sb::transport::sms;

TEST_CASE("form encoding: what Twilio's Messages API takes") {
  CHECK(form_encode({{"To", "+15557654321"}, {"Body", "hi & bye = 100%"}}) ==
        "To=%2B15557654321&Body=hi+%26+bye+%3D+100%25");
  CHECK(url_encode("a b", false) == "a%20b");
  CHECK(url_encode("\xF0\x9F\x91\x8B") == "%F0%9F%91%8B");
  CHECK(url_encode("-._~") == "-._~");
}

TEST_CASE("form decoding: what Twilio posts to us") {
  auto f = form_decode("MessageSid=SM1&From=%2B15557654321&Body=hello+there%21&Empty=&Flag");
  REQUIRE(f);
  CHECK(f->size() == 5);
  CHECK(*form_get(*f, "From") == "+15557654321");
  CHECK(*form_get(*f, "Body") == "hello there!");
  CHECK(*form_get(*f, "Empty") == "");
  CHECK(*form_get(*f, "Flag") == "");
  CHECK(form_get(*f, "Missing") == nullptr);
  // Round trip of arbitrary bytes.
  FormFields in = {{"k\xC3\xA9y", "v&a=l+u e\n\x01"}};
  CHECK(form_decode(form_encode(in)) == in);
  CHECK(form_decode("a=1&&b=2")->size() == 2);
}

TEST_CASE("form decoding: malformed escapes are refused") {
  CHECK_FALSE(form_decode("a=%"));
  CHECK_FALSE(form_decode("a=%4"));
  CHECK_FALSE(form_decode("a=%zz"));
  CHECK_FALSE(url_decode("%G0"));
  CHECK(url_decode("a+b", false) == "a+b");  // '+' is a space only in forms
}
