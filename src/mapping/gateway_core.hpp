// The core for one component domain: stanzas and transport events in, effects out
// (DESIGN.md "Three rings"). No sockets, no threads, no wall clock: a Clock is
// injected, and the registry is an interface (SQLite in production, the same
// SQLite in :memory: in tests).
//
// What it answers itself, for every transport (SPEC §4): disco#info/#items,
// XEP-0077 registration, XEP-0100 gateway, XEP-0050 commands (settings; admin:
// list users, statistics, disconnect a user), XEP-0199 ping, XEP-0092 version,
// the domain's presence (following the transport's LinkState) and subscriptions,
// and the stanza errors. Messages and presence for legacy JIDs are checked
// (allowed, registered, address valid) and handed to the transport as Commands.
//
// Threading: one thread (the io thread). Ownership: borrows transport, registry
// and clock, which outlive it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>
#include "common/clock.hpp"
#include "component/stanza.hpp"
#include "mapping/registry.hpp"
#include "mapping/room_archive.hpp"
#include "transports/api/transport.hpp"

namespace sb::mapping {

// token: non-zero when made from a transport event with a delivery_token.
// The most items one disco#items answer holds, whatever the requester asked for
// (XEP-0059 §2.1): an IRC network lists tens of thousands of channels, and one
// stanza for all of them would pass what servers accept from a component.
inline constexpr std::size_t kItemsPerPage = 500;

struct SendStanza {
  xmpp::Stanza stanza;
  std::uint64_t token = 0;
};
// A message stanza already serialised (xmpp::message_text), with its XEP-0359
// origin-id: the hot path's form of SendStanza, written as it is.
struct SendXml {
  std::string xml;
  std::uint64_t token = 0;
};
struct ToTransport { transport::Command command; };
using Effect = std::variant<SendStanza, SendXml, ToTransport>;
using Effects = std::vector<Effect>;

struct CoreConfig {
  std::string domain;                 // "mqtt.example.org"
  std::vector<std::string> allow;     // JID globs; empty = nobody but admins
  std::vector<std::string> admins;    // bare JIDs
  std::string version = SB_VERSION;   // XEP-0092
  // Room archive (with an archive given to the core): lines sent to a joining
  // resource without a <history/> asking otherwise (XEP-0045 §7.2.15).
  std::size_t history_on_join = 20;
};

class GatewayCore {
 public:
  // archive: the rooms' archive (room_archive.hpp), borrowed; null = none kept
  // (no history on join beyond the transport's, no XEP-0313, no stanza-ids).
  GatewayCore(CoreConfig cfg, transport::Transport& transport, Registry& registry, const Clock& clock,
              RoomArchive* archive = nullptr);
  ~GatewayCore();
  GatewayCore(const GatewayCore&) = delete;
  GatewayCore& operator=(const GatewayCore&) = delete;

  // A stanza the server routed to this component.
  Effects on_stanza(const xmpp::Stanza& s);
  // An event from the transport (already on the io thread).
  Effects on_event(transport::Event e);
  // The component stream is authenticated (again): announce the domain and the
  // legacy contacts' presence to subscribers.
  Effects on_connected();
  // Right after the transport started: UserRegistered (and SettingsChanged) for
  // every stored registration, so the transport knows its users' fields.
  Effects on_start();
  // Graceful stop (SPEC §1): unavailable for every legacy contact made available,
  // and for the domain.
  Effects on_shutdown();

  bool backend_up() const;
  const std::string& domain() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::mapping
