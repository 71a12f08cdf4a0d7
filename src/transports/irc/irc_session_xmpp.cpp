// IrcSession, the XMPP side (SPEC §7): joins, leaves, nick changes, groupchat,
// private and raw messages become IRC lines. See irc_session.hpp.
#include <algorithm>
#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_session.hpp"
#include "transports/irc/irc_session_detail.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {
using namespace detail;

namespace {
constexpr std::size_t kRecentPrivate = 8;  // private messages remembered for a late 401
}  // namespace

// ---- XMPP -> IRC --------------------------------------------------------------

SessionOutput IrcSession::on_presence(const OutboundPresence& p) {
  SessionOutput out;
  auto a = parse_peer(p.peer);
  // Presence to a person or to the server means nothing on IRC.
  if (!a || a->kind != IrcAddress::Kind::Channel) return out;
  if (p.type == "unavailable" || (!p.available && p.type.empty())) leave(p, out);
  else if (p.type.empty()) join(p, out);
  return out;
}

void IrcSession::join(const OutboundPresence& p, SessionOutput& out) {
  auto a = parse_peer(p.peer);
  if (p.peer_resource.empty()) {
    // XEP-0045 §7.2.1: a join needs a nick (jid-malformed; the closest we can say).
    return fail(p.ref, Failure::BadRequest, "Join the room with a nickname: " + p.peer + "/yournick", out);
  }
  const std::string key = irc_lower(a->name);
  if (Room* room = find_room(key)) {
    auto mem = std::find_if(room->members.begin(), room->members.end(),
                            [&](const Member& m) { return m.resource == p.user_resource; });
    if (mem == room->members.end()) {
      room->members.push_back(Member{p.user_resource, p.peer_resource, p.ref, false, p.history_max, p.history_since_ms});
      // A second resource (or the first after being away): everything from the
      // session's state, no second JOIN.
      if (room->phase == Room::Phase::Joined) welcome(*room, room->members.back(), out);
      update_away(out);
      return;
    }
    if (!mem->welcomed) return;  // still joining: the sequence comes with 366
    if (!nick_eq(p.peer_resource, nick_)) return change_nick(*room, *mem, p.peer_resource, out);
    // The same resource joining again (its client lost track): the sequence again.
    if (p.muc) {
      mem->requested_nick = p.peer_resource;
      welcome(*room, *mem, out);
    }
    return;  // otherwise a status change: nothing on IRC
  }
  if (rooms_.size() >= kMaxRooms)
    return fail(p.ref, Failure::NotAcceptable,
                "You are in too many rooms on " + cfg_.server + " (" + std::to_string(kMaxRooms) + ").", out);
  if (state_ == State::Idle) {
    auto n = parse_peer(p.peer_resource + "%" + cfg_.server);
    if (!n || n->kind != IrcAddress::Kind::Nick)
      return fail(p.ref, Failure::NotAcceptable, "'" + p.peer_resource + "' is not a valid IRC nickname.", out);
  }
  // XEP-0045 §7.2.6 password -> IRC channel key (RFC 2812 §3.2.1): one word, no comma.
  if (std::any_of(p.muc_password.begin(), p.muc_password.end(),
                  [](char c) { return c == ' ' || c == ',' || static_cast<unsigned char>(c) < 0x20; }) ||
      p.muc_password.size() > 100)
    return fail(p.ref, Failure::NotAcceptable, "An IRC channel key is one word without commas.", out);
  Room r;
  r.key = key;
  r.name = a->name;
  r.peer = p.peer;
  r.channel_key = p.muc_password;
  r.members.push_back(Member{p.user_resource, p.peer_resource, p.ref, false, p.history_max, p.history_since_ms});
  // A JOIN that goes out now, behind our unanswered PART (none on a later connection).
  r.behind_part = state_ == State::Ready && std::find(parting_.begin(), parting_.end(), key) != parting_.end();
  rooms_.push_back(std::move(r));
  Room& room = rooms_.back();
  switch (state_) {
    case State::Idle: open_connection(p.peer_resource, out); break;
    case State::Ready:
      out.lines.push_back(join_line(room));
      room.phase = Room::Phase::Joining;
      break;
    case State::Connecting:  // JOIN on registration
    case State::Backoff:     // JOIN on the reconnection
    case State::Quitting:    // a new connection once this one is closed
      break;
  }
  after_room_change(out);
}

void IrcSession::leave(const OutboundPresence& p, SessionOutput& out) {
  auto a = parse_peer(p.peer);
  Room* room = find_room(irc_lower(a->name));
  if (!room) return;
  auto mem = std::find_if(room->members.begin(), room->members.end(),
                          [&](const Member& m) { return m.resource == p.user_resource; });
  if (mem == room->members.end()) return;
  // XEP-0045 §7.14: the leaving occupant gets its own unavailable presence (110).
  self_unavailable(*room, *mem, {110}, p.status, out);
  room->members.erase(mem);
  if (!room->members.empty()) return;
  if (cfg_.stay_joined && room->phase == Room::Phase::Joined) {
    // Kept for the user: the IRC side stays, what is said is kept for the return.
    update_away(out);
    return;
  }
  // The last of the user's resources: the IRC side leaves too.
  if (room->phase != Room::Phase::Pending && state_ == State::Ready) {
    std::vector<std::string> params{room->name};
    if (auto reason = one_line(p.status); !reason.empty()) params.push_back(std::move(reason));
    send_part(std::move(params), out);
  }
  erase_room(room->key);
  after_room_change(out);
}

void IrcSession::change_nick(Room& room, const Member& m, const std::string& nick, SessionOutput& out) {
  auto error = [&](Failure f, std::string text) {
    PresenceUpdate p;
    p.user = cfg_.user;
    p.user_resource = m.resource;
    p.peer = room.peer;
    p.peer_resource = nick;
    p.available = false;
    p.status = std::move(text);
    p.error = f;
    out.events.emplace_back(std::move(p));
  };
  auto n = parse_peer(nick + "%" + cfg_.server);
  if (!n || n->kind != IrcAddress::Kind::Nick) return error(Failure::NotAcceptable, "'" + nick + "' is not a valid IRC nickname.");
  if (state_ != State::Ready) return error(Failure::Unavailable, "Not connected to " + cfg_.server + " right now.");
  // Already on its way (another resource, or the client again): its echo gives
  // every resource the 303 pair; a second NICK would get no answer at all.
  if (!pending_nicks_.empty() && nick_eq(nick, pending_nicks_.back().nick)) return;
  if (pending_nicks_.size() >= kMaxPendingNicks)
    return error(Failure::Unavailable, "Too many nickname changes are waiting for " + cfg_.server + "; try again.");
  pending_nicks_.push_back(PendingNick{nick, m.resource, room.peer});
  out.lines.push_back(line("NICK", {nick}));
}

SessionOutput IrcSession::on_message(const OutboundMessage& m) {
  SessionOutput out;
  auto a = parse_peer(m.peer);
  if (!a) {
    fail(m.ref, Failure::BadRequest, "Not an IRC address: " + m.peer, out);
    return out;
  }
  switch (a->kind) {
    case IrcAddress::Kind::Server: send_raw(m, out); break;
    case IrcAddress::Kind::Nick: send_private(m, a->name, out); break;
    case IrcAddress::Kind::Channel: {
      if (!m.peer_resource.empty()) {
        // XEP-0045 §7.5: a private message to an occupant; a groupchat one is an error.
        if (m.kind == MessageKind::Groupchat) {
          fail(m.ref, Failure::BadRequest, "Send groupchat messages to the room itself.", out);
          break;
        }
        auto n = parse_peer(m.peer_resource + "%" + cfg_.server);
        if (!n || n->kind != IrcAddress::Kind::Nick) {
          fail(m.ref, Failure::NotFound, "No occupant '" + m.peer_resource + "' on IRC.", out);
          break;
        }
        send_private(m, m.peer_resource, out);
        break;
      }
      Room* room = find_room(irc_lower(a->name));
      const bool member = room && std::any_of(room->members.begin(), room->members.end(), [&](const Member& x) {
                            // After a lost connection the resource is still in the room (waiting).
                            return x.resource == m.user_resource && (x.welcomed || room->ever_joined);
                          });
      if (!member) {
        // XEP-0045 §7.4: only occupants may send to the room.
        fail(m.ref, Failure::NotAcceptable, "You are not in " + m.peer + "; join it first.", out);
        break;
      }
      if (state_ != State::Ready || room->phase != Room::Phase::Joined) {
        fail(m.ref, Failure::Unavailable, "Not connected to " + cfg_.server + " right now; reconnecting.", out);
        break;
      }
      send_to_room(m, *room, out);
      break;
    }
  }
  return out;
}

namespace {
// "/me text" -> the action text; else nullopt.
std::optional<std::string_view> me_action(std::string_view body) {
  if (body == "/me") return std::string_view();
  if (body.substr(0, 4) == "/me ") return body.substr(4);
  return std::nullopt;
}

std::vector<OutLine> privmsgs(const std::string& target, std::string_view body, std::size_t budget_plain,
                              std::size_t budget_action) {
  std::vector<OutLine> lines;
  auto action = me_action(body);
  for (auto& chunk : split_for_irc(action ? *action : body, action ? budget_action : budget_plain))
    lines.push_back(line("PRIVMSG", {target, action ? make_ctcp_action(chunk) : std::move(chunk)}));
  return lines;
}
}  // namespace

void IrcSession::send_to_room(const OutboundMessage& m, Room& room, SessionOutput& out) {
  // XEP-0045 §8.1: a subject change. The server echoes TOPIC back to everyone in
  // the channel, us included: that echo becomes the subject message.
  if (!m.subject.empty()) out.lines.push_back(line("TOPIC", {room.name, one_line(m.subject)}));
  if (m.body.empty()) return;
  Queued q;
  q.lines = privmsgs(room.name, m.body, budget(room.name, false), budget(room.name, true));
  q.target_key = room.key;
  q.ref = m.ref;
  q.want_outcome = m.want_outcome;
  q.to_room = true;
  q.id = m.id;
  q.body = m.body;
  if (q.lines.empty()) return;  // nothing but line breaks
  dispatch(std::move(q), out);
}

void IrcSession::send_private(const OutboundMessage& m, const std::string& nick, SessionOutput& out) {
  if (m.body.empty()) return;
  Queued q;
  q.lines = privmsgs(nick, m.body, budget(nick, false), budget(nick, true));
  if (q.lines.empty()) return;
  q.target_key = irc_lower(nick);
  q.ref = m.ref;
  q.want_outcome = m.want_outcome;
  if (auto why = send_when_registered(std::move(q), out)) return fail(m.ref, Failure::Unavailable, *why, out);
  private_activity(out);
}

void IrcSession::send_raw(const OutboundMessage& m, SessionOutput& out) {
  // SPEC §7: one raw line. Only the first line of the body is a command; the
  // rest is never sent (it would be another command: an injection).
  std::string_view body = m.body;
  while (!body.empty() && (body.front() == '\r' || body.front() == '\n')) body.remove_prefix(1);
  auto end = body.find_first_of("\r\n");
  std::string first = strip_line_breaks(body.substr(0, end));
  if (end != std::string_view::npos && body.find_first_not_of("\r\n", end) != std::string_view::npos)
    server_message("Only the first line was sent: one IRC command per message.", out);
  if (first.empty()) return;
  Queued q;
  q.lines.push_back(OutLine{{}, std::move(first), true});
  q.ref = m.ref;
  q.is_raw = true;
  if (auto why = send_when_registered(std::move(q), out)) return fail(m.ref, Failure::Unavailable, *why, out);
  private_activity(out);
}

std::optional<std::string> IrcSession::send_when_registered(Queued q, SessionOutput& out) {
  switch (state_) {
    case State::Ready: dispatch(std::move(q), out); return std::nullopt;
    case State::Backoff: return "The connection to " + cfg_.server + " was lost; reconnecting.";
    case State::Idle:
      open_connection({}, out);
      queued_.push_back(std::move(q));
      return std::nullopt;
    case State::Connecting:
    case State::Quitting:
      if (queued_.size() >= kMaxQueued) return "Too many messages waiting for the connection to " + cfg_.server + ".";
      queued_.push_back(std::move(q));
      return std::nullopt;
  }
  return std::nullopt;
}

// Sends one XMPP message's lines (registered connection) and arranges its reflection.
void IrcSession::dispatch(Queued q, SessionOutput& out) {
  const std::size_t n = q.lines.size();
  for (auto& l : q.lines) out.lines.push_back(std::move(l));
  if (q.is_raw) return;
  if (echo_) {
    // IRCv3 echo-message: the reflection waits for the server's own copy, so the
    // user sees what the channel saw, in the channel's order.
    if (echoes_.size() >= kMaxPendingEchoes) echoes_.erase(echoes_.begin());
    echoes_.push_back(PendingEcho{q.target_key, q.ref, n, std::move(q.id), std::move(q.body), q.to_room, q.want_outcome});
    return;
  }
  if (q.to_room) {
    if (Room* room = find_room(q.target_key)) reflect(*room, q.body, q.id, out);
    return;
  }
  recent_private_.emplace_back(q.target_key, q.ref);
  if (recent_private_.size() > kRecentPrivate) recent_private_.erase(recent_private_.begin());
}

}  // namespace sb::transport::irc
