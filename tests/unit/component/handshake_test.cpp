// XEP-0114 §2 handshake digest.
#include <doctest/doctest.h>

#include "component/handshake.hpp"

using sb::xmpp::handshake_digest;

TEST_CASE("handshake digest is lowercase hex SHA-1 of id + secret") {
  // FIPS 180 test vectors.
  CHECK(handshake_digest("ab", "c") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(handshake_digest("abc", "") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(handshake_digest("", "") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(handshake_digest("abcdbcdecdefdefgefghfghighij", "hijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  // Order matters: id first.
  CHECK(handshake_digest("c", "ab") != handshake_digest("ab", "c"));
}
