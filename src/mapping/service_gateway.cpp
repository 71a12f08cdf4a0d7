// XEP-0100 jabber:iq:gateway (legacy address -> JID), XEP-0199 ping and
// XEP-0092 software version, answered by the domain.
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {

void CoreState::gateway(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto prompt = tr_.gateway_prompt();
  if (!prompt) return error(out, s, xmpp::Condition::ServiceUnavailable);
  auto bare = from.bare_str();
  if (!allowed(bare)) return forbidden(out, s, bare);

  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::gateway);
  if (s.type() == "get") {
    // XEP-0100 §6.3.1.
    xmpp::append_text(q, "desc", "Enter the " + *prompt + " of the contact you want to add.");
    xmpp::append_text(q, "prompt", *prompt);
    return send(out, std::move(reply));
  }
  // XEP-0100 §6.3.2: set -> the JID for what the user typed.
  auto input = xmpp::child_text(s.child("query", xmpp::ns::gateway), "prompt", xmpp::ns::gateway);
  auto peer = tr_.gateway_resolve(input);
  if (!peer || peer->empty())
    return error(out, s, xmpp::Condition::NotAcceptable, "Not a valid " + *prompt + ": " + input);
  xmpp::append_text(q, "jid", jid_for(*peer));
  send(out, std::move(reply));
}

void CoreState::ping(const xmpp::Stanza& s, Effects& out) { send(out, xmpp::make_result(s)); }

void CoreState::version(const xmpp::Stanza& s, Effects& out) {
  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::version);
  xmpp::append_text(q, "name", "switchboard");
  xmpp::append_text(q, "version", cfg_.version);
  send(out, std::move(reply));
}

}  // namespace sb::mapping::detail
