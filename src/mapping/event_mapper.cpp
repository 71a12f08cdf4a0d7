// Transport events -> stanzas: messages and presence from legacy contacts, the
// outcome of commands (errors, XEP-0184 receipts) and the backend's state as the
// domain's presence. Also the announcements on (re)connect and shutdown.
#include <algorithm>

#include "common/civil_time.hpp"
#include "component/builders.hpp"
#include "component/message_text.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
const char* type_of(transport::MessageKind k) {
  switch (k) {
    case transport::MessageKind::Chat: return "chat";
    case transport::MessageKind::Groupchat: return "groupchat";
    case transport::MessageKind::Headline: return "headline";
    case transport::MessageKind::Normal: break;
  }
  return "normal";
}


bool valid_show(std::string_view s) { return s == "away" || s == "chat" || s == "dnd" || s == "xa"; }

xmpp::Stanza contact_presence(const std::string& from, const std::string& to, const ContactPresence& cp) {
  auto p = xmpp::make_presence(from, to);
  // RFC 6121 §4.7.2.1: only the four defined values.
  if (valid_show(cp.show)) xmpp::append_text(p.root(), "show", cp.show);
  if (!cp.status.empty()) xmpp::append_text(p.root(), "status", cp.status);
  return p;
}

// XEP-0045 §7.2: <x xmlns='…muc#user'><item affiliation role [nick]>[<actor/>][<reason/>]</item><status/>…</x>.
void append_muc_user(pugi::xml_node parent, const transport::MucPresence& m) {
  auto x = xmpp::append(parent, "x", xmpp::ns::muc_user);
  auto item = x.append_child("item");
  item.append_attribute("affiliation").set_value(m.affiliation.empty() ? "none" : m.affiliation.c_str());
  item.append_attribute("role").set_value(m.role.empty() ? "none" : m.role.c_str());
  if (!m.nick.empty()) item.append_attribute("nick").set_value(xmpp::sanitize_text(m.nick).c_str());
  if (!m.actor.empty()) item.append_child("actor").append_attribute("nick").set_value(xmpp::sanitize_text(m.actor).c_str());
  if (!m.reason.empty()) xmpp::append_text(item, "reason", m.reason);
  for (int code : m.codes) x.append_child("status").append_attribute("code").set_value(code);
}

bool is_self(const transport::MucPresence& m) {
  return std::find(m.codes.begin(), m.codes.end(), 110) != m.codes.end();
}
}  // namespace

xmpp::Condition condition_of(transport::Failure f) {
  using transport::Failure;
  using xmpp::Condition;
  switch (f) {
    case Failure::NotFound: return Condition::ItemNotFound;
    case Failure::Forbidden: return Condition::Forbidden;
    case Failure::Unavailable: return Condition::RecipientUnavailable;
    case Failure::BadRequest: return Condition::BadRequest;
    case Failure::Conflict: return Condition::Conflict;
    case Failure::NotAcceptable: return Condition::NotAcceptable;
    case Failure::NotAuthorized: return Condition::NotAuthorized;  // e.g. XEP-0045 §7.2.6 wrong password
    case Failure::Internal: break;
  }
  return Condition::InternalServerError;
}

xmpp::Stanza request_of(const Pending& p) {
  auto req = xmpp::Stanza::make(p.name);
  req.set_attr("from", p.from).set_attr("to", p.to);
  req.set_attr("id", p.id).set_attr("type", p.type);
  return req;
}

std::string encode_origin(const Pending& p) {
  std::string s;
  for (const std::string* f : {&p.name, &p.from, &p.to, &p.id, &p.type}) {
    s += std::to_string(f->size());
    s += ':';
    s += *f;
  }
  s += p.receipt ? '1' : '0';
  return s;
}

std::optional<Pending> decode_origin(std::string_view s) {
  Pending p;
  for (std::string* f : {&p.name, &p.from, &p.to, &p.id, &p.type}) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 6) return std::nullopt;
    std::size_t n = 0;
    for (char c : s.substr(0, colon)) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    s.remove_prefix(colon + 1);
    if (n > s.size()) return std::nullopt;
    *f = std::string(s.substr(0, n));
    s.remove_prefix(n);
  }
  if (s != "0" && s != "1") return std::nullopt;
  p.receipt = s == "1";
  if (p.name != "message" && p.name != "presence") return std::nullopt;
  return p;
}

void CoreState::on_event(transport::Event e, Effects& out) {
  // One user, or everyone who follows this peer (allowed users only: the allow
  // list may have shrunk since they subscribed).
  // `also_to` (configured by the admin, e.g. MQTT subscribers) need no allow check.
  auto recipients = [&](const std::string& user, const std::string& resource, const std::string& peer,
                        const std::vector<std::string>& also_to) {
    if (!user.empty()) {
      // One resource (e.g. the one that joined a room); it came from a stanza's
      // `from`, but the transport kept it: checked again before it becomes a `to`.
      if (resource.empty()) return std::vector<std::string>{user};
      auto full = xmpp::Jid::parse(user + "/" + resource);
      if (!full) {
        log_->warn("not a user JID, skipped: '{}/{}'", user, resource);
        return std::vector<std::string>{};
      }
      return std::vector<std::string>{full->str()};
    }
    std::vector<std::string> users;
    for (auto& u : reg_.subscribers(cfg_.domain, peer))
      if (allowed(u)) users.push_back(std::move(u));
    for (const auto& u : also_to) {
      // The core owns JIDs: case-folded like every subscriber, so each user gets it once.
      auto jid = xmpp::Jid::parse(u);
      if (!jid || jid->local().empty()) {
        log_->warn("not a user JID, skipped: '{}'", u);
        continue;
      }
      auto bare = jid->bare_str();
      if (std::find(users.begin(), users.end(), bare) == users.end()) users.push_back(std::move(bare));
    }
    return users;
  };

  if (auto* m = std::get_if<transport::InboundMessage>(&e)) {
    std::string body = m->body.empty() ? m->oob_url : m->body;  // XEP-0066 §3: the URL in the body too
    // XEP-0045 §8.1: a subject message has no body, and an empty subject is one.
    if (body.empty() && !m->subject) return log_->debug("dropped an empty message from {}", m->peer);
    auto from = jid_for(m->peer, m->peer_resource);
    // A room's line: kept in the user's archive, every copy with its stanza-id;
    // one with no resource is for the archive only (mapping/room_archive.hpp).
    const std::string stanza_id = archived_id(*m);
    if (m->archive_line && m->user_resource.empty()) return;
    const std::string_view room_jid = std::string_view(from).substr(0, from.find('/'));
    const std::string delay_stamp = m->timestamp_ms ? civil::iso8601_ms(*m->timestamp_ms) : std::string();
    const std::string invite_jid = m->invite_room.empty() ? std::string() : jid_for(m->invite_room);
    for (const auto& user : recipients(m->user, m->user_resource, m->peer, m->also_to)) {
      // Straight to text (message_text.hpp): the most frequent stanza by far.
      const auto id = next_id();
      xmpp::MessageText t{.from = from, .to = user, .type = type_of(m->kind), .id = id};
      t.subject = m->subject ? &*m->subject : nullptr;
      t.body = body;  // sanitised: SPEC §3
      t.oob_url = m->oob_url;
      t.invite_jid = invite_jid;  // XEP-0249
      t.delay_from = cfg_.domain;  // XEP-0203
      t.delay_stamp = delay_stamp;
      // XEP-0359: the transport's stable id, else this stanza's own (unique to the
      // run, and kept when the link re-sends it).
      t.origin_id = m->id.empty() ? std::string_view(id) : std::string_view(m->id);
      t.stanza_id = stanza_id;
      if (!stanza_id.empty()) t.stanza_id_by = room_jid;
      out.push_back(SendXml{xmpp::message_text(t), m->delivery_token});
    }
    return;
  }

  if (auto* p = std::get_if<transport::PresenceUpdate>(&e)) {
    auto from = jid_for(p->peer, p->peer_resource);
    for (const auto& user : recipients(p->user, p->user_resource, p->peer, p->also_to)) {
      if (p->error) {
        if (!p->user_resource.empty()) join_failed(user, p->peer);  // its history is not given
        // E.g. a nick collision (XEP-0045 §7.2.9): as if answering the user's presence.
        auto req = xmpp::make_presence(user, from);
        if (auto e = xmpp::make_error(req, condition_of(*p->error), p->status)) send(out, std::move(*e));
        continue;
      }
      // Room occupants are many and the transport knows them: only the user's own
      // occupancy (status 110) is remembered, to say it ended on shutdown.
      const bool remember = !p->muc || is_self(*p->muc);
      if (p->available) {
        ContactPresence cp{p->show, p->status, p->muc.has_value()};
        auto pr = contact_presence(from, user, cp);
        if (p->muc) append_muc_user(pr.root(), *p->muc);
        send(out, std::move(pr));
        if (remember) available_[{user, from}] = std::move(cp);
        // XEP-0045 §7.2.15: the room's history after the joiner's self-presence.
        if (p->muc && remember && !p->user_resource.empty()) send_history(user, p->peer, out);
      } else {
        auto pr = xmpp::make_presence(from, user, "unavailable");
        if (!p->status.empty()) xmpp::append_text(pr.root(), "status", p->status);
        if (p->muc) append_muc_user(pr.root(), *p->muc);
        send(out, std::move(pr));
        if (remember) available_.erase({user, from});
      }
    }
    return;
  }

  if (auto* o = std::get_if<transport::SendOutcome>(&e)) {
    auto pending = pending_.take(o->ref);
    if (!pending) pending = presence_pending_.take(o->ref);
    if (!pending) pending = iq_pending_.take(o->ref);
    // A command the transport kept across a restart: answered from its origin.
    if (!pending && !o->origin.empty()) {
      pending = decode_origin(o->origin);
      // Only ever to one of this domain's contacts' senders: never a reply the
      // origin could point anywhere else.
      auto to = pending ? xmpp::Jid::parse(pending->to) : std::nullopt;
      if (!to || to->domain() != cfg_.domain || !xmpp::Jid::parse(pending->from)) pending.reset();
    }
    if (!pending) return log_->debug("outcome for unknown ref {}", o->ref);
    if (!o->ok) {
      return error(out, request_of(*pending), condition_of(o->failure), o->text);
    }
    if (pending->name == "iq") return send(out, xmpp::make_result(request_of(*pending)));  // e.g. a kick done
    if (pending->receipt && o->delivered) {
      // XEP-0184 §4.
      auto msg = xmpp::make_message(pending->to, pending->from, {}, next_id());
      xmpp::append(msg.root(), "received", xmpp::ns::receipts).append_attribute("id").set_value(pending->id.c_str());
      return send(out, std::move(msg));
    }
    // Accepted but not yet delivered: keep waiting for the delivery report.
    if (pending->receipt) pending_.put(o->ref, std::move(*pending), steady_ms());
    return;
  }

  if (auto* il = std::get_if<transport::ItemList>(&e)) return answer_items(std::move(*il), out);

  if (auto* l = std::get_if<transport::LinkState>(&e)) {
    if (l->up == backend_up_ && l->text == backend_text_) return;
    backend_up_ = l->up;
    backend_text_ = l->text;
    log_->info("backend {}{}{}", l->up ? "up" : "down", l->text.empty() ? "" : ": ", l->text);
    announce_domain(out);
  }
}

void CoreState::on_connected(Effects& out) {
  announce_domain(out);
  // The server forgot the directed presence we sent before the stream broke
  // (room occupancy is the client's own state: nothing to repeat).
  for (const auto& [key, cp] : available_)
    if (!cp.muc) send(out, contact_presence(key.second, key.first, cp));
}

void CoreState::on_start(Effects& out) {
  // Transports learn the registered users' fields from the core, not the registry.
  for (auto& r : reg_.registrations(cfg_.domain)) {
    auto settings = reg_.settings(cfg_.domain, r.user);
    const std::string user = r.user;
    to_transport(out, transport::UserRegistered{user, std::move(r.fields)});
    if (!settings.empty()) to_transport(out, transport::SettingsChanged{user, std::move(settings)});
  }
}

void CoreState::on_shutdown(Effects& out) {
  // SPEC §1: unavailable for every legacy contact made available, then the domain.
  for (const auto& [key, cp] : available_) {
    auto pr = xmpp::make_presence(key.second, key.first, "unavailable");
    // XEP-0045 §9.8 / status 332: removed from the room because of a system shutdown.
    if (cp.muc) append_muc_user(pr.root(), transport::MucPresence{.role = "none", .codes = {110, 332}});
    send(out, std::move(pr));
  }
  available_.clear();
  for (const auto& user : reg_.subscribers(cfg_.domain, "")) {
    auto p = xmpp::make_presence(cfg_.domain, user, "unavailable");
    xmpp::append_text(p.root(), "status", "The gateway is shutting down.");
    send(out, std::move(p));
  }
}

}  // namespace sb::mapping::detail
