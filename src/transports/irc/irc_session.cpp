// The per-(user, server) IRC <-> XEP-0045 logic (SPEC §7). See irc_session.hpp
// for the contract; comments here say why each rule is so.
#include "transports/irc/irc_session.hpp"

#include <algorithm>
#include "common/civil_time.hpp"
#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_session_detail.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {
using namespace detail;

namespace {

using std::chrono::milliseconds;

// Biboumi's mapping of channel prefixes to XEP-0045 (see the header).
const char* affiliation_of(std::uint8_t modes) {
  if (modes & kOwner) return "owner";
  if (modes & (kAdmin | kOp)) return "admin";
  if (modes & (kHalfop | kVoice)) return "member";
  return "none";
}

const char* role_of(std::uint8_t modes) {
  if (modes & (kOwner | kAdmin | kOp | kHalfop)) return "moderator";
  return "participant";
}

// An IRC username (ident) from a nick: letters and digits only, at most 10.
std::string ident_of(std::string_view nick) {
  std::string u;
  for (char c : nick) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) u += c;
    else if (c >= 'A' && c <= 'Z') u += static_cast<char>(c - 'A' + 'a');
    if (u.size() == 10) break;
  }
  return u.empty() ? std::string("xmpp") : u;
}

std::string seconds_text(milliseconds d) {
  auto s = std::max<long long>(1, d.count() / 1000);
  return std::to_string(s) + (s == 1 ? " second" : " seconds");
}

}  // namespace

IrcSession::IrcSession(SessionConfig cfg) : cfg_(std::move(cfg)) { nick_ = cfg_.identity.nick; }

// ---- small helpers ------------------------------------------------------------

IrcSession::Room* IrcSession::find_room(std::string_view key) {
  for (auto& r : rooms_)
    if (r.key == key) return &r;
  return nullptr;
}

IrcSession::Room* IrcSession::live_room(std::string_view key) {
  Room* r = find_room(key);
  return r && !r->behind_part ? r : nullptr;
}

Occupancy IrcSession::occupancy(std::string_view room_key, std::string_view resource, std::string_view nick) const {
  for (const auto& r : rooms_) {
    if (r.key != room_key) continue;
    for (const auto& m : r.members)
      if (m.resource == resource && (m.welcomed || r.ever_joined))
        return irc_lower(nick) == irc_lower(nick_) ? Occupancy::Self : Occupancy::Other;
    break;
  }
  return Occupancy::NotJoined;
}

void IrcSession::erase_room(std::string key) {
  std::erase_if(rooms_, [&](const Room& r) { return r.key == key; });
}

std::optional<IrcSession::Occupant> IrcSession::occupant(const Room& room, std::string_view nick) {
  if (auto e = room.occupants.get(nick)) return Occupant{std::string(e->first), e->second};
  return std::nullopt;
}

std::optional<IrcSession::Occupant> IrcSession::remove_occupant(Room& room, std::string_view nick) {
  if (auto e = room.occupants.remove(nick)) return Occupant{std::move(e->first), e->second};
  return std::nullopt;
}

std::uint8_t IrcSession::mode_bit(char letter) const {
  switch (letter) {
    case 'q': return kOwner;
    case 'a': return kAdmin;
    case 'o': return kOp;
    case 'h': return kHalfop;
    case 'v': return kVoice;
    default: return 0;  // a prefix mode we have no XEP-0045 meaning for (e.g. 'Y')
  }
}

std::uint8_t IrcSession::prefix_bit(char c) const {
  if (auto i = prefix_chars_.find(c); i != std::string::npos && i < prefix_modes_.size())
    return mode_bit(prefix_modes_[i]);
  // The usual characters, when the server's PREFIX did not list them.
  switch (c) {
    case '~': return kOwner;
    case '&': return kAdmin;
    case '@': return kOp;
    case '%': return kHalfop;
    case '+': return kVoice;
    default: return 0xFF;  // not a prefix
  }
}

bool IrcSession::is_self(std::string_view nick) const { return nick_eq(nick, nick_); }

std::size_t IrcSession::budget(const std::string& target, bool action) const {
  // As others will see it relayed: ":nick!~user@host PRIVMSG target :text".
  std::string user = "~";
  user += cfg_.identity.username.empty() ? ident_of(nick_) : cfg_.identity.username;
  auto b = text_budget(nick_, user, "PRIVMSG", target);
  // "\x01ACTION " ... "\x01" around an action.
  return action && b > 41 ? b - 9 : b;
}

std::string IrcSession::peer_of_nick(std::string_view nick) const {
  return decode_irc_text(nick).append("%").append(cfg_.server);
}

std::vector<std::string> IrcSession::occupants(const std::string& room_peer) const {
  std::vector<std::string> v;
  for (const auto& r : rooms_)
    if (r.peer == room_peer)
      r.occupants.each([&](std::string_view nick, std::uint8_t) { v.emplace_back(nick); });
  return v;
}

void IrcSession::fail(std::uint64_t ref, Failure f, std::string text, SessionOutput& out) {
  if (ref == 0) return;
  SendOutcome o;
  o.ref = ref;
  o.ok = false;
  o.failure = f;
  o.text = std::move(text);
  out.events.emplace_back(std::move(o));
}

void IrcSession::occupant_presence(const Room& room, const Member& to, const Occupant& o, SessionOutput& out,
                                   std::vector<int> codes, bool available, std::string status, std::string reason,
                                   std::string actor, std::string new_nick, std::string show) {
  PresenceUpdate p;
  p.user = cfg_.user;
  p.user_resource = to.resource;
  p.peer = room.peer;
  p.peer_resource = decode_irc_text(o.nick);
  p.available = available;
  p.show = std::move(show);
  p.status = std::move(status);
  MucPresence mp;
  mp.affiliation = affiliation_of(o.modes);
  mp.role = available ? role_of(o.modes) : "none";  // XEP-0045 §7.14: role none when leaving
  mp.codes = std::move(codes);
  mp.nick = decode_irc_text(new_nick);
  mp.reason = std::move(reason);
  mp.actor = decode_irc_text(actor);
  p.muc = std::move(mp);
  out.events.emplace_back(std::move(p));
}

void IrcSession::self_unavailable(const Room& room, const Member& m, std::vector<int> codes,
                                  const std::string& status, SessionOutput& out) {
  Occupant self{nick_, 0};
  if (auto o = occupant(room, nick_)) self.modes = o->modes;
  occupant_presence(room, m, self, out, std::move(codes), false, status, status);
}

InboundMessage IrcSession::room_message(const Room& room, const std::string& resource, std::string nick) const {
  InboundMessage im;
  im.user = cfg_.user;
  im.user_resource = resource;
  im.peer = room.peer;
  im.peer_resource = std::move(nick);
  im.kind = MessageKind::Groupchat;
  return im;
}

void IrcSession::room_notice(const Room& room, const std::string& text, SessionOutput& out) {
  for (const auto& m : room.members) {
    if (!m.welcomed) continue;
    auto im = room_message(room, m.resource);
    im.body = text;
    out.events.emplace_back(std::move(im));
  }
}

void IrcSession::server_message(const std::string& text, SessionOutput& out) {
  if (text.empty()) return;
  InboundMessage im;
  im.user = cfg_.user;
  im.peer = cfg_.server;
  im.body = text;
  im.kind = MessageKind::Chat;
  out.events.emplace_back(std::move(im));
}

// XEP-0045 §7.2: every other occupant, then the joiner's own presence (110; 210
// when the service chose its nick), then the subject.
void IrcSession::welcome(Room& room, Member& m, SessionOutput& out) {
  Occupant self{nick_, 0};
  room.occupants.each([&](std::string_view nick, std::uint8_t modes) {
    if (is_self(nick)) self.modes = modes;
    else occupant_presence(room, m, Occupant{std::string(nick), modes}, out);
  });
  std::vector<int> codes{110};
  if (!nick_eq(m.requested_nick, nick_)) codes.push_back(210);
  occupant_presence(room, m, self, out, std::move(codes));
  replay_missed(room, m, out);  // XEP-0045 §7.2.15: history after the self-presence, before the subject
  auto subject = room_message(room, m.resource, decode_irc_text(room.topic_setter));
  subject.subject = room.topic;
  out.events.emplace_back(std::move(subject));
  m.welcomed = true;
  m.join_ref = 0;
}

void IrcSession::replay_missed(Room& room, const Member& m, SessionOutput& out) {
  if (room.missed.empty()) return;
  std::size_t first = 0;
  if (m.history_since_ms)
    while (first < room.missed.size() && room.missed[first].at_ms < *m.history_since_ms) ++first;
  if (m.history_max && room.missed.size() - first > *m.history_max) first = room.missed.size() - *m.history_max;
  if (room.missed_dropped > 0 && first == 0 && (!m.history_max || *m.history_max > room.missed.size())) {
    auto note = room_message(room, m.resource);  // from the room itself, before what was kept
    note.body = std::to_string(room.missed_dropped) + " older messages from while you were away were not kept.";
    out.events.emplace_back(std::move(note));
  }
  for (std::size_t i = first; i < room.missed.size(); ++i) {
    auto& x = room.missed[i];
    auto im = room_message(room, m.resource, std::move(x.nick));
    im.body = std::move(x.body);
    im.id = std::move(x.id);
    im.timestamp_ms = x.at_ms;  // XEP-0203: when it was said
    out.events.emplace_back(std::move(im));
  }
  // Given to the first resource back; later ones join a room they are present in.
  room.missed.clear();
  room.missed.shrink_to_fit();
  room.missed_dropped = 0;
  room.missed_bytes = 0;
}

void IrcSession::keep_missed(Room& room, Missed msg) {
  auto size_of = [](const Missed& x) { return x.nick.size() + x.body.size() + x.id.size(); };
  auto drop_oldest = [&] {
    room.missed_bytes -= size_of(room.missed.front());
    room.missed.erase(room.missed.begin());
    ++room.missed_dropped;
  };
  if (room.missed.size() >= kMaxMissed) drop_oldest();
  // The session's byte budget: this room's oldest go first; what other rooms hold stays.
  std::size_t total = 0;
  for (const auto& r : rooms_) total += r.missed_bytes;
  const std::size_t size = size_of(msg);
  while (total + size > kMaxMissedBytes && !room.missed.empty()) {
    total -= size_of(room.missed.front());
    drop_oldest();
  }
  if (total + size > kMaxMissedBytes) {
    ++room.missed_dropped;
    return;
  }
  room.missed_bytes += size;
  room.missed.push_back(std::move(msg));
}

SessionOutput IrcSession::set_stay_joined(bool on) {
  SessionOutput out;
  cfg_.stay_joined = on;
  if (on) return out;
  bool parted = false;
  for (std::size_t i = rooms_.size(); i-- > 0;) {
    Room& r = rooms_[i];
    if (!r.members.empty()) continue;
    if (state_ == State::Ready && r.phase != Room::Phase::Pending) send_part({r.name}, out);
    erase_room(r.key);
    parted = true;
  }
  if (parted) after_room_change(out);
  return out;
}

void IrcSession::update_away(SessionOutput& out) {
  if (state_ != State::Ready) return;
  // Away: rooms are kept for the user and no resource is in any of them.
  const bool away = !rooms_.empty() &&
                    std::all_of(rooms_.begin(), rooms_.end(), [](const Room& r) { return r.members.empty(); });
  if (away == away_) return;
  away_ = away;
  if (away_) out.lines.push_back(line("AWAY", {"Not connected to XMPP; messages are kept by the gateway"}));
  else out.lines.push_back(line("AWAY", {}));
}

void IrcSession::send_part(std::vector<std::string> params, SessionOutput& out) {
  // Bounded as the rooms are; past that the oldest is forgotten (its echo, should
  // it still come, then ends a room of the same name: the old behaviour).
  if (parting_.size() >= 2 * kMaxRooms) {
    const std::string oldest = std::move(parting_.front());
    parting_.erase(parting_.begin());
    if (std::find(parting_.begin(), parting_.end(), oldest) == parting_.end())
      if (Room* r = find_room(oldest)) r->behind_part = false;
  }
  parting_.push_back(irc_lower(params.front()));
  out.lines.push_back(line("PART", std::move(params)));
}

bool IrcSession::part_answered(std::string_view key) {
  auto it = std::find(parting_.begin(), parting_.end(), key);
  if (it == parting_.end()) return false;
  parting_.erase(it);
  if (std::find(parting_.begin(), parting_.end(), key) == parting_.end())
    if (Room* r = find_room(key)) r->behind_part = false;  // from here on, about the new JOIN
  return true;
}

std::vector<IrcSession::PendingNick>::iterator IrcSession::answered_nick(std::string_view nick) {
  if (nick.empty()) return pending_nicks_.begin();
  auto it = std::find_if(pending_nicks_.begin(), pending_nicks_.end(),
                         [&](const PendingNick& p) { return nick_eq(p.nick, nick); });
  if (it != pending_nicks_.end()) return it;
  it = std::find_if(pending_nicks_.begin(), pending_nicks_.end(), [&](const PendingNick& p) {
    return p.nick.size() > nick.size() && nick_eq(std::string_view(p.nick).substr(0, nick.size()), nick);
  });
  return it != pending_nicks_.end() ? it : pending_nicks_.begin();
}

OutLine IrcSession::join_line(const Room& r) {
  if (r.channel_key.empty()) return line("JOIN", {r.name});
  return line("JOIN", {r.name, r.channel_key});
}

void IrcSession::reflect(Room& room, const std::string& body, const std::string& id, SessionOutput& out) {
  const std::uint64_t line_no = next_archive_line();  // the user's own line belongs in their archive too
  for (const auto& m : room.members) {
    if (!m.welcomed) continue;
    auto im = room_message(room, m.resource, decode_irc_text(nick_));
    im.body = body;
    im.id = id;
    im.archive_line = line_no;
    out.events.emplace_back(std::move(im));
  }
}

std::uint64_t IrcSession::next_archive_line() {
  // One counter for every session of the process: a session made again for the
  // same user and room must never repeat a number the core still remembers.
  static std::uint64_t counter = 0;
  return ++counter;
}

// ---- connection lifecycle -----------------------------------------------------

void IrcSession::open_connection(const std::string& nick, SessionOutput& out) {
  Identity id = cfg_.identity;
  if (!nick.empty()) id.nick = nick;
  if (id.username.empty()) id.username = ident_of(id.nick);
  nick_ = id.nick;
  echo_ = false;
  state_ = State::Connecting;
  out.connect = std::move(id);
}

// Keeps the one timer right after rooms came or went: a grace period while the
// connection is open for nothing, no timer while a room needs it.
void IrcSession::after_room_change(SessionOutput& out) {
  update_away(out);  // stay_joined: a room came or went, maybe the last one anyone was in
  if (!rooms_.empty()) {
    if (armed_ == SessionTimer::Grace) {
      armed_ = SessionTimer::None;
      out.arm = SessionTimer::None;
      out.cancel_timer = true;
    }
    return;
  }
  if (!queued_.empty()) return;
  switch (state_) {
    case State::Connecting:
    case State::Ready:
      if (armed_ != SessionTimer::Grace) {
        armed_ = SessionTimer::Grace;
        out.arm = SessionTimer::Grace;
        out.arm_after = std::chrono::seconds(cfg_.grace_seconds);
        out.cancel_timer = false;
      }
      return;
    case State::Backoff:
    case State::Idle:
      // Nothing to reconnect for, nothing open.
      state_ = State::Idle;
      if (armed_ != SessionTimer::None) out.cancel_timer = true;
      armed_ = SessionTimer::None;
      out.arm = SessionTimer::None;
      out.finished = true;
      return;
    case State::Quitting: return;
  }
}

// A private conversation keeps the connection for another grace period.
void IrcSession::private_activity(SessionOutput& out) {
  if (!rooms_.empty() || (state_ != State::Connecting && state_ != State::Ready)) return;
  armed_ = SessionTimer::Grace;
  out.arm = SessionTimer::Grace;
  out.arm_after = std::chrono::seconds(cfg_.grace_seconds);
  out.cancel_timer = false;
}

SessionOutput IrcSession::on_registered(const std::string& nick, bool echo_message) {
  SessionOutput out;
  if (state_ != State::Connecting) return out;
  state_ = State::Ready;
  if (!nick.empty()) nick_ = nick;
  echo_ = echo_message;
  away_ = false;  // a new connection is not away
  backoff_ = milliseconds(1000);  // a successful registration resets the backoff
  motd_.clear();
  for (auto& r : rooms_) {
    if (r.phase != Room::Phase::Pending) continue;
    out.lines.push_back(join_line(r));
    r.phase = Room::Phase::Joining;
  }
  auto queued = std::move(queued_);
  queued_.clear();
  for (auto& q : queued) dispatch(std::move(q), out);
  if (rooms_.empty()) after_room_change(out);
  update_away(out);  // rooms kept for an away user: AWAY again
  return out;
}

SessionOutput IrcSession::on_closed(const std::string& reason, bool nick_rejected) {
  SessionOutput out;
  if (state_ == State::Idle || state_ == State::Backoff) return out;  // no connection of ours
  const State prev = state_;
  state_ = State::Idle;
  pending_nicks_.clear();
  recent_private_.clear();
  recent_private_.shrink_to_fit();
  motd_.clear();
  for (auto& e : echoes_)
    fail(e.ref, Failure::Unavailable, "The IRC connection was lost before the server confirmed this message.", out);
  echoes_.clear();
  // No PART of ours is answered now: the next connection's lines are all about
  // its own JOINs.
  parting_.clear();
  for (auto& r : rooms_) r.behind_part = false;

  if (prev == State::Quitting) {
    // We closed it; something came in meanwhile: a new connection for it.
    if (rooms_.empty() && queued_.empty()) {
      fail_list(Failure::Unavailable, "The IRC connection closed: " + reason, out);
      out.finished = true;
      if (armed_ != SessionTimer::None) out.cancel_timer = true;
      armed_ = SessionTimer::None;
      return out;
    }
    std::string nick;
    for (const auto& r : rooms_)
      if (!r.members.empty()) {
        nick = r.members.front().requested_nick;
        break;
      }
    open_connection(nick, out);
    return out;
  }

  const Failure f = nick_rejected ? Failure::Conflict : Failure::Unavailable;
  const std::string text = nick_rejected
                               ? std::string("The nickname ").append(nick_).append(" is not available on ")
                                     .append(cfg_.server).append(": ").append(reason)
                               : std::string("IRC connection lost: ").append(reason);
  for (auto& q : queued_) fail(q.ref, f, text, out);
  queued_.clear();
  fail_list(f, text, out);
  fail_admins(Failure::Unavailable, text, out);

  const milliseconds delay = backoff_;
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    Room& r = *it;
    if (nick_rejected || !r.ever_joined) {
      // The join cannot complete: each waiting resource is told (XEP-0045 §7.2.9
      // conflict for the nick; recipient-unavailable for a server we cannot reach).
      for (auto& m : r.members) {
        if (m.join_ref) {
          fail(m.join_ref, f, text, out);
        } else {
          PresenceUpdate p;
          p.user = cfg_.user;
          p.user_resource = m.resource;
          p.peer = r.peer;
          p.peer_resource = r.ever_joined ? nick_ : m.requested_nick;
          p.available = false;
          p.status = text;
          p.error = f;
          out.events.emplace_back(std::move(p));
        }
      }
      it = rooms_.erase(it);
      continue;
    }
    // SPEC §7: the others leave with the reason; the user stays in the room.
    for (const auto& m : r.members) {
      if (!m.welcomed) continue;
      r.occupants.each([&](std::string_view nick, std::uint8_t modes) {
        if (!is_self(nick)) occupant_presence(r, m, Occupant{std::string(nick), modes}, out, {}, false, text);
      });
    }
    room_notice(r, std::string(text).append(". Reconnecting in ").append(seconds_text(delay)).append("."), out);
    r.occupants.clear();
    r.phase = Room::Phase::Pending;
    for (auto& m : r.members) m.welcomed = false;
    ++it;
  }
  if (rooms_.empty()) {
    out.finished = true;
    if (armed_ != SessionTimer::None) out.cancel_timer = true;
    armed_ = SessionTimer::None;
    return out;
  }
  state_ = State::Backoff;
  armed_ = SessionTimer::Reconnect;
  out.arm = SessionTimer::Reconnect;
  out.arm_after = delay;
  out.cancel_timer = false;
  backoff_ = std::min<milliseconds>(backoff_ * 2, std::chrono::seconds(std::max(1, cfg_.reconnect_max_seconds)));
  return out;
}

SessionOutput IrcSession::on_timer(SessionTimer which) {
  SessionOutput out;
  if (which == SessionTimer::None || which != armed_) return out;  // stale
  armed_ = SessionTimer::None;
  if (which == SessionTimer::Grace) {
    if (!list_waiters_.empty()) {
      if (++list_grace_rearms_ <= 1) {
        private_activity(out);  // a long channel list is still coming: not now
        return out;
      }
      finish_list(out);  // a second grace period: answer with what came, and go
    }
    if (rooms_.empty() && queued_.empty() && (state_ == State::Connecting || state_ == State::Ready)) {
      state_ = State::Quitting;
      out.quit = "Left all rooms";
    }
    return out;
  }
  // Reconnect
  if (state_ != State::Backoff) return out;
  if (rooms_.empty()) {
    state_ = State::Idle;
    out.finished = true;
    return out;
  }
  open_connection(nick_, out);
  return out;
}

SessionOutput IrcSession::disconnect(const std::string& reason, bool shutdown) {
  SessionOutput out;
  std::vector<int> codes{110};
  if (shutdown) codes.push_back(332);  // XEP-0045: removed because the service is shutting down
  for (const auto& r : rooms_)
    for (const auto& m : r.members) {
      if (m.join_ref) fail(m.join_ref, Failure::Unavailable, reason, out);
      else self_unavailable(r, m, codes, reason, out);
    }
  for (auto& q : queued_) fail(q.ref, Failure::Unavailable, reason, out);
  queued_.clear();
  fail_list(Failure::Unavailable, reason, out);
  fail_admins(Failure::Unavailable, reason, out);
  echoes_.clear();
  parting_.clear();
  rooms_.clear();
  if (state_ == State::Connecting || state_ == State::Ready || state_ == State::Quitting) out.quit = reason;
  state_ = State::Idle;
  if (armed_ != SessionTimer::None) out.cancel_timer = true;
  armed_ = SessionTimer::None;
  out.finished = true;
  return out;
}

}  // namespace sb::transport::irc
