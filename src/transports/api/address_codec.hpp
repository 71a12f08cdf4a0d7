// Legacy id <-> JID localpart, per transport. Pure.
//
// The core applies XEP-0106 escaping around the codec: to_localpart() returns the
// unescaped form and the core escapes it; from_localpart() receives the
// unescaped localpart. Worked examples (IRC, Biboumi-compatible):
//   "#chan%irc.libera.chat" <-> "#chan%irc.libera.chat"
//   "nick%irc.libera.chat"  <-> "nick%irc.libera.chat"
// SMS: "+15551234567" <-> "+15551234567".
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb::transport {

class AddressCodec {
 public:
  virtual ~AddressCodec() = default;
  // nullopt: not an address of this transport -> jid-malformed
  virtual std::optional<std::string> from_localpart(std::string_view localpart) const = 0;
  virtual std::string to_localpart(std::string_view peer) const = 0;
};

// Identity mapping: the legacy id is the (unescaped) localpart.
class IdentityCodec final : public AddressCodec {
 public:
  std::optional<std::string> from_localpart(std::string_view lp) const override {
    if (lp.empty()) return std::nullopt;
    return std::string(lp);
  }
  std::string to_localpart(std::string_view peer) const override { return std::string(peer); }
};

}  // namespace sb::transport
