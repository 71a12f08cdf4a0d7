// XEP-0077 in-band registration, with a XEP-0004 form (XEP-0077 §4) and the
// legacy field elements; XEP-0100 §4.1.1 (subscribe after registering) and §4.3
// (unsubscribe when the registration is removed).
#include <algorithm>
#include <array>

#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
// XEP-0077 §14.1: the registered field elements; other transport fields travel
// only in the data form, where any var is allowed.
bool legacy_field(std::string_view var) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "username", "nick", "password", "name", "first", "last",  "email", "address", "city",
      "state",    "zip",  "phone",    "url",  "date",  "misc", "text",  "key"};
  return std::find(kNames.begin(), kNames.end(), var) != kNames.end();
}

std::string current(const std::optional<Registration>& reg, const transport::Field& f) {
  // Never echo a secret back (XEP-0077 §3.3 shows it, but nothing needs it).
  if (f.type == "text-private") return {};
  if (reg)
    for (const auto& [k, v] : reg->fields)
      if (k == f.var) return v;
  return reg ? std::string() : f.value;
}

xmpp::FormField to_form_field(const transport::Field& f, std::string value) {
  xmpp::FormField ff;
  ff.var = f.var;
  ff.type = f.type;
  ff.label = f.label;
  ff.desc = f.desc;
  ff.required = f.required;
  for (const auto& o : f.options) ff.options.push_back({o, o});
  // The user's registered choice stays among the choices: a transport lists what
  // is free (SMS: the pool numbers nobody holds), and a client shows a value that
  // is not an option as nothing chosen, so submitting the form unchanged would
  // give up the user's number.
  if (f.type == "list-single" && !value.empty() &&
      std::none_of(f.options.begin(), f.options.end(), [&](const std::string& o) { return o == value; }))
    ff.options.insert(ff.options.begin(), {value, value});
  if (!value.empty()) ff.values.push_back(std::move(value));
  return ff;
}
}  // namespace

void CoreState::register_get(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto bare = from.bare_str();
  if (!allowed(bare)) return forbidden(out, s, bare);
  auto reg = reg_.registration(cfg_.domain, bare);
  auto fields = tr_.registration_fields();

  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::register_);
  xmpp::append_text(q, "instructions", tr_.registration_instructions());
  if (reg) q.append_child("registered");
  for (const auto& f : fields)
    if (legacy_field(f.var)) xmpp::append_text(q, f.var, current(reg, f));

  xmpp::DataForm form;
  form.title = std::string(tr_.display_name()) + " registration";
  form.instructions = tr_.registration_instructions();
  form.with_form_type(xmpp::ns::register_);
  for (const auto& f : fields) form.fields.push_back(to_form_field(f, current(reg, f)));
  xmpp::append_form(q, form);
  send(out, std::move(reply));
}

void CoreState::register_set(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto bare = from.bare_str();
  auto q = s.child("query", xmpp::ns::register_);
  // SPEC §4 <remove/>: a user taken off the allow list may still delete what the
  // gateway keeps of them.
  if (xmpp::child(q, "remove", xmpp::ns::register_)) return unregister(s, bare, out);
  if (!allowed(bare)) return forbidden(out, s, bare);

  auto fields = tr_.registration_fields();
  FieldValues values;
  if (auto form = xmpp::find_form(q)) {
    if (form->type == "cancel") return send(out, xmpp::make_result(s));
    if (form->type != "submit") return error(out, s, xmpp::Condition::BadRequest, "Submit the form.");
    for (const auto& f : fields)
      if (const auto* ff = form->field(f.var)) values.emplace_back(f.var, ff->joined());
  } else {
    for (const auto& f : fields)
      if (auto el = xmpp::child(q, f.var, xmpp::ns::register_)) values.emplace_back(f.var, el.text().get());
  }
  for (const auto& f : fields) {
    if (!f.required) continue;
    auto it = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == f.var; });
    if (it == values.end() || it->second.empty())
      return error(out, s, xmpp::Condition::NotAcceptable,
                   "Missing required field: " + (f.label.empty() ? f.var : f.label) + ".");
  }
  if (auto why = tr_.validate_registration(bare, values))
    return error(out, s, xmpp::Condition::NotAcceptable, *why);

  auto previous = reg_.registration(cfg_.domain, bare);
  Registration r;
  r.user = bare;
  r.fields = values;
  r.created_ms = previous ? previous->created_ms : clock_.unix_ms();
  reg_.put_registration(cfg_.domain, r);
  log_->info("{} {}", bare, previous ? "updated their registration" : "registered");
  to_transport(out, transport::UserRegistered{bare, std::move(values)});
  send(out, xmpp::make_result(s));
  // XEP-0100 §4.1.1: the gateway asks to be in the user's roster.
  if (!reg_.is_subscribed(cfg_.domain, bare, "")) {
    send(out, xmpp::make_presence(cfg_.domain, bare, "subscribe", next_id()));
    // Registering is asking to use the gateway: the user sees its presence from
    // now on, even when their server answers the roster dance by itself (a roster
    // that kept the gateway from an earlier registration) and never forwards a
    // subscribe to us.
    reg_.set_subscribed(cfg_.domain, bare, "", true);
    send(out, domain_presence(bare));
  }
}

void CoreState::unregister(const xmpp::Stanza& s, const std::string& bare, Effects& out) {
  // Where registration is optional (IRC, SMS) a user has rooms, archives,
  // subscriptions and sessions without one: <remove/> deletes those too.
  if (!registered(bare) && (tr_.requires_registration() || !allowed(bare)))
    return error(out, s, xmpp::Condition::ItemNotFound, "You are not registered.");
  auto peers = reg_.subscriptions(cfg_.domain, bare);
  reg_.remove_registration(cfg_.domain, bare);
  if (archive_) archive_->remove_user(cfg_.domain, bare);  // "everything of this user", the archive too
  log_->info("{} removed their registration", bare);
  to_transport(out, transport::UserRemoved{bare});
  send(out, xmpp::make_result(s));

  // The legacy sessions are gone: their contacts go offline and leave the roster
  // (XEP-0100 §4.3).
  for (auto it = available_.begin(); it != available_.end();) {
    if (it->first.first == bare) {
      send(out, xmpp::make_presence(it->first.second, bare, "unavailable"));
      it = available_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& peer : peers) {
    if (peer.empty()) continue;
    auto jid = jid_for(peer);
    send(out, xmpp::make_presence(jid, bare, "unsubscribe", next_id()));
    send(out, xmpp::make_presence(jid, bare, "unsubscribed", next_id()));
  }
  send(out, xmpp::make_presence(cfg_.domain, bare, "unsubscribe", next_id()));
  send(out, xmpp::make_presence(cfg_.domain, bare, "unsubscribed", next_id()));
  std::erase_if(sessions_, [&](const CommandSession& c) { return c.user == bare; });
}

}  // namespace sb::mapping::detail
