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

SessionOutput IrcSession::on_admin(const RoomAdmin& a, std::int64_t now_ms) {
  SessionOutput out;
  auto addr = parse_peer(a.peer);
  Room* room = addr && addr->kind == IrcAddress::Kind::Channel ? find_room(irc_lower(addr->name)) : nullptr;
  const bool member = room && std::any_of(room->members.begin(), room->members.end(),
                                          [&](const Member& m) { return m.resource == a.user_resource && m.welcomed; });
  if (!member) {
    fail(a.ref, Failure::Forbidden, "Only occupants of " + a.peer + " can do that.", out);
    return out;
  }
  if (state_ != State::Ready || room->phase != Room::Phase::Joined) {
    fail(a.ref, Failure::Unavailable, "Not connected to " + cfg_.server + " right now; reconnecting.", out);
    return out;
  }
  auto target = occupant(*room, a.nick);
  if (!target) {
    fail(a.ref, Failure::NotFound, "No occupant " + a.nick + " in " + room->name + ".", out);
    return out;
  }
  if (admins_.size() >= kMaxPendingAdmins) {
    fail(a.ref, Failure::Unavailable, "Too many moderation requests waiting for " + cfg_.server + ".", out);
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

bool IrcSession::admin_refused(int code, const IrcMessage& m, SessionOutput& out) {
  if (admins_.empty()) return false;
  // 482 ERR_CHANOPRIVSNEEDED <me> <chan>; 441 ERR_USERNOTINCHANNEL <me> <nick> <chan>;
  // 401 ERR_NOSUCHNICK <me> <nick>.
  std::string room_key, nick_key;
  Failure f;
  switch (code) {
    case 482: room_key = irc_lower(m.param(1)); f = Failure::Forbidden; break;
    case 441: nick_key = irc_lower(m.param(1)); room_key = irc_lower(m.param(2)); f = Failure::NotFound; break;
    case 401: nick_key = irc_lower(m.param(1)); f = Failure::NotFound; break;
    default: return false;
  }
  const std::string text = "The IRC server says: " + irc_to_xmpp_text(m.param(code == 482 ? 2 : code == 441 ? 3 : 2));
  bool any = false;
  for (auto it = admins_.begin(); it != admins_.end();) {
    if ((room_key.empty() || it->room_key == room_key) && (nick_key.empty() || it->nick_key == nick_key)) {
      fail(it->ref, f, text, out);
      it = admins_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
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
