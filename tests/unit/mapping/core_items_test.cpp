// disco#items the transport fetches (ListItems -> ItemList; SPEC §4: an IRC
// server's channels), and XEP-0059 paging of every disco#items answer.
#include <doctest/doctest.h>

#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

namespace {
std::vector<std::string> item_jids(const xmpp::Stanza& s) {
  std::vector<std::string> v;
  for (auto it : s.child("query", xmpp::ns::disco_items).children("item")) v.emplace_back(it.attribute("jid").value());
  return v;
}
std::string rsm_value(const xmpp::Stanza& s, const char* what) {
  auto set = xmpp::child(s.child("query", xmpp::ns::disco_items), "set", xmpp::ns::rsm);
  return xmpp::child_text(set, what, xmpp::ns::rsm);
}
transport::ItemList listed(std::uint64_t ref, std::size_t n) {
  transport::ItemList l;
  l.ref = ref;
  for (std::size_t i = 0; i < n; ++i) l.items.push_back({"#c" + std::to_string(i) + "%irc", "#c" + std::to_string(i)});
  return l;
}
const char* kAsk =
    "<iq type='get' id='L1' from='alice@example.org/pc' to='irc@mqtt.example.org'>"
    "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>";
}  // namespace

TEST_CASE("disco#items of an address the transport lists: asked of the transport, answered when it answers") {
  CoreHarness h;
  h.tr.listed_peers = {"irc"};
  h.register_user("alice@example.org");
  auto ask = h.send(kAsk);
  CHECK(ask.stanzas.empty());  // nothing until the transport answers
  auto cmds = h.tr.sent_of<transport::ListItems>();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].user == "alice@example.org");
  CHECK(cmds[0].user_resource == "pc");
  CHECK(cmds[0].peer == "irc");

  auto l = listed(cmds[0].ref, 2);
  l.items[1].name = "bad\x01name";
  auto reply_out = h.event(l);
  const auto& reply = reply_out.only();
  CHECK(reply.type() == "result");
  CHECK(reply.id() == "L1");
  CHECK(std::string(reply.attr("to")) == "alice@example.org/pc");
  CHECK(std::string(reply.attr("from")) == "irc@mqtt.example.org");
  CHECK(item_jids(reply) == std::vector<std::string>{"#c0%irc@mqtt.example.org", "#c1%irc@mqtt.example.org"});
  CHECK(std::string(reply.child("query", xmpp::ns::disco_items).last_child().attribute("name").value()) ==
        "badname");  // what XML forbids is removed
  CHECK(h.event(l).stanzas.empty());  // answered once; a second answer is unknown
}

TEST_CASE("the transport's failure is the requester's stanza error, with its text") {
  CoreHarness h;
  h.tr.listed_peers = {"irc"};
  h.register_user("alice@example.org");
  h.send(kAsk);
  transport::ItemList l;
  l.ref = h.tr.sent_of<transport::ListItems>().at(0).ref;
  l.ok = false;
  l.failure = transport::Failure::Unavailable;
  l.text = "IRC connection lost";
  auto err_out = h.event(l);
  const auto& err = err_out.only();
  CHECK(error_condition(err) == "recipient-unavailable");
  CHECK(error_text(err) == "IRC connection lost");
  CHECK(std::string(err.attr("to")) == "alice@example.org/pc");
}

TEST_CASE("a long list is paged: at most kItemsPerPage without a <set/>, and as the requester asks with one") {
  CoreHarness h;
  h.tr.listed_peers = {"irc"};
  h.register_user("alice@example.org");
  const std::size_t n = mapping::kItemsPerPage + 20;

  h.send(kAsk);
  auto all_out = h.event(listed(h.tr.sent_of<transport::ListItems>().back().ref, n));
  const auto& all = all_out.only();
  CHECK(item_jids(all).size() == mapping::kItemsPerPage);
  CHECK(rsm_value(all, "count") == std::to_string(n));  // told there is more

  h.send("<iq type='get' id='L2' from='alice@example.org/pc' to='irc@mqtt.example.org'>"
         "<query xmlns='http://jabber.org/protocol/disco#items'><set xmlns='http://jabber.org/protocol/rsm'>"
         "<max>2</max><after>#c4%irc@mqtt.example.org</after></set></query></iq>");
  auto page_out = h.event(listed(h.tr.sent_of<transport::ListItems>().back().ref, n));
  const auto& page = page_out.only();
  CHECK(item_jids(page) == std::vector<std::string>{"#c5%irc@mqtt.example.org", "#c6%irc@mqtt.example.org"});
  CHECK(rsm_value(page, "last") == "#c6%irc@mqtt.example.org");

  h.send("<iq type='get' id='L3' from='alice@example.org/pc' to='irc@mqtt.example.org'>"
         "<query xmlns='http://jabber.org/protocol/disco#items'><set xmlns='http://jabber.org/protocol/rsm'>"
         "<after>#gone%irc@mqtt.example.org</after></set></query></iq>");
  auto gone_out = h.event(listed(h.tr.sent_of<transport::ListItems>().back().ref, 3));
  const auto& gone = gone_out.only();
  CHECK(error_condition(gone) == "item-not-found");

  // Malformed: refused before the transport is asked.
  const auto asked = h.tr.sent_of<transport::ListItems>().size();
  auto bad = h.send("<iq type='get' id='L4' from='alice@example.org/pc' to='irc@mqtt.example.org'>"
                    "<query xmlns='http://jabber.org/protocol/disco#items'><set xmlns='http://jabber.org/protocol/rsm'>"
                    "<max>lots</max></set></query></iq>");
  CHECK(error_condition(bad.only()) == "bad-request");
  CHECK(h.tr.sent_of<transport::ListItems>().size() == asked);
}

TEST_CASE("listing is for allowed users only, and only of addresses the transport lists") {
  CoreHarness h;
  h.tr.listed_peers = {"irc"};
  auto stranger = h.send(
      "<iq type='get' id='S1' from='eve@evil.example/x' to='irc@mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  CHECK(error_condition(stranger.only()) == "forbidden");
  h.register_user("alice@example.org");
  auto other = h.send(
      "<iq type='get' id='S2' from='alice@example.org/pc' to='device@mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  CHECK(error_condition(other.only()) == "service-unavailable");
  CHECK(h.tr.sent_of<transport::ListItems>().empty());
}

TEST_CASE("the domain's own items come from the transport when it lists them (an IRC fixed_server)") {
  CoreHarness h;
  h.tr.listed_peers = {""};
  h.tr.items_ = {{"never", "not asked"}};
  h.register_user("alice@example.org");
  auto ask = h.send(
      "<iq type='get' id='D1' from='alice@example.org/pc' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  CHECK(ask.stanzas.empty());
  auto cmds = h.tr.sent_of<transport::ListItems>();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].peer.empty());
  auto reply_out = h.event(listed(cmds[0].ref, 1));
  const auto& reply = reply_out.only();
  CHECK(item_jids(reply) == std::vector<std::string>{"#c0%irc@mqtt.example.org"});
  CHECK(std::string(reply.attr("from")) == "mqtt.example.org");
}
