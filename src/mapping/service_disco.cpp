// XEP-0030 service discovery on the domain, and the command list (XEP-0050 §2.2).
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
void add_feature(pugi::xml_node q, std::string_view var) {
  q.append_child("feature").append_attribute("var").set_value(std::string(var).c_str());
}
}  // namespace

std::vector<std::pair<std::string, std::string>> CoreState::commands_for(const std::string& bare) {
  std::vector<std::pair<std::string, std::string>> cmds;
  if (!allowed(bare)) return cmds;
  if (registered(bare) && !tr_.settings_fields().empty()) cmds.emplace_back("settings", "Settings");
  for (const auto& c : tr_.commands())
    if (c.admin_only ? is_admin(bare) : registered(bare)) cmds.emplace_back(c.node, c.name);
  if (is_admin(bare)) {
    cmds.emplace_back("list-users", "List registered users");
    cmds.emplace_back("stats", "Statistics");
    cmds.emplace_back("disconnect-user", "Disconnect a user");
  }
  return cmds;
}

void CoreState::disco_info(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto req = s.child("query", xmpp::ns::disco_info);
  std::string node = req.attribute("node").value();
  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::disco_info);
  if (!node.empty()) q.append_attribute("node").set_value(node.c_str());

  if (node.empty()) {
    auto id = q.append_child("identity");
    id.append_attribute("category").set_value("gateway");
    id.append_attribute("type").set_value(std::string(tr_.kind()).c_str());
    id.append_attribute("name").set_value(std::string(tr_.display_name()).c_str());
    add_feature(q, xmpp::ns::disco_info);
    add_feature(q, xmpp::ns::disco_items);
    add_feature(q, xmpp::ns::register_);
    add_feature(q, xmpp::ns::commands);
    add_feature(q, xmpp::ns::ping);
    add_feature(q, xmpp::ns::version);
    if (tr_.gateway_prompt()) add_feature(q, xmpp::ns::gateway);
    for (const auto& f : tr_.features()) add_feature(q, f);
    return send(out, std::move(reply));
  }
  if (node == xmpp::ns::commands) {
    // XEP-0050 §2.2.
    auto id = q.append_child("identity");
    id.append_attribute("category").set_value("automation");
    id.append_attribute("type").set_value("command-list");
    return send(out, std::move(reply));
  }
  for (const auto& [cmd, name] : commands_for(from.bare_str())) {
    if (cmd != node) continue;
    // XEP-0050 §2.3: a command node.
    auto id = q.append_child("identity");
    id.append_attribute("category").set_value("automation");
    id.append_attribute("type").set_value("command-node");
    id.append_attribute("name").set_value(name.c_str());
    add_feature(q, xmpp::ns::commands);
    add_feature(q, xmpp::ns::data_forms);
    return send(out, std::move(reply));
  }
  error(out, s, xmpp::Condition::ItemNotFound);
}

void CoreState::peer_disco_info(const xmpp::Stanza& s, const transport::PeerInfo& info, Effects& out) {
  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::disco_info);
  auto id = q.append_child("identity");
  id.append_attribute("category").set_value(info.category.c_str());
  id.append_attribute("type").set_value(info.type.c_str());
  if (!info.name.empty()) id.append_attribute("name").set_value(xmpp::sanitize_text(info.name).c_str());
  add_feature(q, xmpp::ns::disco_info);
  for (const auto& f : info.features) add_feature(q, f);
  if (archive_ && info.category == "conference" && info.type == "text") {  // a room (not an IRC server)
    add_feature(q, xmpp::ns::mam);  // XEP-0313 §7: the room's archive (the asker's own)
    add_feature(q, xmpp::ns::sid);  // its lines carry stanza-ids (XEP-0359)
  }
  send(out, std::move(reply));
}

void CoreState::disco_items(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out) {
  auto req = s.child("query", xmpp::ns::disco_items);
  std::string node = req.attribute("node").value();
  auto bare = from.bare_str();
  auto reply = xmpp::make_result(s);
  auto q = xmpp::append(reply.root(), "query", xmpp::ns::disco_items);
  if (!node.empty()) q.append_attribute("node").set_value(node.c_str());

  if (node.empty()) {
    // An IRC domain with a fixed_server: the domain is the server, its items the channels.
    // Only for users the domain serves (SPEC §6: the devices the requester may
    // see): to a stranger the list is empty, as its command list is.
    if (!may_use(bare)) return send(out, std::move(reply));
    if (tr_.lists_items("")) return ask_items(s, from, "", out);
    auto rsm = xmpp::parse_rsm(req);
    if (!rsm) return error(out, s, xmpp::Condition::BadRequest, "Malformed result set request (XEP-0059).");
    if (!append_items(q, tr_.items(bare), *rsm)) return error(out, s, xmpp::Condition::ItemNotFound);
    return send(out, std::move(reply));
  }
  if (node == xmpp::ns::commands) {
    // XEP-0050 §2.2: only what this requester may run.
    for (const auto& [cmd, name] : commands_for(bare)) {
      auto it = q.append_child("item");
      it.append_attribute("jid").set_value(cfg_.domain.c_str());
      it.append_attribute("node").set_value(cmd.c_str());
      it.append_attribute("name").set_value(name.c_str());
    }
    return send(out, std::move(reply));
  }
  error(out, s, xmpp::Condition::ItemNotFound);
}

}  // namespace sb::mapping::detail
