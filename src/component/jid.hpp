// JIDs (RFC 7622) and XEP-0106 JID escaping.
//
// Worked examples:
//   parse("Alice@Example.org/phone") -> local "alice", domain "example.org", resource "phone"
//   parse("mqtt.example.org")        -> domain only (is_domain())
//   escape_localpart("#chan%irc.libera.chat") -> "#chan%irc.libera.chat" (both allowed)
//   escape_localpart("john smith@home")       -> "john\\20smith\\40home"
//   unescape_localpart("john\\20smith\\40home") -> "john smith@home"
// Localpart and domain are case-folded to lower case (ASCII; non-ASCII kept as is,
// a simplification of PRECIS noted in the README). Pure; no I/O; thread-compatible.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb::xmpp {

class Jid {
 public:
  Jid() = default;
  // Parses and validates: non-empty domain, parts within 1023 bytes, localpart
  // without the prohibited characters "&'/:<>@ and whitespace, valid UTF-8, no
  // control characters. nullopt when malformed.
  static std::optional<Jid> parse(std::string_view s);

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }
  bool is_domain() const { return local_.empty() && resource_.empty(); }
  bool is_bare() const { return resource_.empty(); }
  Jid bare() const;
  std::string str() const;       // full form
  std::string bare_str() const;  // local@domain or domain
  bool operator==(const Jid&) const = default;
  bool empty() const { return domain_.empty(); }

 private:
  std::string local_, domain_, resource_;
};

// XEP-0106 §4: escapes space " & ' / : < > @ and a backslash that starts an escape
// sequence. Returns the escaped localpart.
std::string escape_localpart(std::string_view raw);
// Reverse of escape_localpart; sequences that are not XEP-0106 escapes are kept.
std::string unescape_localpart(std::string_view escaped);

}  // namespace sb::xmpp
