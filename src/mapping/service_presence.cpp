// Presence to and from the domain JID (SPEC §4): the domain's presence follows
// the transport's backend; subscriptions are accepted from allowed, registered
// users and refused (without leaking presence) from anyone else (RFC 6121 §3).
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {

xmpp::Stanza CoreState::domain_presence(const std::string& to) {
  if (backend_up_) {
    auto p = xmpp::make_presence(cfg_.domain, to);
    if (!backend_text_.empty()) xmpp::append_text(p.root(), "status", backend_text_);
    return p;
  }
  auto p = xmpp::make_presence(cfg_.domain, to, "unavailable");
  xmpp::append_text(p.root(), "status", backend_text_.empty() ? "The backend is unreachable." : backend_text_);
  return p;
}

void CoreState::announce_domain(Effects& out) {
  for (const auto& user : reg_.subscribers(cfg_.domain, ""))
    if (allowed(user)) send(out, domain_presence(user));
}

void CoreState::domain_presence_in(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto type = s.type();
  auto bare = from.bare_str();
  if (type == "subscribe") {
    if (!may_use(bare)) {
      log_->info("refused a subscription from {}: not allowed or not registered", bare);
      return send(out, xmpp::make_presence(cfg_.domain, bare, "unsubscribed", next_id()));
    }
    reg_.set_subscribed(cfg_.domain, bare, "", true);
    send(out, xmpp::make_presence(cfg_.domain, bare, "subscribed", next_id()));
    // RFC 6121 §3.1.5: after approving, the contact sends its current presence.
    return send(out, domain_presence(bare));
  }
  if (type == "unsubscribe") {
    reg_.set_subscribed(cfg_.domain, bare, "", false);
    return send(out, xmpp::make_presence(cfg_.domain, bare, "unsubscribed", next_id()));
  }
  if (type == "probe") {
    if (!may_use(bare)) return send(out, xmpp::make_presence(cfg_.domain, bare, "unsubscribed", next_id()));
    return send(out, domain_presence(std::string(s.from())));
  }
  // available/unavailable (the user's own presence), subscribed/unsubscribed
  // (answers to our requests), error: nothing to say.
}

}  // namespace sb::mapping::detail
