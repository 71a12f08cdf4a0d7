// One XMPP user's presence on one IRC server, as XEP-0045 rooms (SPEC §7): the
// pure logic between the user's XMPP commands and the IRC lines of their one
// connection to that server. No sockets, no timers, no clock reads: every input
// is a call (an XMPP command, an IRC line with the current time, a timer that
// fired), every output a SessionOutput the owner (IrcTransport) carries out.
//
// Addresses (Biboumi-compatible, see irc_address.hpp): a room is
// "#chan%server" and its occupants are "#chan%server/<nick>"; a person is
// "nick%server"; the server itself is "server".
//
// What it does:
//  - Joining (XEP-0045 §7.2): presence to "#chan%server/nick" opens the connection
//    when there is none (the nick of that first join is the IRC nick), sends JOIN,
//    and after NAMES (353/366) gives the joining resource every occupant's presence,
//    then its own with status 110 (and 210 when its IRC nick is not the one it asked
//    for: IRC has one nick per connection), then the subject (332 topic, or empty).
//    A second resource joining a room the session is already in gets the same from
//    the session's state, without a second JOIN. Every joined resource receives all
//    room traffic. The last resource leaving sends PART.
//  - Roles and affiliations from channel prefixes, as Biboumi maps them:
//      ~ (q) owner/moderator    & (a) admin/moderator    @ (o) admin/moderator
//      % (h) member/moderator   + (v) member/participant   none: none/participant
//    The highest prefix an occupant holds counts (multi-prefix gives them all).
//  - NICK -> 303 pair, PART/QUIT -> unavailable with the reason, KICK -> 307,
//    MODE on prefix modes -> the occupant's new role, TOPIC -> subject. Our own
//    events carry 110.
//  - groupchat -> PRIVMSG (split to 512-byte lines; "/me" -> CTCP ACTION; a
//    subject -> TOPIC), reflected to every joined resource: when the server echoes
//    it (IRCv3 echo-message) or, without echo-message, at once. The reflection
//    carries OutboundMessage::id so clients recognise their own message.
//  - Private messages both ways with "nick%server"; a message to "server" is one
//    raw line (only its first line: the rest is refused, never injected).
//  - Lost connection -> every other occupant unavailable ("IRC connection lost:
//    ...") and a notice in each room; the user stays joined; the owner is asked to
//    reconnect after 1 s, doubling up to reconnect_max_seconds (back to 1 s after a
//    successful registration); once registered again every room is rejoined and the
//    join sequence is sent again.
//  - stay_joined (the user's "<server>/stay" setting): the last resource leaving a
//    joined room does not PART; the nick stays, marked AWAY while no resource is
//    in any room; channel messages meanwhile (at most kMaxMissed per room) go to
//    the next resource that joins, after its self-presence and before the
//    subject, with their times (XEP-0203), as its <history/> asks. Kept in
//    memory: a restart of switchboard ends them. Each is also an event with no
//    resource for the core's durable room archive; with an archive the core asks
//    for no replay (history_max 0) and gives the history itself.
//  - Every line of a channel (and the user's own, reflected) carries an
//    archive_line number, the same on its copies to each resource.
//  - No room left -> QUIT after grace_seconds (a private message in either direction
//    restarts that period; joining again cancels it).
//
//  - Moderation (on_admin, XEP-0045 §8): role none -> KICK; moderator/admin/owner
//    -> +o; participant/member -> -o +v; visitor/none -> -o -v (only what changes;
//    nothing to change is done at once). Done when the server relays our KICK or
//    MODE; 482 -> forbidden, 401/441 -> item-not-found; bans are not offered.
//  - Invitations: an occupant's invitation of "nick%server" -> INVITE (341 done;
//    401 item-not-found, 442/482 forbidden; 443, already there, counts as done);
//    an IRC INVITE of us -> a XEP-0249 invitation from the inviter.
//  - disco#items of the server (list_channels): LIST, its 322 replies collected
//    (irc_channel_list.hpp) and answered as one ItemList to every request waiting;
//    a list not older than kListFreshMs answers at once. Without a connection one
//    is opened for it (the grace period then closes it, as after a private
//    message). A lost connection or RPL_TRYAGAIN (263) fails the waiting requests.
//  - From the server JID ("server" peer), as chat to the bare JID: notices and
//    numerics no rule above handles, once registered; the MOTD as one message.
//    Not shown: registration chatter (001-005, LUSERS 25x/26x, SASL 90x) and
//    notices before registration ("*** Looking up your hostname").
//  - CTCP: ACTION <-> "/me"; VERSION is answered; other CTCP is ignored.
//
// Bounds (all input from the network or a user): kMaxRooms rooms per session,
// kMaxOccupants per room, kMaxPendingEchoes unechoed messages, kMaxQueued lines
// waiting for registration, kMaxMotd bytes of MOTD.
//
// Code: irc_session.cpp (state, connection lifecycle, presence helpers, stay_joined),
// irc_session_xmpp.cpp (XMPP -> IRC), irc_session_irc.cpp (IRC -> XMPP),
// irc_session_list.cpp (channel list), irc_session_admin.cpp (moderation, invitations);
// occupants are packed in an OccupantList (irc_occupants.hpp).
// Threading: none; the owner calls it on one thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "transports/api/events.hpp"
#include "transports/api/transport.hpp"
#include "transports/irc/irc_channel_list.hpp"
#include "transports/irc/irc_connection.hpp"
#include "transports/irc/irc_message.hpp"
#include "transports/irc/irc_occupants.hpp"

namespace sb::transport::irc {

// One line for the connection: an IrcMessage (serialised by the connection), or a
// user's raw line (send_raw).
struct OutLine {
  IrcMessage msg;
  std::string raw;  // with is_raw: the line as the user typed it (one line, no CR/LF)
  bool is_raw = false;
};

enum class SessionTimer : std::uint8_t { None, Grace, Reconnect };

// What the owner must do after a call, in this order: open a connection (connect
// set), send `lines` on it, deliver `events`, close it (quit set), then arm or
// cancel the session's one timer. `finished`: nothing is left; drop the session
// (after closing its connection when quit is set).
struct SessionOutput {
  std::vector<Event> events;
  std::vector<OutLine> lines;
  std::optional<Identity> connect;
  std::optional<std::string> quit;
  SessionTimer arm = SessionTimer::None;  // start (or restart) this timer ...
  std::chrono::milliseconds arm_after{0};  // ... to fire after this long
  bool cancel_timer = false;
  bool finished = false;
};

struct SessionConfig {
  std::string user;    // bare JID
  std::string server;  // the server part of addresses, lower case ("irc.libera.chat")
  Identity identity;   // nick when no join names one, username, realname, SASL
  int grace_seconds = 30;
  int reconnect_max_seconds = 60;
  // The user's setting "<server>/stay": when the last resource leaves a room the
  // IRC side stays in the channel (AWAY while no resource is anywhere), and what
  // is said meanwhile is given to the next resource that joins.
  bool stay_joined = false;
  // The core archives room lines durably (Deps::room_archive): lines said while
  // staying away are not also kept here; the core gives them back from its archive.
  bool core_archives = false;
};

class IrcSession {
 public:
  static constexpr std::size_t kMaxRooms = 100;
  static constexpr std::size_t kMaxOccupants = 10000;
  static constexpr std::size_t kMaxPendingEchoes = 256;
  static constexpr std::size_t kMaxPendingNicks = 8;
  static constexpr std::size_t kMaxQueued = 100;
  static constexpr std::size_t kMaxMotd = 16 * 1024;
  // Server-time older than this is history (XEP-0203 delay); newer is "now".
  static constexpr std::int64_t kBacklogMs = 10'000;
  static constexpr std::size_t kMaxListWaiters = 16;
  static constexpr std::size_t kMaxPendingAdmins = 16;
  static constexpr std::size_t kMaxMissed = 300;  // messages kept per room while nobody is in it
  static constexpr std::size_t kMaxMissedBytes = 1 << 20;  // ... and bytes in all rooms of the session
  static constexpr std::int64_t kListTimeoutMs = 60'000;   // a LIST not ended by then is answered as it is
  static constexpr std::int64_t kAdminTimeoutMs = 15'000;
  static constexpr std::int64_t kListFreshMs = 60'000;

  explicit IrcSession(SessionConfig cfg);

  // ---- XMPP side ----
  SessionOutput on_presence(const OutboundPresence& p);
  SessionOutput on_message(const OutboundMessage& m);
  // The user is removed, disconnected by an admin, or the gateway stops: every
  // joined resource gets its own unavailable presence (110, and 332 for a
  // shutdown), the connection quits with `reason`, the session is finished.
  SessionOutput disconnect(const std::string& reason, bool shutdown);
  // XEP-0045 §8 moderation from a joined resource (kick, voice, moderator): KICK or
  // MODE, answered (SendOutcome for a.ref) when the server shows it done or refuses
  // it, or after kAdminTimeoutMs without either.
  SessionOutput on_admin(const RoomAdmin& a, std::int64_t now_ms);
  // An occupant invites an IRC user on this server: INVITE; failures as SendOutcome.
  SessionOutput on_invite(const RoomInvite& inv, std::int64_t now_ms);
  // XEP-0030 disco#items of the server: its channels, as one ItemList for `ref`.
  SessionOutput list_channels(std::uint64_t ref, std::int64_t now_ms);
  // New defaults for the next connection (registration or settings changed).
  void set_identity(Identity id) { cfg_.identity = std::move(id); }
  // Turning it off PARTs the rooms kept for nobody (they would stay for ever).
  SessionOutput set_stay_joined(bool on);

  // ---- IRC side (from the connection this session asked for) ----
  SessionOutput on_registered(const std::string& nick, bool echo_message);
  SessionOutput on_irc(const IrcMessage& m, std::int64_t now_unix_ms);
  SessionOutput on_closed(const std::string& reason, bool nick_rejected);
  SessionOutput on_timer(SessionTimer which);

  // ---- for stats and tests ----
  const std::string& user() const { return cfg_.user; }
  const std::string& server() const { return cfg_.server; }
  const std::string& nick() const { return nick_; }
  std::size_t room_count() const { return rooms_.size(); }
  bool connection_open() const { return state_ != State::Idle && state_ != State::Backoff; }
  bool ready() const { return state_ == State::Ready; }
  // Nothing left: no connection, no room, nothing waiting (the owner may drop it).
  bool idle() const { return state_ == State::Idle && rooms_.empty() && queued_.empty(); }
  std::chrono::milliseconds next_backoff() const { return backoff_; }
  // XEP-0410 self-ping: is `resource` in the room with this channel key (irc_lower'd
  // name), and is `nick` our own nick there? A resource waiting for a rejoin after
  // a lost connection is still in it (the gateway rejoins for it).
  Occupancy occupancy(std::string_view room_key, std::string_view resource, std::string_view nick) const;
  // Occupant nicks of a joined room (peer), in the session's order; empty if none.
  std::vector<std::string> occupants(const std::string& room_peer) const;

 private:
  enum class State : std::uint8_t { Idle, Connecting, Ready, Backoff, Quitting };

  // One occupant as a value (the room stores them packed: OccupantList).
  struct Occupant {
    std::string nick;
    std::uint8_t modes = 0;  // kOwner | kAdmin | kOp | kHalfop | kVoice
  };
  // One of the user's resources in a room.
  struct Member {
    std::string resource;
    std::string requested_nick;  // the resource of the join presence
    std::uint64_t join_ref = 0;  // the join presence's ref until it is answered
    bool welcomed = false;       // got the join sequence (for the current JOIN)
    // The join's XEP-0045 <history/> request, for the messages missed while away.
    std::optional<std::size_t> history_max;
    std::optional<std::int64_t> history_since_ms;
  };
  // A channel message said while no resource was in the room (stay_joined).
  struct Missed {
    std::string nick, body, id;
    std::int64_t at_ms = 0;
  };
  // JOIN for this room, with its channel key when the user gave one.
  struct Room;
  static OutLine join_line(const Room& r);
  struct Room {
    std::string key;   // irc_lower(name)
    std::string name;  // "#Chan" as the user wrote it
    std::string peer;  // "#Chan%server" as the user addressed it
    std::string channel_key;  // the MUC join's <password/>: JOIN #chan key (+k channels)
    std::string topic;
    std::string topic_setter;
    enum class Phase : std::uint8_t { Pending, Joining, Joined } phase = Phase::Pending;
    bool ever_joined = false;  // joined once: kept across a lost connection
    // JOINed again while our PART of it was still unanswered: until that answer
    // (part_answered), what the server says of this channel is about the old
    // membership (its lines, NAMES, a kick), not this join. See live_room().
    bool behind_part = false;
    OccupantList occupants;
    std::vector<Member> members;  // empty: kept for the user while away (stay_joined)
    std::vector<Missed> missed;   // said meanwhile, oldest first, at most kMaxMissed
    std::size_t missed_dropped = 0;
    std::size_t missed_bytes = 0;  // of `missed` (the session's budget is over every room)
  };
  // A message sent while echo-message is on, waiting for its echo.
  struct PendingEcho {
    std::string target_key;  // irc_lower(target)
    std::uint64_t ref = 0;
    std::size_t lines = 0;  // echoes still expected
    std::string id;         // OutboundMessage::id
    std::string body;       // the reflection's body (the whole XMPP message)
    bool to_room = false;
    bool want_outcome = false;
  };
  // Lines waiting for registration, one XMPP message per entry.
  struct Queued {
    std::vector<OutLine> lines;
    std::string target_key;
    std::uint64_t ref = 0;
    bool want_outcome = false;
    bool is_raw = false;
    bool to_room = false;
    std::string id, body;  // a room message's reflection
  };
  struct PendingNick {
    std::string nick, resource, room_peer;
  };

  // XMPP -> IRC
  void join(const OutboundPresence& p, SessionOutput& out);
  void leave(const OutboundPresence& p, SessionOutput& out);
  void change_nick(Room& room, const Member& m, const std::string& nick, SessionOutput& out);
  void send_to_room(const OutboundMessage& m, Room& room, SessionOutput& out);
  void send_private(const OutboundMessage& m, const std::string& nick, SessionOutput& out);
  void send_raw(const OutboundMessage& m, SessionOutput& out);
  void dispatch(Queued q, SessionOutput& out);
  // Sends `q` now (registered) or once registered, opening the connection when
  // there is none; else why not (lost and reconnecting, or too much waiting).
  std::optional<std::string> send_when_registered(Queued q, SessionOutput& out);
  void open_connection(const std::string& nick, SessionOutput& out);
  void after_room_change(SessionOutput& out);
  void private_activity(SessionOutput& out);

  // IRC -> XMPP
  void on_join(const IrcMessage& m, SessionOutput& out);
  void on_part(const IrcMessage& m, SessionOutput& out);
  void on_kick(const IrcMessage& m, SessionOutput& out);
  void on_quit(const IrcMessage& m, SessionOutput& out);
  void on_nick(const IrcMessage& m, SessionOutput& out);
  void on_mode(const IrcMessage& m, SessionOutput& out);
  void on_topic(const IrcMessage& m, SessionOutput& out);
  void on_away(const IrcMessage& m, SessionOutput& out);
  void on_invited(const IrcMessage& m, SessionOutput& out);
  void on_text(const IrcMessage& m, std::int64_t now_ms, SessionOutput& out);
  void on_numeric(const IrcMessage& m, SessionOutput& out);
  void on_isupport(const IrcMessage& m);
  void nick_refused(int code, const IrcMessage& m, SessionOutput& out);
  void join_failed(Room& room, Failure f, const std::string& text, SessionOutput& out);
  void echo_failed(const std::string& target_key, Failure f, const std::string& text, SessionOutput& out);
  void reflect(Room& room, const std::string& body, const std::string& id, SessionOutput& out);

  // Presence helpers
  void welcome(Room& room, Member& m, SessionOutput& out);
  void occupant_presence(const Room& room, const Member& to, const Occupant& o, SessionOutput& out,
                         std::vector<int> codes = {}, bool available = true, std::string status = {},
                         std::string reason = {}, std::string actor = {}, std::string new_nick = {},
                         std::string show = {});
  void self_unavailable(const Room& room, const Member& m, std::vector<int> codes, const std::string& status,
                        SessionOutput& out);
  void room_notice(const Room& room, const std::string& text, SessionOutput& out);
  // A groupchat message from `room` (from `nick` in it; empty: the room itself) to
  // one of the user's resources: the fields every room message shares.
  InboundMessage room_message(const Room& room, const std::string& resource, std::string nick = {}) const;
  // stay_joined: the messages missed, to the resource that came back; AWAY on IRC
  // while no resource is in any room, back when one is.
  void replay_missed(Room& room, const Member& m, SessionOutput& out);
  void keep_missed(Room& room, Missed msg);
  // InboundMessage::archive_line for the next line said in a room.
  static std::uint64_t next_archive_line();
  void update_away(SessionOutput& out);
  void server_message(const std::string& text, SessionOutput& out);
  void fail(std::uint64_t ref, Failure f, std::string text, SessionOutput& out);
  // Moderation (irc_session_admin.cpp): a KICK or MODE of ours seen, or refused.
  struct PendingAdmin {
    std::uint64_t ref = 0;
    std::string room_key;
    std::string nick_key;  // irc_lower(the occupant's nick)
    std::int64_t at_ms = 0;
  };
  void admin_seen(std::string_view room_key, std::string_view nick, SessionOutput& out);
  bool admin_numeric(int code, const IrcMessage& m, SessionOutput& out);
  // The resource's joined room for a room peer, or nullptr after a refusal in out.
  Room* acting_room(std::uint64_t ref, const std::string& room_peer, const std::string& resource, SessionOutput& out);
  void expire_admins(std::int64_t now_ms, SessionOutput& out);
  void fail_admins(Failure f, const std::string& text, SessionOutput& out);
  void ok(std::uint64_t ref, SessionOutput& out);
  // Channel list (irc_session_list.cpp): LIST replies, and every waiting request answered.
  bool on_list_numeric(int code, const IrcMessage& m, SessionOutput& out);
  void answer_list(std::uint64_t ref, SessionOutput& out) const;
  void fail_list(Failure f, const std::string& text, SessionOutput& out);
  void finish_list(SessionOutput& out);  // the waiters get what was collected
  // A LIST past kListTimeoutMs is answered as it is; a list past kListFreshMs is dropped.
  void expire_list(std::int64_t now_ms, SessionOutput& out);

  Room* find_room(std::string_view key);
  // The room the server's words about channel `key` are about: none while the
  // room is behind_part (they are about the membership we already left).
  Room* live_room(std::string_view key);
  static std::optional<Occupant> occupant(const Room& room, std::string_view nick);
  static std::optional<Occupant> remove_occupant(Room& room, std::string_view nick);
  std::uint8_t mode_bit(char mode_letter) const;
  std::uint8_t prefix_bit(char prefix_char) const;
  bool is_self(std::string_view nick) const;
  std::size_t budget(const std::string& target, bool action) const;
  std::string peer_of_nick(std::string_view nick) const;
  void erase_room(std::string key);  // a copy: the room's own key dies with it
  // PART a channel; its echo is then ours, not a server's part (see parting_).
  void send_part(std::vector<std::string> params, SessionOutput& out);
  // Our PART's echo, or its refusal (403/442), for `key`: consumes one entry.
  bool part_answered(std::string_view key);

  SessionConfig cfg_;
  State state_ = State::Idle;
  SessionTimer armed_ = SessionTimer::None;
  std::chrono::milliseconds backoff_{1000};
  std::string nick_;  // our IRC nick (the wanted one until 001)
  bool echo_ = false;
  std::vector<Room> rooms_;
  std::vector<PendingEcho> echoes_;  // (vectors: an empty std::deque costs ~600 bytes)
  // Channels (irc_lower) we sent PART to whose echo has not come yet. A user who
  // leaves and joins again at once has a new room before the old PART's echo
  // arrives; without this, that echo would read as "parted by the server" and
  // end the new join (XEP-0045 §7.14 leave, §7.2 join; SPEC §7).
  std::vector<std::string> parting_;
  std::vector<Queued> queued_;
  std::vector<std::pair<std::string, std::uint64_t>> recent_private_;  // target key, ref (no echo-message)
  // Our NICKs not yet answered, oldest first (the server answers in order).
  std::vector<PendingNick> pending_nicks_;
  // The pending NICK an answer naming `nick` is about: that nick, else one it
  // begins (the server cut it to its NICKLEN), else the oldest. end() if none.
  std::vector<PendingNick>::iterator answered_nick(std::string_view nick);
  std::string motd_;
  std::vector<PendingAdmin> admins_;         // our KICKs and MODEs not yet seen
  bool away_ = false;                        // we sent AWAY on this connection
  std::vector<std::uint64_t> list_waiters_;  // non-empty: our LIST is on its way
  std::int64_t list_asked_ms_ = 0;           // when it was asked for
  ChannelListing listing_;                   // its replies so far
  std::vector<Item> listed_;                 // the last complete list ...
  std::int64_t listed_at_ms_ = -1;           // ... and when it was asked for (-1: none)
  int list_grace_rearms_ = 0;                // grace periods deferred for the LIST
  // ISUPPORT (005): PREFIX=(modes)prefixes and CHANMODES=A,B,C,D.
  std::string prefix_modes_ = "ov", prefix_chars_ = "@+";
  std::string chanmodes_always_ = "beIk", chanmodes_set_ = "l";
};


}  // namespace sb::transport::irc
