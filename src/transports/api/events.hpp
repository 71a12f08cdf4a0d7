// Values that cross between the core and a transport. Transports never see XML:
// the core turns these into stanzas and stanzas into these.
//
// Identities: `user` is always the XMPP user's bare JID ("alice@example.org");
// `peer` is the legacy id, decoded ("home/kitchen", "#chan%irc.libera.chat",
// "+15551234567"), never XEP-0106-escaped; the AddressCodec maps it to a localpart.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sb::transport {

enum class MessageKind { Chat, Groupchat, Normal, Headline };

// Why a command failed, as the XMPP user will be told (mapped to RFC 6120 stanza
// errors by the core: NotFound -> item-not-found, Forbidden -> forbidden,
// Unavailable -> recipient-unavailable, BadRequest -> bad-request, Conflict ->
// conflict, Internal -> internal-server-error, NotAcceptable -> not-acceptable).
enum class Failure { NotFound, Forbidden, Unavailable, BadRequest, Conflict, Internal, NotAcceptable, NotAuthorized };

// ---- transport -> core -------------------------------------------------------

// XEP-0045 occupant data on a PresenceUpdate from a room occupant (IRC rooms):
// the core adds <x xmlns='http://jabber.org/protocol/muc#user'> with one <item/>
// and the status codes.
struct MucPresence {
  std::string affiliation = "none";   // owner, admin, member, none, outcast
  std::string role = "participant";   // moderator, participant, visitor, none
  std::vector<int> codes;             // 110 self, 303 nick change, 307 kicked, 332 shutdown, 333 error...
  std::string nick;                   // with 303: the new nick (<item nick=.../>)
  std::string reason;                 // <item><reason/> (kick, part or quit message)
  std::string actor;                  // <item><actor nick=.../> (who kicked)
};

// A message from the legacy side to one XMPP user (or, with user empty, to every
// user who receives this peer's traffic: config subscribers + presence subscribers).
struct InboundMessage {
  std::string user;
  std::string peer;
  std::string peer_resource;  // e.g. the speaking nick in a room; empty for none
  std::string body;           // any bytes: the core repairs UTF-8 and strips what XML forbids
  std::string id;             // stable legacy id when known (dedupe, XEP-0359 origin-id)
  MessageKind kind = MessageKind::Chat;
  std::string oob_url;        // XEP-0066, e.g. MMS media
  std::optional<std::int64_t> timestamp_ms;  // XEP-0203 delay when not "now"
  // With user empty: these users too (e.g. MQTT config `subscribers`), each once.
  std::vector<std::string> also_to;
  // Non-zero: the transport is told delivered(token) once the XMPP server has
  // provably read every stanza made from this event (or none was made), so it
  // can release what it keeps durably until then (SPEC §10).
  std::uint64_t delivery_token = 0;
  // XEP-0045 §8.1 room subject (IRC topic); the message may then have no body,
  // and an empty subject is meaningful ("no topic").
  std::optional<std::string> subject;
  std::string user_resource;  // with user set: only this resource (e.g. the one that joined a room)
  // XEP-0249: an invitation into this room (a peer) from `peer`, e.g. an IRC
  // INVITE; the body says who invites whom where.
  std::string invite_room;
  // Non-zero: a line said in the room `peer` that belongs in `user`'s archive of
  // it (mapping/room_archive.hpp). The events of one line (one per resource of
  // the user in the room) carry the same number, so the core keeps it once and
  // gives every copy the same XEP-0359 stanza-id; a line with no user_resource
  // (nobody of the user in the room, e.g. away with `stay`) is kept only, never
  // sent. A transport never reuses a number while it runs.
  std::uint64_t archive_line = 0;
};

// Presence of a legacy contact. user empty = to everyone who sees this peer.
struct PresenceUpdate {
  std::string user;
  std::string peer;
  std::string peer_resource;
  bool available = true;
  std::string show;    // "", "away", "chat", "dnd", "xa"
  std::string status;  // human-readable
  std::vector<std::string> also_to;  // with user empty: these users too, each once
  std::optional<MucPresence> muc;    // a room occupant (XEP-0045)
  // Set: a presence of type "error" with this condition and `status` as its text
  // (e.g. a nick collision when rejoining after a reconnect -> conflict).
  std::optional<Failure> error;
  std::string user_resource;  // with user set: only this resource
};

// Answer to an OutboundMessage/OutboundPresence, matched by `ref`.
struct SendOutcome {
  std::uint64_t ref = 0;
  bool ok = true;
  Failure failure = Failure::Internal;  // when !ok
  std::string text;                     // human-readable reason when !ok
  bool delivered = false;               // ok and the backend confirmed delivery -> XEP-0184 receipt
  // The OutboundMessage::origin of the command, for a transport that kept the
  // command durably across a restart: the core's ref is then unknown, and it
  // answers from this instead.
  std::string origin;
};

// The backend (broker, IRC server, provider) as a whole: becomes the domain's presence.
struct LinkState {
  bool up = false;
  std::string text;  // why, shown as the presence status
};

// An entry of a disco#items answer: a legacy address the core turns into a JID
// (an IRC server on the domain, a user's MQTT device, a channel on an IRC server).
struct Item {
  std::string peer;  // legacy id; the core turns it into a JID; empty = the domain itself
  std::string name;
};

// Answer to a ListItems, matched by `ref`: the items, or why there are none.
struct ItemList {
  std::uint64_t ref = 0;
  bool ok = true;
  Failure failure = Failure::Internal;  // when !ok
  std::string text;                     // human-readable reason when !ok
  std::vector<Item> items;              // in the order the user should see them
};

using Event = std::variant<InboundMessage, PresenceUpdate, SendOutcome, LinkState, ItemList>;

// ---- core -> transport -------------------------------------------------------

// Every command carries `ref`; the transport answers with a SendOutcome when the
// core asked for one (want_outcome) and always when it fails.
struct OutboundMessage {
  std::uint64_t ref = 0;
  std::string user;           // bare JID of the sender, already checked: allowed and registered
  std::string user_resource;
  std::string peer;
  std::string peer_resource;
  std::string body;
  MessageKind kind = MessageKind::Chat;
  std::string subject;        // set when the stanza carried <subject/> (e.g. IRC topic); body may then be empty
  std::string id;             // the stanza's XEP-0359 origin-id, else its id: for MUC reflections
  bool want_outcome = false;  // a XEP-0184 receipt was requested
  // Opaque to transports: who to answer and how. A transport that keeps commands
  // durably (beyond this process) stores it and returns it in SendOutcome::origin;
  // empty for one whose keeps_commands_durably() is false.
  std::string origin;
};

struct OutboundPresence {
  std::uint64_t ref = 0;
  std::string user;
  std::string user_resource;
  std::string peer;
  std::string peer_resource;
  bool available = true;  // false: unavailable (leave)
  std::string show, status;
  std::string type;       // "", "unavailable", "probe", "subscribe", "unsubscribe"
  bool muc = false;       // carried <x xmlns='http://jabber.org/protocol/muc'/>: a room join (XEP-0045 §7.2)
  std::string muc_password;  // its <password/> (XEP-0045 §7.2.6), e.g. an IRC channel key
  // Its <history/> (XEP-0045 §7.2.15): at most this many messages / none older
  // than this Unix time (ms; from `since` or `seconds`); maxchars='0' -> 0 stanzas.
  std::optional<std::size_t> history_max;
  std::optional<std::int64_t> history_since_ms;
};

// Sent when a user registers and, right after start(), once for every existing
// registration (with its stored settings following as SettingsChanged), so a
// transport knows every registered user's fields without reading the registry.
struct UserRegistered { std::string user; std::vector<std::pair<std::string, std::string>> fields; };
struct UserRemoved { std::string user; };         // drop every legacy session of this user
struct DisconnectUser { std::string user; };      // admin command: close sessions, keep registration
struct SettingsChanged { std::string user; std::vector<std::pair<std::string, std::string>> settings; };

// XEP-0030 disco#items of a legacy address whose items the transport must fetch
// (Transport::lists_items; an IRC server: its channel list, SPEC §4). The
// transport answers with exactly one ItemList carrying `ref`. peer empty: the
// domain itself (an IRC domain with a fixed_server).
struct ListItems {
  std::uint64_t ref = 0;
  std::string user;
  std::string user_resource;
  std::string peer;
};

// XEP-0045 §8 moderation by an occupant (an iq set with <query
// xmlns='http://jabber.org/protocol/muc#admin'><item nick role|affiliation>): kick
// (role none), grant or revoke voice and moderator. Sent only for rooms where the
// transport reports the sender's resource as an occupant (Transport::occupancy);
// answered with a SendOutcome (ok: the iq's result).
struct RoomAdmin {
  std::uint64_t ref = 0;
  std::string user;
  std::string user_resource;
  std::string peer;         // the room
  std::string nick;         // the occupant acted on
  std::string role;         // "none", "visitor", "participant", "moderator", or empty
  std::string affiliation;  // "outcast", "none", "member", "admin", "owner", or empty
  std::string reason;
};

// An occupant invites a legacy contact into a room: XEP-0045 §7.8.2 (mediated,
// sent to the room) or XEP-0249 (direct, sent to the contact). Failures come back
// as a SendOutcome (an error message to the inviter); success is silent.
struct RoomInvite {
  std::uint64_t ref = 0;
  std::string user;
  std::string user_resource;
  std::string room;     // peer
  std::string invitee;  // peer
  std::string reason;
};

using Command = std::variant<OutboundMessage, OutboundPresence, UserRegistered, UserRemoved,
                             DisconnectUser, SettingsChanged, ListItems, RoomAdmin, RoomInvite>;

}  // namespace sb::transport
