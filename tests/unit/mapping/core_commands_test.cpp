// Scenarios: XEP-0050 ad-hoc commands — settings for registered users, and the
// admin commands (list users, statistics, disconnect a user).
#include <doctest/doctest.h>

#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

namespace {
std::string execute(const std::string& from, const std::string& node, const std::string& extra = {}) {
  return "<iq type='set' id='c1' from='" + from + "/r' to='mqtt.example.org'>"
         "<command xmlns='http://jabber.org/protocol/commands' node='" + node + "' action='execute'" + extra +
         "/></iq>";
}
std::string submit(const std::string& from, const std::string& node, const std::string& sid,
                   const std::string& fields) {
  return "<iq type='set' id='c2' from='" + from + "/r' to='mqtt.example.org'>"
         "<command xmlns='http://jabber.org/protocol/commands' node='" + node + "' sessionid='" + sid +
         "' action='complete'><x xmlns='jabber:x:data' type='submit'>" + fields + "</x></command></iq>";
}
pugi::xml_node command_of(const xmpp::Stanza& s) { return s.child("command", xmpp::ns::commands); }
std::string attr(pugi::xml_node n, const char* a) { return n.attribute(a).value(); }
}  // namespace

TEST_CASE("list-users and stats for admins") {
  CoreHarness h;
  h.tr.stats_ = {{"mqtt-publishes", "7"}};
  h.register_user("alice@example.org");
  h.register_user("bob@example.org");

  auto list = h.send(execute("root@admin.example", "list-users"));
  auto c = command_of(list.only());
  CHECK(attr(c, "status") == "completed");
  auto form = xmpp::find_form(c);
  REQUIRE(form);
  CHECK(form->type == "result");
  REQUIRE(form->field("registered-users"));
  CHECK(form->field("registered-users")->values == std::vector<std::string>{"alice@example.org", "bob@example.org"});

  h.event(transport::LinkState{true, "connected to broker"});
  auto stats = h.send(execute("root@admin.example", "stats"));
  auto sf = xmpp::find_form(command_of(stats.only()));
  REQUIRE(sf);
  CHECK(sf->value("registered-users") == "2");
  CHECK(sf->value("stanzas-in") == "4");  // two registrations, list-users, stats
  // 2 x (result + subscribe + domain presence), list-users result, and the
  // domain's presence to both registered users when the backend came up.
  CHECK(sf->value("stanzas-out") == "9");
  CHECK(sf->value("backend") == "up");
  CHECK(sf->value("backend-status") == "connected to broker");
  CHECK(sf->value("pending-commands") == "0");
  CHECK(sf->value("mqtt-publishes") == "7");
}

TEST_CASE("admin commands are forbidden to others; unknown nodes are item-not-found") {
  CoreHarness h;
  h.register_user("alice@example.org");
  for (auto node : {"list-users", "stats", "disconnect-user"}) {
    auto out = h.send(execute("alice@example.org", node));
    CHECK_MESSAGE(error_condition(out.only()) == "forbidden", node);
  }
  CHECK(error_condition(h.send(execute("eve@evil.net", "stats")).only()) == "forbidden");
  CHECK(error_condition(h.send(execute("root@admin.example", "format-disk")).only()) == "item-not-found");
}

TEST_CASE("disconnect-user: a form, then DisconnectUser for the submitted JID") {
  CoreHarness h;
  auto first = h.send(execute("root@admin.example", "disconnect-user"));
  auto c = command_of(first.only());
  CHECK(attr(c, "status") == "executing");
  auto sid = attr(c, "sessionid");
  CHECK_FALSE(sid.empty());
  auto form = xmpp::find_form(c);
  REQUIRE(form);
  REQUIRE(form->field("jid"));
  CHECK(form->field("jid")->type == "jid-single");

  // Someone else cannot use that session.
  auto hijack = h.send(submit("alice@example.org", "disconnect-user", sid, "<field var='jid'><value>x@y</value></field>"));
  CHECK(hijack.only().type() == "error");
  CHECK(h.tr.sent_of<transport::DisconnectUser>().empty());

  auto done = h.send(submit("root@admin.example", "disconnect-user", sid,
                            "<field var='jid'><value>Alice@Example.org/phone</value></field>"));
  CHECK(attr(command_of(done.only()), "status") == "completed");
  auto dc = h.tr.sent_of<transport::DisconnectUser>();
  REQUIRE(dc.size() == 1);
  CHECK(dc[0].user == "alice@example.org");

  // The session is finished.
  auto replay = h.send(submit("root@admin.example", "disconnect-user", sid, "<field var='jid'><value>a@b</value></field>"));
  CHECK(error_condition(replay.only()) == "bad-request");
  CHECK(xmpp::child(replay.only().child("error", xmpp::ns::component), "bad-sessionid", xmpp::ns::commands));
}

TEST_CASE("settings: current values in the form, submitted values stored and sent to the transport") {
  CoreHarness h;
  h.tr.settings = {{"format", "Message format", "list-single", false, "text", {"text", "json"}, ""},
                   {"quiet", "Quiet hours", "boolean", false, "", {}, ""}};
  auto unregistered = h.send(execute("alice@example.org", "settings"));
  CHECK(error_condition(unregistered.only()) == "registration-required");
  h.register_user("alice@example.org");

  auto first = h.send(execute("alice@example.org", "settings"));
  auto c = command_of(first.only());
  auto sid = attr(c, "sessionid");
  auto form = xmpp::find_form(c);
  REQUIRE(form);
  CHECK(form->value("format") == "text");  // the default
  CHECK(form->field("format")->options.size() == 2);

  auto done = h.send(submit("alice@example.org", "settings", sid,
                            "<field var='format'><value>json</value></field><field var='quiet'><value>1</value></field>"));
  auto dc = command_of(done.only());
  CHECK(attr(dc, "status") == "completed");
  CHECK(xmpp::child_text(dc, "note", xmpp::ns::commands) == "Settings saved.");
  auto changed = h.tr.sent_of<transport::SettingsChanged>();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].user == "alice@example.org");
  CHECK(changed[0].settings == transport::FieldValues{{"format", "json"}, {"quiet", "1"}});

  // The next run shows the stored values.
  auto again = h.send(execute("alice@example.org", "settings"));
  auto form2 = xmpp::find_form(command_of(again.only()));
  REQUIRE(form2);
  CHECK(form2->value("format") == "json");
  CHECK(form2->field("quiet")->as_bool());

  // Cancel ends a session.
  auto sid2 = attr(command_of(again.only()), "sessionid");
  auto cancel = h.send("<iq type='set' id='c3' from='alice@example.org/r' to='mqtt.example.org'>"
                       "<command xmlns='http://jabber.org/protocol/commands' node='settings' sessionid='" + sid2 +
                       "' action='cancel'/></iq>");
  CHECK(attr(command_of(cancel.only()), "status") == "canceled");
}

TEST_CASE("command sessions are bounded per user: the oldest is forgotten") {
  CoreHarness h;
  std::vector<std::string> sids;
  for (int i = 0; i < 33; ++i)
    sids.push_back(attr(command_of(h.send(execute("root@admin.example", "disconnect-user")).only()), "sessionid"));
  auto oldest = h.send(submit("root@admin.example", "disconnect-user", sids[0], "<field var='jid'><value>a@b.c</value></field>"));
  CHECK(error_condition(oldest.only()) == "bad-request");
  auto newest = h.send(submit("root@admin.example", "disconnect-user", sids[32], "<field var='jid'><value>a@b.c</value></field>"));
  CHECK(attr(command_of(newest.only()), "status") == "completed");
}

TEST_CASE("transport commands: listed for registered users, run as a result form, refused otherwise") {
  CoreHarness h;
  h.tr.commands_.push_back({"devices", "List devices with their last state", false});
  h.tr.commands_.push_back({"rescan", "Rescan", true});
  h.tr.report_ = {"Devices", {{"kitchen", "available: 21.5 °C"}, {"garage", "unavailable"}}, "2 devices"};

  // Not registered: not listed, and refused.
  auto items = h.send("<iq type='get' id='i' from='alice@example.org/r' to='mqtt.example.org'>"
                      "<query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>");
  CHECK(items.only().str().find("devices") == std::string::npos);
  CHECK(error_condition(h.send(execute("alice@example.org", "devices")).only()) == "registration-required");

  h.register_user("alice@example.org");
  items = h.send("<iq type='get' id='i' from='alice@example.org/r' to='mqtt.example.org'>"
                 "<query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>");
  CHECK(items.only().str().find("node=\"devices\"") != std::string::npos);
  CHECK(items.only().str().find("rescan") == std::string::npos);  // admin only

  auto got = h.send(execute("alice@example.org", "devices"));
  auto cmd = command_of(got.only());
  CHECK(attr(cmd, "status") == "completed");
  auto form = xmpp::find_form(cmd);
  REQUIRE(form);
  CHECK(form->type == "result");
  CHECK(form->title == "Devices");
  CHECK(form->value("line-1") == "available: 21.5 °C");
  CHECK(form->value("line-2") == "unavailable");
  CHECK(got.only().str().find("2 devices") != std::string::npos);  // the note

  CHECK(error_condition(h.send(execute("alice@example.org", "rescan")).only()) == "forbidden");
  CHECK(error_condition(h.send(execute("eve@evil.net", "devices")).only()) == "forbidden");
}
