// Stanzas addressed to legacy contacts (local@domain[/resource]) become transport
// Commands, after the checks of SPEC §4: allowed -> forbidden, registered ->
// registration-required, a valid address -> jid-malformed.
#include <algorithm>

#include "common/civil_time.hpp"
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
// A message with something for the legacy side to show: a body, or a subject
// (XEP-0045 §8.1, an IRC topic). Chat states and receipts alone have nowhere to go.
bool says_anything(const xmpp::Stanza& s) {
  return s.child("body", xmpp::ns::component) || s.child("subject", xmpp::ns::component);
}

transport::MessageKind kind_of(std::string_view type) {
  // RFC 6121 §5.2.2: no type means "normal".
  if (type == "chat") return transport::MessageKind::Chat;
  if (type == "groupchat") return transport::MessageKind::Groupchat;
  if (type == "headline") return transport::MessageKind::Headline;
  return transport::MessageKind::Normal;
}
}  // namespace

// XEP-0045 §7.2.15: how much of the room's history the joining client wants.
void CoreState::read_history_request(const pugi::xml_node& h, transport::OutboundPresence& op) {
  if (auto a = h.attribute("maxstanzas")) op.history_max = a.as_ullong();
  if (auto a = h.attribute("maxchars"); a && a.as_ullong() == 0) op.history_max = 0;  // "none at all"
  if (auto a = h.attribute("seconds")) {
    const std::int64_t now = clock_.unix_ms();  // more seconds than since 1970 ask for everything
    op.history_since_ms = now - static_cast<std::int64_t>(std::min<unsigned long long>(a.as_ullong(), now / 1000)) * 1000;
  }
  if (auto a = h.attribute("since")) {
    if (auto t = civil::parse_iso8601_ms(a.value())) op.history_since_ms = std::max(op.history_since_ms.value_or(*t), *t);
  }
}

void CoreState::legacy(const xmpp::Stanza& s, const xmpp::Jid& from, const xmpp::Jid& to, Effects& out) {
  auto name = s.name();
  auto type = s.type();
  // Errors and results are never answered (RFC 6120 §8.3.1).
  if (type == "error" || (name == "iq" && type != "get" && type != "set")) return;
  if (name == "message" && !says_anything(s) && !is_invitation(s)) return;
  // Answers to a contact's subscription request: the legacy side has no such notion.
  if (name == "presence" && (type == "subscribed" || type == "unsubscribed")) return;

  if (name == "presence" && !type.empty() && type != "unavailable" && type != "probe" && type != "subscribe" &&
      type != "unsubscribe") {
    // Not a presence type (RFC 6121 §4.7.1).
    return error(out, s, xmpp::Condition::BadRequest, "Unknown presence type.");
  }

  auto bare = from.bare_str();
  if (!allowed(bare)) {
    if (name == "presence" && type == "unsubscribe") {
      // Always honoured, whoever asks: it can only remove state.
      if (auto peer = peer_for(to.local())) reg_.set_subscribed(cfg_.domain, bare, *peer, false);
      return send(out, xmpp::make_presence(to.bare_str(), bare, "unsubscribed", next_id()));
    }
    if (name == "presence" && type == "unavailable") return;  // a user going offline needs no error
    return forbidden(out, s, bare);
  }
  if (tr_.requires_registration() && !registered(bare)) {
    if (name == "presence" && type == "unavailable") return;
    return error(out, s, xmpp::Condition::RegistrationRequired,
                 "Register with " + cfg_.domain + " first (XEP-0077).");
  }
  auto peer = peer_for(to.local());
  if (!peer) return error(out, s, xmpp::Condition::JidMalformed, "Not an address on this gateway: " + to.local());

  if (name == "iq") {
    // disco#info of a room or contact, when the transport describes it (XEP-0045
    // §6.4: clients ask a room before joining it).
    if (type == "get" && to.resource().empty()) {
      if (auto q = s.child("query", xmpp::ns::disco_info); q && std::string_view(q.attribute("node").value()).empty()) {
        if (auto info = tr_.peer_info(bare, *peer)) return peer_disco_info(s, *info, out);
      }
      // disco#items of an address whose items live on the backend (an IRC server's channels).
      if (auto q = s.child("query", xmpp::ns::disco_items);
          q && std::string_view(q.attribute("node").value()).empty() && tr_.lists_items(*peer))
        return ask_items(s, from, *peer, out);
    }
    if (type == "set" && to.resource().empty()) {
      if (auto q = s.child("query", xmpp::ns::muc_admin)) return room_admin(s, from, *peer, q, out);
    }
    // XEP-0313 on a room: the user's own archive of it.
    if (to.resource().empty() && archive_) {
      if (auto q = s.child("query", xmpp::ns::mam);
          q && tr_.occupancy(bare, from.resource(), *peer, {}) != transport::Occupancy::Unknown)
        return mam(s, from, *peer, q, out);
    }
    if (!to.resource().empty()) {
      // An iq to a room occupant: only occupants may send one, and a ping to one's
      // own occupant JID is XEP-0410's "am I still joined?" (§3.2: not-acceptable
      // = no; §3.3: the service itself answers yes).
      switch (tr_.occupancy(bare, from.resource(), *peer, to.resource())) {
        case transport::Occupancy::NotJoined:
          return error(out, s, xmpp::Condition::NotAcceptable, "You are not in " + to.bare_str() + "; join it again.");
        case transport::Occupancy::Self:
          if (type == "get" && s.child("ping", xmpp::ns::ping)) return send(out, xmpp::make_result(s));
          break;
        case transport::Occupancy::Other:
        case transport::Occupancy::Unknown: break;
      }
    }
    // Legacy contacts answer no other iqs; say so rather than leaving the user waiting.
    return error(out, s, xmpp::Condition::ServiceUnavailable);
  }

  if (name == "message" && is_invitation(s)) {
    if (invitation(s, from, *peer, out)) return;
    // Not about one of our rooms: an ordinary message, if it says anything.
    if (!says_anything(s)) return;
  }

  auto ref = next_ref();
  Pending p{std::string(name), std::string(s.from()), std::string(s.to()), std::string(s.id()), std::string(type), false};
  if (name == "message") {
    transport::OutboundMessage m;
    m.ref = ref;
    m.user = bare;
    m.user_resource = from.resource();
    m.peer = *peer;
    m.peer_resource = to.resource();
    m.body = xmpp::child_text(s.root(), "body", xmpp::ns::component);
    m.subject = xmpp::child_text(s.root(), "subject", xmpp::ns::component);
    m.kind = kind_of(type);
    // XEP-0359 origin-id, else the stanza id: what the sender matches a MUC reflection by.
    m.id = s.child("origin-id", xmpp::ns::sid).attribute("id").value();
    if (m.id.empty()) m.id = s.id();
    // XEP-0184 §5.4: only a message with an id can be acknowledged.
    m.want_outcome = s.child("request", xmpp::ns::receipts) && !s.id().empty();
    p.receipt = m.want_outcome;
    if (tr_.keeps_commands_durably()) m.origin = encode_origin(p);
    pending_.put(ref, std::move(p), steady_ms());
    return to_transport(out, std::move(m));
  }

  // presence
  transport::OutboundPresence op;
  op.ref = ref;
  op.user = bare;
  op.user_resource = from.resource();
  op.peer = *peer;
  op.peer_resource = to.resource();
  op.type = type;
  op.available = type != "unavailable";
  op.show = xmpp::child_text(s.root(), "show", xmpp::ns::component);
  op.status = xmpp::child_text(s.root(), "status", xmpp::ns::component);
  if (auto x = s.child("x", xmpp::ns::muc)) {
    op.muc = true;
    op.muc_password = xmpp::child_text(x, "password", xmpp::ns::muc);
    if (auto h = xmpp::child(x, "history", xmpp::ns::muc)) read_history_request(h, op);
    want_history(from.str(), op);
  }
  // Kept only where an answer can come: a room join or change (to room/nick, or
  // with XEP-0045's <x/>). The broadcasts a server sends every contact on each
  // login would otherwise fill the map and push out the joins it exists to keep.
  if (op.muc || !op.peer_resource.empty()) presence_pending_.put(ref, std::move(p), steady_ms());
  if (type == "subscribe") {
    reg_.set_subscribed(cfg_.domain, bare, *peer, true);
    to_transport(out, std::move(op));
    // RFC 6121 §3.1.3: approve on the contact's behalf; the gateway relays its presence.
    return send(out, xmpp::make_presence(to.bare_str(), bare, "subscribed", next_id()));
  }
  if (type == "unsubscribe") {
    reg_.set_subscribed(cfg_.domain, bare, *peer, false);
    to_transport(out, std::move(op));
    return send(out, xmpp::make_presence(to.bare_str(), bare, "unsubscribed", next_id()));
  }
  to_transport(out, std::move(op));
}

}  // namespace sb::mapping::detail
