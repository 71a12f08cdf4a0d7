// XEP-0050 ad-hoc commands: "settings" for registered users; "list-users",
// "stats" and "disconnect-user" for [admins]. Single-stage commands: execute
// returns a form (with a session id), complete submits it; list-users and stats
// complete at once.
#include <algorithm>

#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
bool admin_only(std::string_view node) { return node == "list-users" || node == "stats" || node == "disconnect-user"; }
bool known(std::string_view node) { return node == "settings" || admin_only(node); }

struct Reply {
  xmpp::Stanza stanza;
  pugi::xml_node command;
};

Reply reply_for(const xmpp::Stanza& s, const std::string& node, const std::string& sessionid, const char* status) {
  auto r = xmpp::make_result(s);
  auto c = xmpp::append(r.root(), "command", xmpp::ns::commands);
  c.append_attribute("node").set_value(node.c_str());
  if (!sessionid.empty()) c.append_attribute("sessionid").set_value(sessionid.c_str());
  c.append_attribute("status").set_value(status);
  return {std::move(r), c};
}

void add_note(pugi::xml_node command, const char* type, std::string_view text) {
  xmpp::append_text(command, "note", text).append_attribute("type").set_value(type);
}

// XEP-0050 §4.6: the command-specific error condition inside <error/>.
void app_error(CoreState& st, Effects& out, const xmpp::Stanza& s, const char* cond, std::string_view text) {
  auto e = xmpp::make_error(s, xmpp::Condition::BadRequest, text);
  if (!e) return;
  xmpp::append(e->child("error", xmpp::ns::component), cond, xmpp::ns::commands);
  st.send(out, std::move(*e));
}
}  // namespace

void CoreState::command(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto bare = from.bare_str();
  if (!allowed(bare)) return forbidden(out, s, bare);
  auto cmd = s.child("command", xmpp::ns::commands);
  std::string node = cmd.attribute("node").value();
  std::string action = cmd.attribute("action").value();
  std::string sessionid = cmd.attribute("sessionid").value();
  if (action.empty()) action = "execute";

  // A transport's own single-stage command (transport.hpp CommandInfo).
  if (!known(node)) {
    auto cmds = tr_.commands();
    auto c = std::find_if(cmds.begin(), cmds.end(), [&](const auto& ci) { return ci.node == node; });
    if (c == cmds.end()) return error(out, s, xmpp::Condition::ItemNotFound, "No such command.");
    if (c->admin_only && !is_admin(bare))
      return error(out, s, xmpp::Condition::Forbidden, "This command is for the gateway's administrators.");
    if (!c->admin_only && !registered(bare))
      return error(out, s, xmpp::Condition::RegistrationRequired, "Register with this gateway first.");
    if (action == "cancel") return send(out, reply_for(s, node, sessionid, "canceled").stanza);
    auto report = tr_.run_command(node, bare);
    if (!report) return error(out, s, xmpp::Condition::ItemNotFound, "No such command.");
    auto r = reply_for(s, node, next_id(), "completed");
    if (!report->note.empty()) add_note(r.command, "info", report->note);
    xmpp::DataForm form;
    form.type = "result";
    form.title = report->title;
    int i = 0;
    for (const auto& [label, value] : report->lines) form.add("line-" + std::to_string(++i), "text-single", label, value);
    xmpp::append_form(r.command, form);
    return send(out, std::move(r.stanza));
  }
  if (node == "settings" && tr_.settings_fields().empty())
    return error(out, s, xmpp::Condition::ItemNotFound, "No such command.");
  if (admin_only(node) && !is_admin(bare))
    return error(out, s, xmpp::Condition::Forbidden, "This command is for the gateway's administrators.");
  if (node == "settings" && !registered(bare))
    return error(out, s, xmpp::Condition::RegistrationRequired, "Register with this gateway first.");
  if (action != "execute" && action != "next" && action != "complete" && action != "cancel" && action != "prev")
    return app_error(*this, out, s, "malformed-action", "Unknown action.");

  if (sessionid.empty()) {
    if (action == "cancel") return send(out, reply_for(s, node, sessionid, "canceled").stanza);
    if (node == "list-users") {
      auto r = reply_for(s, node, next_id(), "completed");
      xmpp::DataForm form;
      form.type = "result";
      form.title = "Registered users";
      auto& users = form.add("registered-users", "jid-multi", "Registered users");
      for (const auto& reg : reg_.registrations(cfg_.domain)) users.values.push_back(reg.user);
      form.add("count", "text-single", "Count", std::to_string(users.values.size()));
      xmpp::append_form(r.command, form);
      return send(out, std::move(r.stanza));
    }
    if (node == "stats") {
      auto r = reply_for(s, node, next_id(), "completed");
      xmpp::DataForm form;
      form.type = "result";
      form.title = "Statistics for " + cfg_.domain;
      form.add("registered-users", "text-single", "Registered users",
               std::to_string(reg_.registrations(cfg_.domain).size()));
      form.add("stanzas-in", "text-single", "Stanzas handled in", std::to_string(stanzas_in_));
      form.add("stanzas-out", "text-single", "Stanzas sent out", std::to_string(stanzas_out_));
      form.add("backend", "text-single", "Backend", backend_up_ ? "up" : "down");
      form.add("backend-status", "text-single", "Backend status", backend_text_);
      form.add("pending-commands", "text-single", "Commands awaiting an outcome",
               std::to_string(pending_.size() + presence_pending_.size()));
      for (const auto& [k, v] : tr_.stats()) form.add(k, "text-single", k, v);
      xmpp::append_form(r.command, form);
      return send(out, std::move(r.stanza));
    }
    // A form to fill in, within a new session.
    sessionid = next_id();
    sessions_.push_back({bare, sessionid, node});
    auto mine = std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& c) { return c.user == bare; });
    if (mine > static_cast<long>(kMaxSessionsPerUser)) {
      auto oldest = std::find_if(sessions_.begin(), sessions_.end(), [&](const auto& c) { return c.user == bare; });
      sessions_.erase(oldest);
    }
    if (sessions_.size() > kMaxSessions) sessions_.pop_front();

    auto r = reply_for(s, node, sessionid, "executing");
    auto actions = r.command.append_child("actions");
    actions.append_attribute("execute").set_value("complete");
    actions.append_child("complete");
    xmpp::DataForm form;
    if (node == "settings") {
      form.title = "Settings";
      form.instructions = "Change your settings for " + cfg_.domain + ".";
      auto current = reg_.settings(cfg_.domain, bare);
      for (const auto& f : tr_.settings_fields()) {
        auto& ff = form.add(f.var, f.type, f.label);
        ff.desc = f.desc;
        ff.required = f.required;
        for (const auto& o : f.options) ff.options.push_back({o, o});
        auto it = std::find_if(current.begin(), current.end(), [&](const auto& kv) { return kv.first == f.var; });
        const std::string& v = it != current.end() ? it->second : f.value;
        if (!v.empty()) ff.values.push_back(v);
      }
    } else {  // disconnect-user
      form.title = "Disconnect a user";
      form.instructions = "Closes the user's sessions on the legacy network; the registration is kept.";
      form.add("jid", "jid-single", "User").required = true;
    }
    xmpp::append_form(r.command, form);
    return send(out, std::move(r.stanza));
  }

  auto it = std::find_if(sessions_.begin(), sessions_.end(),
                         [&](const auto& c) { return c.user == bare && c.id == sessionid && c.node == node; });
  if (it == sessions_.end()) return app_error(*this, out, s, "bad-sessionid", "Unknown or expired session.");
  if (action == "cancel") {
    sessions_.erase(it);
    return send(out, reply_for(s, node, sessionid, "canceled").stanza);
  }
  if (action == "prev") return app_error(*this, out, s, "bad-action", "This command has a single stage.");
  auto form = xmpp::find_form(cmd);
  if (!form || form->type != "submit") return app_error(*this, out, s, "bad-payload", "Submit the form.");

  if (node == "settings") {
    FieldValues changed;
    for (const auto& f : tr_.settings_fields()) {
      const auto* ff = form->field(f.var);
      if (!ff) continue;
      reg_.put_setting(cfg_.domain, bare, f.var, ff->joined());
      changed.emplace_back(f.var, ff->joined());
    }
    sessions_.erase(it);
    to_transport(out, transport::SettingsChanged{bare, std::move(changed)});
    auto r = reply_for(s, node, sessionid, "completed");
    add_note(r.command, "info", "Settings saved.");
    return send(out, std::move(r.stanza));
  }
  // disconnect-user
  auto target = xmpp::Jid::parse(form->value("jid"));
  if (!target || target->local().empty())
    return error(out, s, xmpp::Condition::BadRequest, "Give the bare JID of a user.");
  sessions_.erase(it);
  auto user = target->bare_str();
  log_->info("{} disconnected {}", bare, user);
  to_transport(out, transport::DisconnectUser{user});
  auto r = reply_for(s, node, sessionid, "completed");
  add_note(r.command, "info", "Disconnected " + user + ".");
  send(out, std::move(r.stanza));
}

}  // namespace sb::mapping::detail
