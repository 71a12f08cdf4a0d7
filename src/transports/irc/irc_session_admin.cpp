// IrcSession: XEP-0045 §8 moderation as KICK and MODE (see irc_session.hpp).
#include <algorithm>

#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_session.hpp"
#include "transports/irc/irc_session_detail.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {
using namespace detail;

namespace {
// The +o / +v an occupant should end up with for a role or affiliation; nullopt:
// not something IRC channel modes express.
struct Wanted {
  bool op = false;
  bool voice = false;
};
std::optional<Wanted> wanted(const RoomAdmin& a) {
  const std::string& what = a.role.empty() ? a.affiliation : a.role;
  if (what == "moderator" || what == "admin" || what == "owner") return Wanted{true, true};
  if (what == "participant" || what == "member") return Wanted{false, true};
  if (what == "visitor" || (a.role.empty() && what == "none")) return Wanted{false, false};
  return std::nullopt;
}
}  // namespace

void IrcSession::ok(std::uint64_t ref, SessionOutput& out) {
  SendOutcome o;
  o.ref = ref;
  out.events.emplace_back(std::move(o));
}

IrcSession::Room* IrcSession::acting_room(std::uint64_t ref, const std::string& room_peer,
                                          const std::string& resource, SessionOutput& out) {
  auto addr = parse_peer(room_peer);
  Room* room = addr && addr->kind == IrcAddress::Kind::Channel ? find_room(irc_lower(addr->name)) : nullptr;
  // In the room as occupancy() says: welcomed, or waiting for the rejoin after a loss.
  const bool member = room && std::any_of(room->members.begin(), room->members.end(), [&](const Member& m) {
                        return m.resource == resource && (m.welcomed || room->ever_joined);
                      });
  if (!member) {
    fail(ref, Failure::Forbidden, "Only occupants of " + room_peer + " can do that.", out);
    return nullptr;
  }
  if (state_ != State::Ready || room->phase != Room::Phase::Joined) {
    fail(ref, Failure::Unavailable, "Not connected to " + cfg_.server + " right now; reconnecting.", out);
    return nullptr;
  }
  if (admins_.size() >= kMaxPendingAdmins) {
    fail(ref, Failure::Unavailable, "Too many requests waiting for " + cfg_.server + ".", out);
    return nullptr;
  }
  return room;
}

SessionOutput IrcSession::on_admin(const RoomAdmin& a, std::int64_t now_ms) {
  SessionOutput out;
  Room* room = acting_room(a.ref, a.peer, a.user_resource, out);
  if (!room) return out;
  auto target = occupant(*room, a.nick);
  if (!target) {
    fail(a.ref, Failure::NotFound, "No occupant " + a.nick + " in " + room->name + ".", out);
    return out;
  }
  OutLine l;
  if (a.role == "none") {
    // §8.2 kick.
    std::vector<std::string> params{room->name, target->nick};
    if (auto reason = one_line(a.reason); !reason.empty()) params.push_back(std::move(reason));
    l = line("KICK", std::move(params));
  } else {
    auto want = wanted(a);
    if (!want) {
      fail(a.ref, Failure::NotAcceptable,
           "IRC channel modes cannot express " + (a.role.empty() ? "affiliation " + a.affiliation : "role " + a.role) +
               " (bans: send MODE " + room->name + " +b as a raw line to the server JID).",
           out);
      return out;
    }
    std::string modes;
    std::vector<std::string> params{room->name, ""};
    auto change = [&](char letter, bool has, bool wants) {
      if (has == wants || prefix_modes_.find(letter) == std::string::npos) return;
      const char sign = wants ? '+' : '-';
      if (modes.empty() || modes[modes.find_last_of("+-")] != sign) modes += sign;
      modes += letter;
      params.push_back(target->nick);
    };
    change('o', (target->modes & kOp) != 0, want->op);
    change('v', (target->modes & kVoice) != 0, want->voice);
    if (modes.empty()) {
      ok(a.ref, out);  // already so: nothing to ask the server
      return out;
    }
    params[1] = modes;
    l = line("MODE", std::move(params));
  }
  out.lines.push_back(std::move(l));
  admins_.push_back(PendingAdmin{a.ref, room->key, irc_lower(target->nick), now_ms});
  return out;
}

SessionOutput IrcSession::on_invite(const RoomInvite& inv, std::int64_t now_ms) {
  SessionOutput out;
  Room* room = acting_room(inv.ref, inv.room, inv.user_resource, out);
  if (!room) return out;
  auto who = parse_peer(inv.invitee);
  if (!who || who->kind != IrcAddress::Kind::Nick || who->server != cfg_.server) {
    fail(inv.ref, Failure::NotAcceptable, "Only IRC users of " + cfg_.server + " can be invited to " + room->name + ".",
         out);
    return out;
  }
  out.lines.push_back(line("INVITE", {who->name, room->name}));
  admins_.push_back(PendingAdmin{inv.ref, room->key, irc_lower(who->name), now_ms});
  return out;
}

void IrcSession::on_invited(const IrcMessage& m, SessionOutput& out) {
  // :inviter INVITE <us> <#chan>: a XEP-0249 invitation from the inviter.
  if (!is_self(m.param(0)) || !is_channel_name(m.param(1)) || m.nick().empty()) return;
  const std::string channel = decode_irc_text(m.param(1));
  InboundMessage im;
  im.user = cfg_.user;
  im.peer = peer_of_nick(m.nick());
  im.kind = MessageKind::Normal;
  im.invite_room = channel + "%" + cfg_.server;
  im.body = std::string(m.nick()).append(" invites you to ").append(channel).append(" on ").append(cfg_.server);
  out.events.emplace_back(std::move(im));
}

void IrcSession::admin_seen(std::string_view room_key, std::string_view nick, SessionOutput& out) {
  const std::string key = irc_lower(nick);
  for (auto it = admins_.begin(); it != admins_.end();) {
    if (it->room_key == room_key && it->nick_key == key) {
      ok(it->ref, out);
      it = admins_.erase(it);
    } else {
      ++it;
    }
  }
}

bool IrcSession::admin_numeric(int code, const IrcMessage& m, SessionOutput& out) {
  if (admins_.empty()) return false;
  // 341 RPL_INVITING <me> <nick> <chan>; 443 ERR_USERONCHANNEL <me> <nick> <chan>
  // (invited, or already there: either way where the inviter wants them).
  if (code == 341 || code == 443) {
    const auto before = admins_.size();
    admin_seen(irc_lower(m.param(2)), m.param(1), out);
    return admins_.size() != before;
  }
  // 482 ERR_CHANOPRIVSNEEDED <me> <chan>; 442 ERR_NOTONCHANNEL <me> <chan>;
  // 441 ERR_USERNOTINCHANNEL <me> <nick> <chan>; 401 ERR_NOSUCHNICK <me> <nick>.
  std::string room_key, nick_key;
  Failure f;
  switch (code) {
    case 482: case 442: room_key = irc_lower(m.param(1)); f = Failure::Forbidden; break;
    case 441: nick_key = irc_lower(m.param(1)); room_key = irc_lower(m.param(2)); f = Failure::NotFound; break;
    case 401: nick_key = irc_lower(m.param(1)); f = Failure::NotFound; break;
    default: return false;
  }
  const std::string text = "The IRC server says: " + irc_to_xmpp_text(m.param(code == 441 ? 3 : 2));
  // The server answers in order: the oldest request this reply can be about is
  // the one it answers (a 482 may also answer, say, a TOPIC of ours: then the
  // request gets a refusal that is just as true, and its own 482 shows as text).
  auto it = std::find_if(admins_.begin(), admins_.end(), [&](const PendingAdmin& a) {
    return (room_key.empty() || a.room_key == room_key) && (nick_key.empty() || a.nick_key == nick_key);
  });
  if (it == admins_.end()) return false;
  fail(it->ref, f, text, out);
  admins_.erase(it);
  return code != 401;  // a 401 may also be about a private message: its handling goes on
}

void IrcSession::expire_admins(std::int64_t now_ms, SessionOutput& out) {
  for (auto it = admins_.begin(); it != admins_.end();) {
    if (now_ms - it->at_ms >= kAdminTimeoutMs) {
      fail(it->ref, Failure::Unavailable, "The IRC server did not answer.", out);
      it = admins_.erase(it);
    } else {
      ++it;
    }
  }
}

void IrcSession::fail_admins(Failure f, const std::string& text, SessionOutput& out) {
  for (const auto& a : admins_) fail(a.ref, f, text, out);
  admins_.clear();
}

}  // namespace sb::transport::irc
