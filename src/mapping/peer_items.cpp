// disco#items whose items the transport fetches from its backend (SPEC §4: an IRC
// server's channel list), and the XEP-0059 paging every disco#items answer gets.
#include "component/builders.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {

void CoreState::ask_items(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, Effects& out) {
  auto rsm = xmpp::parse_rsm(s.child("query", xmpp::ns::disco_items));
  if (!rsm) return error(out, s, xmpp::Condition::BadRequest, "Malformed result set request (XEP-0059).");
  const auto ref = next_ref();
  ItemsQuery q;
  q.req = Pending{"iq", std::string(s.from()), std::string(s.to()), std::string(s.id()), "get", false};
  q.rsm = std::move(*rsm);
  item_queries_.put(ref, std::move(q), steady_ms());
  to_transport(out, transport::ListItems{ref, from.bare_str(), from.resource(), peer});
}

void CoreState::answer_items(transport::ItemList l, Effects& out) {
  auto q = item_queries_.take(l.ref);
  if (!q) return log_->debug("item list for unknown ref {}", l.ref);
  auto req = request_of(q->req);
  if (!l.ok) return error(out, req, condition_of(l.failure), l.text);
  auto reply = xmpp::make_result(req);
  auto query = xmpp::append(reply.root(), "query", xmpp::ns::disco_items);
  if (!append_items(query, l.items, q->rsm)) return error(out, req, xmpp::Condition::ItemNotFound);
  send(out, std::move(reply));
}

bool CoreState::append_items(pugi::xml_node q, const std::vector<transport::Item>& items, const xmpp::RsmRequest& rsm) {
  // Each item's JID is its UID for XEP-0059 (§2.2: "unique within the result set").
  // A UID the requester names is turned back into a peer once; JIDs are made for
  // the page only (a channel list holds thousands, each JID a registry look-up).
  auto index_of = [&](const std::string& uid) -> std::optional<std::size_t> {
    auto jid = xmpp::Jid::parse(uid);
    if (!jid || jid->domain() != cfg_.domain || !jid->resource().empty()) return std::nullopt;
    auto peer = jid->local().empty() ? std::optional<std::string>(std::string()) : peer_for(jid->local());
    if (!peer) return std::nullopt;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (items[i].peer == *peer) return i;
    return std::nullopt;
  };
  auto page = xmpp::rsm_page(rsm, items.size(), index_of, kItemsPerPage);
  if (!page.found) return false;
  std::string first, last;
  for (std::size_t i = page.begin; i < page.end; ++i) {
    const std::string jid = jid_for(items[i].peer);
    auto it = q.append_child("item");
    // A device id straight from an MQTT topic may hold a control character: made
    // valid XML here (else the server ends the stream over it, SPEC §3).
    xmpp::set_text_attr(it, "jid", jid);
    if (!items[i].name.empty()) xmpp::set_text_attr(it, "name", items[i].name);
    if (i == page.begin) first = jid;
    if (i + 1 == page.end) last = jid;
  }
  // The <set/> when it was asked for, and whenever the answer is not the whole list.
  if (rsm.present || page.end - page.begin < items.size()) append_rsm_result(q, page, items.size(), first, last);
  return true;
}

}  // namespace sb::mapping::detail
