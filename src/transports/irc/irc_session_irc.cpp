// IrcSession, the IRC side (SPEC §7): what the server says becomes XEP-0045
// presence, messages and subjects. See irc_session.hpp.
#include <algorithm>
#include "common/civil_time.hpp"
#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_session.hpp"
#include "transports/irc/irc_session_detail.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {
using namespace detail;

namespace {
constexpr std::size_t kMaxTopic = 4096;
}  // namespace

// ---- IRC -> XMPP --------------------------------------------------------------

SessionOutput IrcSession::on_irc(const IrcMessage& m, std::int64_t now_ms) {
  SessionOutput out;
  if (!admins_.empty()) expire_admins(now_ms, out);
  if (!list_waiters_.empty() || listed_at_ms_ >= 0) expire_list(now_ms, out);
  const std::string& c = m.command;
  if (c == "PRIVMSG" || c == "NOTICE") on_text(m, now_ms, out);
  else if (c == "JOIN") on_join(m, out);
  else if (c == "PART") on_part(m, out);
  else if (c == "KICK") on_kick(m, out);
  else if (c == "QUIT") on_quit(m, out);
  else if (c == "NICK") on_nick(m, out);
  else if (c == "MODE") on_mode(m, out);
  else if (c == "TOPIC") on_topic(m, out);
  else if (c == "AWAY") on_away(m, out);
  else if (c == "INVITE") on_invited(m, out);
  else if (c == "005") on_isupport(m);
  else if (is_numeric(c)) on_numeric(m, out);
  else if (c == "WALLOPS")
    server_message(irc_to_xmpp_text(m.nick()) + ": " + irc_to_xmpp_text(m.param(0)), out);
  // PING, PONG, CAP, AUTHENTICATE, ERROR, ACCOUNT, CHGHOST...: the connection's business.
  return out;
}

void IrcSession::on_isupport(const IrcMessage& m) {
  for (std::size_t i = 1; i + 1 < m.params.size(); ++i) {
    std::string_view p = m.params[i];
    if (p.substr(0, 7) == "PREFIX=") {
      auto v = p.substr(7);  // "(qaohv)~&@%+"
      auto close = v.find(')');
      if (v.empty() || v[0] != '(' || close == std::string_view::npos) continue;
      auto modes = v.substr(1, close - 1), chars = v.substr(close + 1);
      if (modes.size() != chars.size() || modes.size() > 16) continue;
      prefix_modes_ = std::string(modes);
      prefix_chars_ = std::string(chars);
    } else if (p.substr(0, 10) == "CHANMODES=") {
      // A,B,C,D: A and B always take a parameter, C only when set, D never.
      auto v = p.substr(10);
      std::string groups[4];
      std::size_t g = 0;
      for (char ch : v) {
        if (ch == ',') {
          if (++g == 4) break;
        } else if (groups[g].size() < 32) {
          groups[g] += ch;
        }
      }
      chanmodes_always_ = groups[0] + groups[1];
      chanmodes_set_ = groups[2];
    }
  }
}

void IrcSession::on_join(const IrcMessage& m, SessionOutput& out) {
  const auto nick = m.nick();
  const std::string& chan = m.param(0);
  Room* room = find_room(irc_lower(chan));
  if (is_self(nick)) {
    // Not a room of ours (a raw JOIN, a forced join): no XMPP occupant can see it,
    // and a later join through XMPP would wait forever for NAMES. Leave it.
    if (!room) send_part({chan}, out);
    else if (room->behind_part) return;  // the JOIN before our PART: its NAMES are not ours
    else if (room->phase == Room::Phase::Joining) room->occupants.clear();  // NAMES follows
    return;
  }
  if (room && room->behind_part) return;
  if (!room || room->phase == Room::Phase::Pending) return;
  if (!room->occupants.add(nick, 0, kMaxOccupants)) return;  // over the bound: not shown
  if (room->phase != Room::Phase::Joined) return;  // the join sequence will include them
  auto o = occupant(*room, nick);
  for (const auto& mem : room->members)
    if (mem.welcomed) occupant_presence(*room, mem, *o, out);
}

void IrcSession::on_part(const IrcMessage& m, SessionOutput& out) {
  const auto nick = m.nick();
  const std::string key = irc_lower(m.param(0));
  // Our own PART's echo: the user already left (and may be joining again).
  if (is_self(nick) && part_answered(key)) return;
  Room* room = live_room(key);
  if (!room) return;
  const std::string reason = irc_to_xmpp_text(m.param(1));
  if (is_self(nick)) {
    // Parted by the server (or by a raw PART): the room is left for every resource.
    for (const auto& mem : room->members) self_unavailable(*room, mem, {110}, reason, out);
    erase_room(room->key);
    after_room_change(out);
    return;
  }
  auto o = remove_occupant(*room, nick);
  if (!o || room->phase != Room::Phase::Joined) return;
  for (const auto& mem : room->members)
    if (mem.welcomed) occupant_presence(*room, mem, *o, out, {}, false, reason, reason);
}

void IrcSession::on_kick(const IrcMessage& m, SessionOutput& out) {
  const std::string key = irc_lower(m.param(0));
  const std::string& victim = m.param(1);
  const std::string actor(m.nick());
  // A kick we asked for (XEP-0045 §8.2) is done, also if the user has left since.
  if (is_self(actor)) admin_seen(key, victim, out);
  Room* room = live_room(key);
  if (!room) return;
  const std::string reason = irc_to_xmpp_text(m.param(2));
  if (is_self(victim)) {
    // XEP-0045 §9.2: 307 with 110 for the kicked occupant; every resource is out.
    Occupant self{nick_, 0};
    if (auto o = occupant(*room, nick_)) self.modes = o->modes;
    for (const auto& mem : room->members)
      occupant_presence(*room, mem, self, out, {307, 110}, false, reason, reason, actor);
    erase_room(room->key);
    after_room_change(out);
    return;
  }
  auto o = remove_occupant(*room, victim);
  if (!o || room->phase != Room::Phase::Joined) return;
  for (const auto& mem : room->members)
    if (mem.welcomed) occupant_presence(*room, mem, *o, out, {307}, false, reason, reason, actor);
}

void IrcSession::on_quit(const IrcMessage& m, SessionOutput& out) {
  const auto nick = m.nick();
  if (is_self(nick)) return;  // our own: on_closed follows
  const std::string reason = irc_to_xmpp_text(m.param(0));
  for (auto& room : rooms_) {
    if (room.behind_part) continue;  // its NAMES will say who is there
    auto o = remove_occupant(room, nick);
    if (!o || room.phase != Room::Phase::Joined) continue;
    for (const auto& mem : room.members)
      if (mem.welcomed) occupant_presence(room, mem, *o, out, {}, false, reason, reason);
  }
}

void IrcSession::on_nick(const IrcMessage& m, SessionOutput& out) {
  const std::string old(m.nick());
  const std::string& now = m.param(0);
  if (now.empty()) return;
  const bool self = is_self(old);
  if (self) {
    nick_ = now;
    // Ours: the NICK it answers, and any before it (answered already: in order),
    // and any after it asking for the nick we now have (a server ignores those).
    if (auto it = answered_nick(now); it != pending_nicks_.end()) pending_nicks_.erase(pending_nicks_.begin(), it + 1);
    while (!pending_nicks_.empty() && nick_eq(pending_nicks_.front().nick, now)) pending_nicks_.erase(pending_nicks_.begin());
  }
  for (auto& room : rooms_) {
    if (self)
      for (auto& mem : room.members) mem.requested_nick = now;  // no 210 when rejoining later
    if (room.behind_part) continue;
    auto before = remove_occupant(room, old);
    if (!before) continue;
    const Occupant o{now, before->modes};
    room.occupants.add(o.nick, o.modes, kMaxOccupants);
    if (room.phase != Room::Phase::Joined) continue;
    // XEP-0045 §7.6: unavailable with 303 and the new nick, then available as the new nick.
    for (const auto& mem : room.members) {
      if (!mem.welcomed) continue;
      occupant_presence(room, mem, *before, out, self ? std::vector<int>{303, 110} : std::vector<int>{303}, false, {},
                        {}, {}, now);
      occupant_presence(room, mem, o, out, self ? std::vector<int>{110} : std::vector<int>{});
    }
  }
}

void IrcSession::on_mode(const IrcMessage& m, SessionOutput& out) {
  const std::string& target = m.param(0);
  if (!is_channel_name(target)) return;  // user modes
  const std::string key = irc_lower(target);
  Room* room = live_room(key);
  const std::string& modes = m.param(1);
  std::size_t arg = 2;
  bool adding = true;
  std::vector<std::string> changed;
  for (char c : modes) {
    if (c == '+' || c == '-') {
      adding = c == '+';
      continue;
    }
    if (prefix_modes_.find(c) != std::string::npos) {
      const std::string& who = m.param(arg++);
      // Our MODE is done, also if the user has left the room since.
      if (is_self(m.nick()) && !who.empty()) admin_seen(key, who, out);
      auto o = who.empty() || !room ? std::nullopt : occupant(*room, who);
      if (!o) continue;
      const std::uint8_t bit = mode_bit(c);
      const std::uint8_t now = adding ? static_cast<std::uint8_t>(o->modes | bit) : static_cast<std::uint8_t>(o->modes & ~bit);
      if (now == o->modes) continue;
      room->occupants.set_modes(o->nick, now);
      if (std::none_of(changed.begin(), changed.end(), [&](const std::string& n) { return nick_eq(n, o->nick); }))
        changed.push_back(o->nick);
    } else if (chanmodes_always_.find(c) != std::string::npos) {
      ++arg;  // a list or key mode: its parameter is not a nick
    } else if (chanmodes_set_.find(c) != std::string::npos) {
      if (adding) ++arg;
    }
    // other channel modes change nothing an XMPP occupant sees
  }
  if (!room || room->phase != Room::Phase::Joined) return;
  for (const auto& nick : changed) {
    auto o = occupant(*room, nick);
    if (!o) continue;
    for (const auto& mem : room->members)
      if (mem.welcomed) occupant_presence(*room, mem, *o, out, is_self(nick) ? std::vector<int>{110} : std::vector<int>{});
  }
}

void IrcSession::on_topic(const IrcMessage& m, SessionOutput& out) {
  Room* room = live_room(irc_lower(m.param(0)));
  if (!room) return;
  room->topic = irc_to_xmpp_text(std::string_view(m.param(1)).substr(0, kMaxTopic));
  room->topic_setter = std::string(m.nick());
  if (room->phase != Room::Phase::Joined) return;
  for (const auto& mem : room->members) {
    if (!mem.welcomed) continue;
    auto im = room_message(*room, mem.resource, decode_irc_text(room->topic_setter));
    im.subject = room->topic;
    out.events.emplace_back(std::move(im));
  }
}

void IrcSession::on_away(const IrcMessage& m, SessionOutput& out) {
  // IRCv3 away-notify: AWAY :text = away, AWAY alone = back.
  const auto nick = m.nick();
  const bool away = !m.param(0).empty();
  const std::string text = irc_to_xmpp_text(m.param(0));
  for (auto& room : rooms_) {
    if (room.phase != Room::Phase::Joined || room.behind_part) continue;
    auto o = occupant(room, nick);
    if (!o) continue;
    for (const auto& mem : room.members)
      if (mem.welcomed)
        occupant_presence(room, mem, *o, out, is_self(nick) ? std::vector<int>{110} : std::vector<int>{}, true, text,
                          {}, {}, {}, away ? "away" : "");
  }
}

void IrcSession::on_text(const IrcMessage& m, std::int64_t now_ms, SessionOutput& out) {
  const bool notice = m.command == "NOTICE";
  const auto from = m.nick();
  std::string target = m.param(0);
  const std::string& text = m.param(1);
  // A server's own message: no prefix, or a server name (has a '.', which no nick has).
  const bool from_server =
      m.prefix.empty() || (m.prefix.find_first_of("!@") == std::string::npos && m.prefix.find('.') != std::string::npos);

  // IRCv3 STATUSMSG ("@#chan": to the channel's operators) is still the channel.
  if (target.size() > 1 && prefix_bit(target[0]) != 0xFF && is_channel_name(std::string_view(target).substr(1)))
    target.erase(0, 1);

  auto action = ctcp_action(text);
  if (!action) {
    if (auto ctcp = ctcp_command(text)) {
      // CTCP: answer VERSION (as every client does), ignore the rest and all replies.
      if (!notice && *ctcp == "VERSION" && !from_server && !is_self(from))
        out.lines.push_back(line("NOTICE", {std::string(from), "\x01VERSION switchboard XMPP gateway\x01"}));
      return;
    }
  }
  std::string body = action ? std::string("/me ").append(irc_to_xmpp_text(*action)) : irc_to_xmpp_text(text);
  std::string id;
  if (const std::string* msgid = m.tag("msgid")) id = *msgid;
  std::optional<std::int64_t> stamp;
  // IRCv3 server-time: an ISO 8601 UTC timestamp.
  if (const std::string* t = m.tag("time"))
    if (auto ts = civil::parse_iso8601_ms(*t); ts && now_ms - *ts > kBacklogMs) stamp = ts;

  if (is_channel_name(target)) {
    const std::string key = irc_lower(target);
    Room* room = live_room(key);
    const bool joined = room && room->phase == Room::Phase::Joined;
    if (!from_server && is_self(from)) {
      // echo-message: our own message as the channel saw it. Matched also when the
      // user has left the room since (a message, then at once a leave): else its
      // entry would stay and be taken by the next message's echo.
      auto e = std::find_if(echoes_.begin(), echoes_.end(),
                            [&](const PendingEcho& p) { return p.to_room && p.target_key == key; });
      if (e == echoes_.end()) {  // sent by a raw command
        if (joined) reflect(*room, body, id, out);
        return;
      }
      if (--e->lines > 0) return;
      PendingEcho done = std::move(*e);
      echoes_.erase(e);
      if (joined) reflect(*room, done.body, done.id.empty() ? id : done.id, out);
      if (done.want_outcome && done.ref) {
        SendOutcome o;
        o.ref = done.ref;
        o.delivered = true;
        out.events.emplace_back(std::move(o));
      }
      return;
    }
    if (!joined) return;
    const std::uint64_t line_no = next_archive_line();
    if (room->members.empty()) {
      // Kept for the user while away (stay_joined): for the next resource that
      // joins, and in the user's archive (the core's, durable) with no resource.
      auto im = room_message(*room, {}, from_server ? std::string() : decode_irc_text(from));
      im.body = body;
      im.timestamp_ms = stamp.value_or(now_ms);
      im.archive_line = line_no;
      out.events.emplace_back(std::move(im));
      if (!cfg_.core_archives)
        keep_missed(*room, Missed{from_server ? std::string() : decode_irc_text(from), body, id, stamp.value_or(now_ms)});
      return;
    }
    for (const auto& mem : room->members) {
      if (!mem.welcomed) continue;
      auto im = room_message(*room, mem.resource, from_server ? std::string() : decode_irc_text(from));
      im.body = body;
      im.id = id;
      im.timestamp_ms = stamp;
      im.archive_line = line_no;
      out.events.emplace_back(std::move(im));
    }
    return;
  }
  // Server notices while registering ("*** Looking up your hostname") say nothing
  // to the user; after that they may matter.
  if (from_server) return state_ == State::Ready ? server_message(body, out) : void();
  if (is_self(from)) {
    // The echo of a private message we sent: the server took it.
    const std::string key = irc_lower(target);
    auto e = std::find_if(echoes_.begin(), echoes_.end(),
                          [&](const PendingEcho& p) { return !p.to_room && p.target_key == key; });
    if (e != echoes_.end() && --e->lines == 0) {
      if (e->want_outcome && e->ref) {
        SendOutcome o;
        o.ref = e->ref;
        o.delivered = true;
        out.events.emplace_back(std::move(o));
      }
      echoes_.erase(e);
    }
    return;
  }
  // To us: a private message, from the person's JID to the user's bare JID.
  InboundMessage im;
  im.user = cfg_.user;
  im.peer = peer_of_nick(from);
  im.body = std::move(body);
  im.id = std::move(id);
  im.kind = MessageKind::Chat;
  im.timestamp_ms = stamp;
  out.events.emplace_back(std::move(im));
  private_activity(out);
}

void IrcSession::join_failed(Room& room, Failure f, const std::string& text, SessionOutput& out) {
  for (const auto& mem : room.members) {
    if (mem.join_ref) {
      fail(mem.join_ref, f, text, out);
      continue;
    }
    PresenceUpdate p;
    p.user = cfg_.user;
    p.user_resource = mem.resource;
    p.peer = room.peer;
    p.peer_resource = room.ever_joined ? nick_ : mem.requested_nick;
    p.available = false;
    p.status = text;
    p.error = f;
    out.events.emplace_back(std::move(p));
  }
  erase_room(room.key);
  after_room_change(out);
}

// A message the server refused (401/404): its sender is told, when we know which.
void IrcSession::echo_failed(const std::string& key, Failure f, const std::string& text, SessionOutput& out) {
  auto e = std::find_if(echoes_.begin(), echoes_.end(), [&](const PendingEcho& p) { return p.target_key == key; });
  if (e != echoes_.end()) {
    fail(e->ref, f, text, out);
    echoes_.erase(e);
    return;
  }
  auto r = std::find_if(recent_private_.begin(), recent_private_.end(), [&](const auto& p) { return p.first == key; });
  if (r != recent_private_.end()) {
    fail(r->second, f, text, out);
    recent_private_.erase(r);
    return;
  }
  if (Room* room = live_room(key)) return room_notice(*room, text, out);
  server_message(text, out);
}

// 432/433/436/437 (and the change-only 435/438/447) after registration: the NICK a
// resource asked for is refused (XEP-0045 §7.6: conflict); the room stays. During
// registration the connection reports it (on_closed with nick_rejected), so it is
// not told twice.
void IrcSession::nick_refused(int code, const IrcMessage& m, SessionOutput& out) {
  if (state_ != State::Ready) return;
  std::string text = irc_to_xmpp_text(m.params.size() > 2 ? m.params.back() : m.param(1));
  // The NICK it answers (435/438/447 may name it elsewhere or not at all: then
  // the oldest, as the server answers in order).
  auto it = answered_nick(code == 447 ? std::string_view() : std::string_view(m.param(1)));
  if (it == pending_nicks_.end()) {
    // A NICK typed as a raw line: the server's words ("<nick>: <why>" when it names one).
    if (m.params.size() <= 2) return server_message(text, out);
    return server_message(irc_to_xmpp_text(m.param(1)) + ": " + text, out);
  }
  const PendingNick asked = std::move(*it);
  pending_nicks_.erase(it);
  PresenceUpdate p;
  p.user = cfg_.user;
  p.user_resource = asked.resource;
  p.peer = asked.room_peer;
  p.peer_resource = asked.nick;
  p.available = false;
  p.status = std::move(text);
  // Taken (433 and the like): conflict; the others refuse the change itself.
  p.error = code == 435 || code == 438 || code == 447 ? Failure::NotAcceptable : Failure::Conflict;
  out.events.emplace_back(std::move(p));
}

void IrcSession::on_numeric(const IrcMessage& m, SessionOutput& out) {
  const int code = std::stoi(m.command);
  auto text_from = [&](std::size_t first) {
    // "<middle params> :<trailing>" of what follows our nick, for the user.
    std::string t;
    for (std::size_t i = first; i < m.params.size(); ++i) {
      if (!t.empty()) t += i + 1 == m.params.size() ? ": " : " ";
      t += m.params[i];
    }
    return irc_to_xmpp_text(t);
  };
  // The answer to a PART of ours (ERR_NOSUCHCHANNEL: the channel went away,
  // ERR_NOTONCHANNEL): the user has already left. Before the moderation requests,
  // which also take 442: a PART is the likelier question.
  if ((code == 403 || code == 442) && part_answered(irc_lower(m.param(1)))) return;
  if (on_list_numeric(code, m, out) || admin_numeric(code, m, out)) return;
  switch (code) {
    case 1: case 2: case 3: case 4: case 42: case 250: case 251: case 252: case 253: case 254: case 255:
    case 265: case 266: case 329: case 396: case 422:
      return;  // registration chatter: nothing a user needs in a chat window
    case 375: motd_.clear(); return;
    case 372:
      if (motd_.size() < kMaxMotd) {
        if (!motd_.empty()) motd_ += '\n';
        motd_ += irc_to_xmpp_text(m.param(1));
      }
      return;
    case 376:
      server_message(motd_, out);
      motd_.clear();
      return;
    case 331:
      if (Room* r = live_room(irc_lower(m.param(1)))) r->topic.clear();
      return;
    case 332:
      if (Room* r = find_room(irc_lower(m.param(1)))) {
        if (r->behind_part) return;  // told to the JOIN before our PART
        r->topic = irc_to_xmpp_text(std::string_view(m.param(2)).substr(0, kMaxTopic));
        if (r->phase != Room::Phase::Joined) return;
      }
      return server_message(text_from(1), out);  // a TOPIC query's answer
    case 333:
      if (Room* r = live_room(irc_lower(m.param(1)))) {
        std::string_view who = m.param(2);
        r->topic_setter = std::string(who.substr(0, who.find_first_of("!@")));
      }
      return;
    case 353: {
      // RPL_NAMREPLY "<me> <=|*|@> <chan> :[prefixes]nick ..." (multi-prefix: all prefixes).
      Room* r = live_room(irc_lower(m.param(2)));
      if (!r || r->phase != Room::Phase::Joining) return;
      std::string_view names = m.param(3);
      while (!names.empty()) {
        auto sp = names.find(' ');
        auto word = names.substr(0, sp);
        names = sp == std::string_view::npos ? std::string_view() : names.substr(sp + 1);
        std::uint8_t modes = 0;
        while (!word.empty()) {
          auto bit = prefix_bit(word.front());
          if (bit == 0xFF) break;
          modes |= bit;
          word.remove_prefix(1);
        }
        word = word.substr(0, word.find('!'));  // userhost-in-names, should a server send it
        if (!word.empty()) r->occupants.add(word, modes, kMaxOccupants);
      }
      return;
    }
    case 366: {
      Room* r = live_room(irc_lower(m.param(1)));
      if (!r || r->phase != Room::Phase::Joining) return;
      r->phase = Room::Phase::Joined;
      r->ever_joined = true;
      r->occupants.add(nick_, 0, kMaxOccupants + 1);  // ourselves, even in a full list
      r->occupants.compact();
      for (auto& mem : r->members)
        if (!mem.welcomed) welcome(*r, mem, out);
      return;
    }
    case 401: case 404: {
      const std::string key = irc_lower(m.param(1));
      return echo_failed(key, code == 401 ? Failure::NotFound : Failure::Forbidden, text_from(1), out);
    }
    // Join refused: XEP-0045 §7.2.6-7.2.9 errors to the joining resources.
    case 437:
      // ERR_UNAVAILRESOURCE: a nick (-> like 433) or a channel (-> join refused).
      if (!is_channel_name(m.param(1))) return nick_refused(code, m, out);
      [[fallthrough]];
    case 470:  // ERR_LINKCHANNEL <chan> <target>: forwarded (Libera's +f); the target's JOIN is parted
    case 403: case 405: case 471: case 473: case 474: case 475: case 476: case 477: case 489: case 520: {
      Room* r = find_room(irc_lower(m.param(1)));
      if (r && r->behind_part) return;  // refuses the JOIN before our PART: this one is still asked
      if (!r || r->phase == Room::Phase::Joined) return server_message(text_from(1), out);
      Failure f = Failure::Forbidden;  // 473 invite-only, 474 banned, 477 registered only, 489 TLS only
      if (code == 475) f = Failure::NotAuthorized;  // bad channel key: XEP-0045 §7.2.6 password
      else if (code == 403 || code == 476) f = Failure::NotFound;
      else if (code == 405 || code == 437 || code == 471 || code == 470) f = Failure::Unavailable;
      if (code == 470)
        return join_failed(*r, f,
                           "The IRC server forwards " + m.param(1) + " to " + m.param(2) + ": join " + m.param(2) +
                               "%" + cfg_.server + " instead.",
                           out);
      return join_failed(*r, f, text_from(1), out);
    }
    // Nick refused; 435 (banned on a channel: Solanum), 438 (changed too fast:
    // Hybrid, ircu) and 447 (+N channel: UnrealIRCd, InspIRCd) refuse only changes.
    case 432: case 433: case 436: case 435: case 438: case 447: return nick_refused(code, m, out);
    case 442: case 482:
      if (Room* r = live_room(irc_lower(m.param(1)))) return room_notice(*r, text_from(2), out);
      return server_message(text_from(1), out);
    default:
      if (code >= 900 && code <= 908) return;  // SASL: the connection reports failures
      return server_message(text_from(1), out);
  }
}

}  // namespace sb::transport::irc
