// GatewayCore: the router and the helpers every concern shares. Follows Prosody's
// stanza_router: classify `to` (the domain = the service; local@domain[/res] = a
// legacy contact), then dispatch; an unhandled get/set iq -> service-unavailable;
// never answer an error with an error (RFC 6120 §8.3.1).
#include "mapping/gateway_core.hpp"

#include <cctype>

#include "common/glob.hpp"
#include "common/log.hpp"
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping {

namespace detail {

CoreState::CoreState(CoreConfig cfg, transport::Transport& tr, Registry& reg, const Clock& clock,
                     RoomArchive* archive)
    : cfg_(std::move(cfg)), tr_(tr), reg_(reg), clock_(clock), archive_(archive), log_(log::get(cfg_.domain)) {
  // Ids unique across restarts too: a reply to an id of a previous run must not
  // be mistaken for one of ours.
  id_prefix_ = "sb" + std::to_string(clock_.unix_ms()) + "-";
}

bool CoreState::is_admin(const std::string& bare) const {
  // Exact, ASCII case-insensitive: Jid::parse folds case, the config may not.
  auto lower = [](unsigned char c) { return static_cast<char>(std::tolower(c)); };
  for (const auto& a : cfg_.admins) {
    if (a.size() != bare.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < a.size() && same; ++i) same = lower(a[i]) == lower(bare[i]);
    if (same) return true;
  }
  return false;
}

bool CoreState::allowed(const std::string& bare) const {
  if (is_admin(bare)) return true;
  for (const auto& g : cfg_.allow)
    if (glob_match(g, bare)) return true;
  return false;
}

bool CoreState::registered(const std::string& bare) { return reg_.registration(cfg_.domain, bare).has_value(); }

bool CoreState::may_use(const std::string& bare) {
  return allowed(bare) && (!tr_.requires_registration() || registered(bare));
}

std::string CoreState::next_id() { return id_prefix_ + std::to_string(next_id_++); }

std::string CoreState::jid_for(const std::string& peer, const std::string& resource) {
  std::string local;
  if (peer.empty()) {
    // The domain itself (transport::Item with no peer).
  } else if (auto mapped = reg_.localpart_for(cfg_.domain, peer)) {
    local = *mapped;  // stored escaped (registry.hpp)
  } else {
    local = xmpp::escape_localpart(tr_.addresses().to_localpart(peer));
  }
  // Appends rather than `"/" + s`: also avoids a GCC 12 -O2 false -Wrestrict (bug 105651).
  std::string jid = local;
  if (!jid.empty()) jid.append("@");
  jid.append(cfg_.domain);
  return with_resource(std::move(jid), resource);
}

std::string CoreState::with_resource(std::string bare, const std::string& resource) {
  // A resource may come from the legacy side (an IRC nick): make it valid XML text.
  if (!resource.empty()) bare.append("/").append(xmpp::sanitize_text(resource));
  return bare;
}

std::optional<std::string> CoreState::peer_for(const std::string& localpart) {
  // XEP-0106: the wire form is escaped; the codec sees the unescaped one.
  if (auto p = tr_.addresses().from_localpart(xmpp::unescape_localpart(localpart))) return p;
  return reg_.legacy_for(cfg_.domain, localpart);
}

void CoreState::send(Effects& out, xmpp::Stanza s) { out.push_back(SendStanza{std::move(s)}); }

void CoreState::to_transport(Effects& out, transport::Command c) { out.push_back(ToTransport{std::move(c)}); }

void CoreState::error(Effects& out, const xmpp::Stanza& request, xmpp::Condition c, std::string_view text) {
  if (auto e = xmpp::make_error(request, c, text)) send(out, std::move(*e));
}

void CoreState::forbidden(Effects& out, const xmpp::Stanza& request, const std::string& bare) {
  error(out, request, xmpp::Condition::Forbidden, "This gateway does not allow " + bare + ".");
}

void CoreState::route(const xmpp::Stanza& s, Effects& out) {
  auto name = s.name();
  if (name != "message" && name != "presence" && name != "iq") {
    log_->debug("dropped a <{}/>: not a stanza", name);
    return;
  }
  // The server stamps `from`; without a valid one there is nobody to answer.
  auto from = xmpp::Jid::parse(s.from());
  if (!from) {
    log_->warn("dropped a <{}/> with a bad from '{}'", name, s.from());
    return;
  }
  auto to = xmpp::Jid::parse(s.to());
  if (!to) {
    // Addressed to us but not a JID (e.g. an unescaped space): say so, from the
    // domain itself since the `to` cannot be a `from`.
    std::string_view raw = s.to();
    auto bare = raw.substr(0, raw.find('/'));
    auto at = bare.rfind('@');
    if (at != std::string_view::npos && bare.substr(at + 1) == cfg_.domain) {
      auto copy = s.clone();
      copy.set_attr("to", cfg_.domain);
      error(out, copy, xmpp::Condition::JidMalformed, "Not a valid address at this gateway.");
    } else {
      log_->warn("dropped a <{}/> to a bad address '{}'", name, raw);
    }
    return;
  }
  if (to->domain() != cfg_.domain) {
    log_->warn("dropped a <{}/> for another domain '{}'", name, to->domain());
    return;
  }
  if (!to->local().empty()) {
    legacy(s, *from, *to, out);
  } else if (name == "iq") {
    service_iq(s, *from, out);
  } else if (name == "presence") {
    domain_presence_in(s, *from, out);
  } else {
    service_message(s, *from, out);
  }
}

void CoreState::service_iq(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto type = s.type();
  if (type != "get" && type != "set") return;  // result/error: we send no iqs that need one
  pugi::xml_node payload;
  for (auto c = s.root().first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element) { payload = c; break; }
  if (!payload) {
    // RFC 6120 §8.2.3: a get/set carries exactly one payload.
    error(out, s, xmpp::Condition::BadRequest, "An iq get or set needs a payload.");
    return;
  }
  auto name = xmpp::local_name(payload);
  auto ns = xmpp::ns_of(payload);
  bool get = type == "get";
  if (name == "query" && ns == xmpp::ns::disco_info && get) return disco_info(s, from, out);
  if (name == "query" && ns == xmpp::ns::disco_items && get) return disco_items(s, from, out);
  if (name == "query" && ns == xmpp::ns::register_) return get ? register_get(s, from, out) : register_set(s, from, out);
  if (name == "query" && ns == xmpp::ns::gateway) return gateway(s, from, out);
  if (name == "command" && ns == xmpp::ns::commands && !get) return command(s, from, out);
  if (name == "ping" && ns == xmpp::ns::ping && get) return ping(s, out);
  if (name == "query" && ns == xmpp::ns::version && get) return version(s, out);
  error(out, s, xmpp::Condition::ServiceUnavailable);
}

void CoreState::service_message(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  (void)from;
  if (s.type() == "error") return;
  // The domain is not a chat partner; a body deserves an answer, a chat state does not.
  if (s.child("body", xmpp::ns::component))
    error(out, s, xmpp::Condition::ServiceUnavailable,
          "This is a gateway: write to a contact at " + cfg_.domain + " instead.");
}

}  // namespace detail

struct GatewayCore::Impl : detail::CoreState {
  using detail::CoreState::CoreState;
  Effects count(Effects out) {
    for (const auto& e : out)
      if (std::holds_alternative<SendStanza>(e) || std::holds_alternative<SendXml>(e)) ++stanzas_out_;
    return out;
  }
};

GatewayCore::GatewayCore(CoreConfig cfg, transport::Transport& transport, Registry& registry, const Clock& clock,
                         RoomArchive* archive)
    : impl_(std::make_unique<Impl>(std::move(cfg), transport, registry, clock, archive)) {}

GatewayCore::~GatewayCore() = default;

Effects GatewayCore::on_stanza(const xmpp::Stanza& s) {
  ++impl_->stanzas_in_;
  Effects out;
  impl_->route(s, out);
  return impl_->count(std::move(out));
}

Effects GatewayCore::on_event(transport::Event e) {
  Effects out;
  impl_->on_event(std::move(e), out);
  return impl_->count(std::move(out));
}

Effects GatewayCore::on_connected() {
  Effects out;
  impl_->on_connected(out);
  return impl_->count(std::move(out));
}

Effects GatewayCore::on_start() {
  Effects out;
  impl_->on_start(out);
  return out;
}

Effects GatewayCore::on_shutdown() {
  Effects out;
  impl_->on_shutdown(out);
  return impl_->count(std::move(out));
}

bool GatewayCore::backend_up() const { return impl_->backend_up_; }
const std::string& GatewayCore::domain() const { return impl_->cfg_.domain; }

}  // namespace sb::mapping
