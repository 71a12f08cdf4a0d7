// Requests about rooms that a room itself would answer (XEP-0045), for the
// transports that have rooms (IRC): an occupant's moderation (§8) and invitations
// (§7.8.2 mediated, XEP-0249 direct). Which resource is in which room is the
// transport's knowledge (Transport::occupancy); the core checks it before
// anything is sent on a user's behalf.
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {

// XEP-0045 §8: an occupant's moderation request (one <item/>: §8.2 kick, §8.3-8.4
// voice, §9.6-9.7 moderator), for the transport to carry out; answered when it has.
void CoreState::room_admin(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer,
                           const pugi::xml_node& query, Effects& out) {
  transport::RoomAdmin a;
  a.user = from.bare_str();
  a.user_resource = from.resource();
  a.peer = peer;
  int items = 0;
  for (auto it : query.children()) {
    if (it.type() != pugi::node_element) continue;
    if (xmpp::local_name(it) != "item" || ++items > 1)
      return error(out, s, xmpp::Condition::BadRequest, "One <item/> per request.");
    a.nick = it.attribute("nick").value();
    a.role = it.attribute("role").value();
    a.affiliation = it.attribute("affiliation").value();
    a.reason = xmpp::child_text(it, "reason", xmpp::ns::muc_admin);
  }
  if (items != 1 || a.nick.empty() || (a.role.empty() == a.affiliation.empty()))
    return error(out, s, xmpp::Condition::BadRequest, "Give one <item/> with a nick and a role or an affiliation.");
  switch (tr_.occupancy(a.user, a.user_resource, peer, a.nick)) {
    case transport::Occupancy::Unknown: return error(out, s, xmpp::Condition::ServiceUnavailable);
    case transport::Occupancy::NotJoined:
      return error(out, s, xmpp::Condition::Forbidden, "Only occupants of " + std::string(s.to()) + " can do that.");
    case transport::Occupancy::Self:
    case transport::Occupancy::Other: break;
  }
  a.ref = next_ref();
  // Its own map: the iq must be answered even after 10 000 other stanzas were sent.
  iq_pending_.put(a.ref, Pending{"iq", std::string(s.from()), std::string(s.to()), std::string(s.id()), "set", false},
                  steady_ms());
  to_transport(out, std::move(a));
}

bool CoreState::is_invitation(const xmpp::Stanza& s) {
  if (xmpp::child(s.child("x", xmpp::ns::muc_user), "invite", xmpp::ns::muc_user)) return true;
  return static_cast<bool>(s.child("x", xmpp::ns::conference));
}

bool CoreState::invitation(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, Effects& out) {
  auto refuse = [&](xmpp::Condition c, std::string_view text) {
    error(out, s, c, text);
    return true;  // answered
  };
  const std::string bare = from.bare_str();
  transport::RoomInvite inv;
  inv.user = bare;
  inv.user_resource = from.resource();
  std::optional<xmpp::Jid> invitee;
  if (auto i = xmpp::child(s.child("x", xmpp::ns::muc_user), "invite", xmpp::ns::muc_user)) {
    // XEP-0045 §7.8.2: sent to the room, naming whom to invite.
    invitee = xmpp::Jid::parse(i.attribute("to").value());
    inv.room = peer;
    inv.reason = xmpp::child_text(i, "reason", xmpp::ns::muc_user);
  } else {
    // XEP-0249: sent to the contact, naming the room.
    auto x = s.child("x", xmpp::ns::conference);
    auto room = xmpp::Jid::parse(x.attribute("jid").value());
    auto room_peer = room && room->domain() == cfg_.domain ? peer_for(room->local()) : std::nullopt;
    if (!room_peer) return false;  // a room elsewhere: not ours to carry
    inv.room = *room_peer;
    invitee = xmpp::Jid::parse(s.to());  // the contact it was sent to
    inv.reason = x.attribute("reason").value();
  }
  if (!invitee) return refuse(xmpp::Condition::JidMalformed, "Whom to invite? <invite to='…'/>");
  switch (tr_.occupancy(bare, inv.user_resource, inv.room, {})) {
    case transport::Occupancy::Unknown: return false;  // not a room of this transport
    case transport::Occupancy::NotJoined:
      return refuse(xmpp::Condition::Forbidden, "Only occupants can invite; join the room first.");
    case transport::Occupancy::Self:
    case transport::Occupancy::Other: break;
  }
  const std::string room_jid = jid_for(inv.room);
  if (invitee->domain() != cfg_.domain) {
    // An XMPP user: the invitation goes on to them from the room, as a MUC service
    // sends it (§7.8.2); they join through this gateway like anyone.
    auto msg = xmpp::make_message(room_jid, invitee->str(), {}, next_id());
    xmpp::append_text(msg.root(), "body", bare + " invites you to " + room_jid +
                                              (inv.reason.empty() ? std::string() : ": " + inv.reason));
    auto i = xmpp::append(xmpp::append(msg.root(), "x", xmpp::ns::muc_user), "invite", xmpp::ns::muc_user);
    i.append_attribute("from").set_value(bare.c_str());
    if (!inv.reason.empty()) xmpp::append_text(i, "reason", inv.reason);
    send(out, std::move(msg));
    return true;
  }
  auto who = peer_for(invitee->local());
  if (!who) return refuse(xmpp::Condition::JidMalformed, "Not an address on this gateway: " + invitee->local());
  inv.invitee = *who;
  inv.ref = next_ref();
  pending_.put(inv.ref, Pending{"message", std::string(s.from()), std::string(s.to()), std::string(s.id()),
                                std::string(s.type()), false},
               steady_ms());
  to_transport(out, std::move(inv));
  return true;
}

}  // namespace sb::mapping::detail
