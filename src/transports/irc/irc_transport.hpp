// The IRC transport (SPEC §7): XMPP users in IRC channels as XEP-0045 rooms,
// with Biboumi-compatible addresses (irc_address.hpp).
//
// It owns one IrcSession (the pure logic, irc_session.hpp) and at most one
// IrcConnection (the Asio edge, irc_connection.hpp) per (user bare JID, server):
// every resource of a user shares that connection, and a user can only ever act
// through their own (SPEC §10). It carries out what a session asks for: opening
// and closing connections, sending lines, delivering events to the core, and the
// session's one timer (reconnect backoff, with up to 25 % jitter so that many
// users do not reconnect at the same instant; or the grace period before QUIT).
// At most kMaxConnectingPerServer connections per server are connecting at once
// (TCP, TLS, registration up to 001); the rest wait their turn in order
// (irc_connect_limiter.hpp: a burst of joins must not overflow a small server's
// listen backlog). A connection that fails or times out frees its slot, and its
// session answers the waiting joins or reconnects with backoff.
//
// Per-user data comes from the core: UserRegistered (replayed for every
// registration right after start()) and SettingsChanged. Registration fields:
// nick, password (SASL PLAIN), username (SASL account) — all optional, joining
// works without registering. Settings (the ad-hoc "settings" command): the same
// three per listed server, as "<server>/nick", "<server>/password" and
// "<server>/username", overriding the registration for that server. The
// registration's password is sent only to listed servers (never to a server a
// user names under other_servers = true).
//
// Memory (the IRC benchmark: many users in one big channel): sessions keep
// occupants compactly, sessions and connections are freed when they end, and
// freed memory is returned to the OS (common/release_memory: jemalloc's purge, or
// malloc_trim) shortly after connections are torn down or a big room's join
// sequence went out (at most once per second).
//
// Threading: the io thread only (Transport contract).
#pragma once
#include "transports/api/factory.hpp"

namespace sb::transport::irc {
FactoryEntry factory();
}
