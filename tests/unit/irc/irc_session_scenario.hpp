// The scenario harness of the IrcSession tests: one XMPP user ("alice") with
// its resources against a fake IRC server, driven step by step (SPEC §7).
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include "transports/irc/irc_message.hpp"
#include "transports/irc/irc_session.hpp"

namespace sb::test::irc_session {

using namespace sb::transport;
using namespace sb::transport::irc;
using std::chrono::milliseconds;

inline constexpr std::int64_t kNow = 1'800'000'000'000;  // the "current" Unix time of these tests
inline const std::string kRoom = "#chan%irc.test";

inline SessionConfig config() {
  SessionConfig c;
  c.user = "alice@example.org";
  c.server = "irc.test";
  c.identity.nick = "alice";
  c.identity.realname = "switchboard user";
  c.grace_seconds = 30;
  c.reconnect_max_seconds = 8;
  return c;
}

inline std::vector<std::string> wire(const SessionOutput& o) {
  std::vector<std::string> v;
  for (const auto& l : o.lines) v.push_back(l.is_raw ? l.raw : serialize(l.msg));
  return v;
}

template <class T>
inline std::vector<T> all(const SessionOutput& o) {
  std::vector<T> v;
  for (const auto& e : o.events)
    if (auto* x = std::get_if<T>(&e)) v.push_back(*x);
  return v;
}

// One XMPP session against one fake IRC server.
struct Scenario {
  Scenario() = default;
  explicit Scenario(SessionConfig c) : s{std::move(c)} {}
  IrcSession s{config()};
  std::uint64_t next_ref = 100;

  OutboundPresence presence(const std::string& resource, const std::string& room, const std::string& nick,
                            const std::string& type = "") {
    OutboundPresence p;
    p.ref = ++next_ref;
    p.user = "alice@example.org";
    p.user_resource = resource;
    p.peer = room;
    p.peer_resource = nick;
    p.type = type;
    p.available = type != "unavailable";
    p.muc = type.empty();
    return p;
  }
  SessionOutput join(const std::string& resource, const std::string& nick = "alice", const std::string& room = kRoom) {
    return s.on_presence(presence(resource, room, nick));
  }
  SessionOutput leave(const std::string& resource, const std::string& status = "", const std::string& room = kRoom) {
    auto p = presence(resource, room, "alice", "unavailable");
    p.status = status;
    return s.on_presence(p);
  }
  OutboundMessage message(const std::string& resource, const std::string& peer, const std::string& body,
                          MessageKind kind = MessageKind::Groupchat, const std::string& id = "") {
    OutboundMessage m;
    m.ref = ++next_ref;
    m.user = "alice@example.org";
    m.user_resource = resource;
    m.peer = peer;
    m.body = body;
    m.kind = kind;
    m.id = id;
    return m;
  }
  SessionOutput say(const std::string& resource, const std::string& body, const std::string& id = "") {
    return s.on_message(message(resource, kRoom, body, MessageKind::Groupchat, id));
  }
  SessionOutput irc(std::string_view line, std::int64_t now = kNow) {
    auto m = parse_line(line);
    REQUIRE(m);
    return s.on_irc(*m, now);
  }
  // Registered, in #chan with bob (op) and carol, the topic set.
  void joined(const std::string& resource = "phone", bool echo = false) {
    join(resource);
    s.on_registered("alice", echo);
    irc(":alice!~alice@host JOIN #chan");
    irc(":srv 332 alice #chan :The topic");
    irc(":srv 353 alice = #chan :alice @bob carol");
    irc(":srv 366 alice #chan :End of /NAMES list.");
  }
};

inline const MucPresence& muc(const PresenceUpdate& p) {
  REQUIRE(p.muc.has_value());
  return *p.muc;
}

inline bool has_code(const PresenceUpdate& p, int code) {
  return p.muc && std::find(p.muc->codes.begin(), p.muc->codes.end(), code) != p.muc->codes.end();
}

}  // namespace sb::test::irc_session
