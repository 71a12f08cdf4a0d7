// XEP-0114 §2 handshake digest: lowercase hex SHA-1 of (stream id + secret).
#pragma once
#include <string>
#include <string_view>

namespace sb::xmpp {
std::string handshake_digest(std::string_view stream_id, std::string_view secret);
}
