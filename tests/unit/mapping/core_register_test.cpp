// Scenarios: XEP-0077 registration through the core, by data form and by legacy
// field elements; removal; who may register.
#include <doctest/doctest.h>

#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

namespace {
const char* kGet =
    "<iq type='get' id='g' from='alice@example.org/phone' to='mqtt.example.org'><query xmlns='jabber:iq:register'/></iq>";

void sms_fields(FakeTransport& tr) {
  tr.fields = {{"phone", "Phone number", "text-single", true, "", {}, "E.164"},
               {"password", "Password", "text-private", false, "", {}, ""},
               {"region", "Region", "list-single", false, "eu", {"eu", "us"}, ""}};
}
}  // namespace

TEST_CASE("register get: instructions, legacy fields and a form; registered flag and values afterwards") {
  CoreHarness h;
  sms_fields(h.tr);
  h.tr.instructions = "Give your phone number.";
  auto got = h.send(kGet);  // keeps the stanza (and so the node below) alive
  auto q = got.only().child("query", xmpp::ns::register_);
  CHECK(xmpp::child_text(q, "instructions", xmpp::ns::register_) == "Give your phone number.");
  CHECK_FALSE(xmpp::child(q, "registered", xmpp::ns::register_));
  CHECK(xmpp::child(q, "phone", xmpp::ns::register_));
  CHECK(xmpp::child(q, "password", xmpp::ns::register_));
  CHECK_FALSE(xmpp::child(q, "region", xmpp::ns::register_));  // not a XEP-0077 field name: form only
  auto form = xmpp::find_form(q);
  REQUIRE(form);
  CHECK(form->type == "form");
  CHECK(form->form_type() == "jabber:iq:register");
  REQUIRE(form->field("phone"));
  CHECK(form->field("phone")->required);
  CHECK(form->field("phone")->label == "Phone number");
  CHECK(form->field("password")->type == "text-private");
  CHECK(form->field("region")->value() == "eu");
  CHECK(form->field("region")->options.size() == 2);

  // Register by form.
  auto set = h.send(
      "<iq type='set' id='s' from='alice@example.org/phone' to='mqtt.example.org'><query xmlns='jabber:iq:register'>"
      "<x xmlns='jabber:x:data' type='submit'>"
      "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
      "<field var='phone'><value>+15550001111</value></field>"
      "<field var='password'><value>hunter2</value></field>"
      "<field var='region'><value>us</value></field></x></query></iq>");
  REQUIRE(set.stanzas.size() == 3);
  CHECK(set.stanzas[0].type() == "result");
  CHECK(set.stanzas[0].id() == "s");
  // XEP-0100 §4.1.1: the gateway asks for a subscription.
  CHECK(set.stanzas[1].name() == "presence");
  CHECK(set.stanzas[1].type() == "subscribe");
  CHECK(set.stanzas[1].from() == "mqtt.example.org");
  CHECK(set.stanzas[1].to() == "alice@example.org");
  // ... and the user sees the gateway's presence at once (backend not up yet here),
  // whatever their roster already held.
  CHECK(set.stanzas[2].name() == "presence");
  CHECK(set.stanzas[2].type() == "unavailable");
  CHECK(set.stanzas[2].to() == "alice@example.org");
  auto regd = commands_of<transport::UserRegistered>(set);
  REQUIRE(regd.size() == 1);
  CHECK(regd[0].user == "alice@example.org");
  CHECK(regd[0].fields == transport::FieldValues{{"phone", "+15550001111"}, {"password", "hunter2"}, {"region", "us"}});
  auto stored = h.reg.registration("mqtt.example.org", "alice@example.org");
  REQUIRE(stored);
  CHECK(stored->created_ms == h.clock.unix_ms());

  // The next get shows it.
  auto got2 = h.send(kGet);
  auto q2 = got2.only().child("query", xmpp::ns::register_);
  CHECK(xmpp::child(q2, "registered", xmpp::ns::register_));
  CHECK(xmpp::child_text(q2, "phone", xmpp::ns::register_) == "+15550001111");
  CHECK(xmpp::child_text(q2, "password", xmpp::ns::register_).empty());  // secrets are not echoed
  auto form2 = xmpp::find_form(q2);
  REQUIRE(form2);
  CHECK(form2->value("phone") == "+15550001111");
  CHECK(form2->value("region") == "us");
}

TEST_CASE("register set with legacy elements; missing required field and validation errors") {
  CoreHarness h;
  sms_fields(h.tr);
  h.tr.validate = [](std::string_view, transport::FieldValues& v) -> std::optional<std::string> {
    for (auto& [k, val] : v)
      if (k == "phone" && (val.empty() || val[0] != '+')) return "Phone numbers start with + and a country code.";
    return std::nullopt;
  };
  auto missing = h.register_user("alice@example.org", "<password>x</password>");
  CHECK(error_condition(missing.only()) == "not-acceptable");
  CHECK(error_text(missing.only()).find("Phone number") != std::string::npos);
  CHECK(missing.commands.empty());

  auto invalid = h.register_user("alice@example.org", "<phone>5550001111</phone>");
  CHECK(error_condition(invalid.only()) == "not-acceptable");
  CHECK(error_text(invalid.only()) == "Phone numbers start with + and a country code.");
  CHECK_FALSE(h.reg.registration("mqtt.example.org", "alice@example.org"));

  auto ok = h.register_user("alice@example.org", "<phone>+15550001111</phone>");
  CHECK(ok.stanzas.at(0).type() == "result");
  REQUIRE(h.reg.registration("mqtt.example.org", "alice@example.org"));
  CHECK(h.reg.registration("mqtt.example.org", "alice@example.org")->fields ==
        mapping::FieldValues{{"phone", "+15550001111"}});
}

TEST_CASE("an empty submitted form registers an allowed user when the transport needs no fields") {
  CoreHarness h;
  auto out = h.send(
      "<iq type='set' id='s' from='bob@example.org/r' to='mqtt.example.org'><query xmlns='jabber:iq:register'>"
      "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
      "</x></query></iq>");
  CHECK(out.stanzas.at(0).type() == "result");
  CHECK(h.reg.registration("mqtt.example.org", "bob@example.org"));
  CHECK(commands_of<transport::UserRegistered>(out).size() == 1);
}

TEST_CASE("remove: registration gone, UserRemoved, unsubscribed; then item-not-found") {
  CoreHarness h;
  h.register_user("alice@example.org");
  h.reg.set_subscribed("mqtt.example.org", "alice@example.org", "", true);
  h.reg.set_subscribed("mqtt.example.org", "alice@example.org", "kitchen", true);
  const char* remove =
      "<iq type='set' id='rm' from='alice@example.org/r' to='mqtt.example.org'>"
      "<query xmlns='jabber:iq:register'><remove/></query></iq>";
  auto out = h.send(remove);
  CHECK(out.stanzas.at(0).type() == "result");
  CHECK(out.stanzas.at(0).id() == "rm");
  CHECK_FALSE(h.reg.registration("mqtt.example.org", "alice@example.org"));
  REQUIRE(commands_of<transport::UserRemoved>(out).size() == 1);
  CHECK(commands_of<transport::UserRemoved>(out)[0].user == "alice@example.org");
  // The contact and the domain leave the roster (XEP-0100 §4.3).
  std::vector<std::string> seen;
  for (size_t i = 1; i < out.stanzas.size(); ++i)
    seen.push_back(std::string(out.stanzas[i].from()) + " " + std::string(out.stanzas[i].type()));
  CHECK(seen == std::vector<std::string>{"kitchen@mqtt.example.org unsubscribe", "kitchen@mqtt.example.org unsubscribed",
                                         "mqtt.example.org unsubscribe", "mqtt.example.org unsubscribed"});
  CHECK(h.reg.subscribers("mqtt.example.org", "").empty());

  auto again = h.send(remove);
  CHECK(error_condition(again.only()) == "item-not-found");
  CHECK(again.commands.empty());
}

TEST_CASE("remove also works for a user no longer allowed, and where registration is optional without one") {
  CoreHarness h;
  h.cfg.allow = {"*@other.example"};  // alice was taken off the allow list after registering ...
  mapping::Registration r;
  r.user = "alice@example.org";
  h.reg.put_registration("mqtt.example.org", r);
  auto out = h.send(
      "<iq type='set' id='rm' from='alice@example.org/r' to='mqtt.example.org'>"
      "<query xmlns='jabber:iq:register'><remove/></query></iq>");
  CHECK(out.stanzas.at(0).type() == "result");  // ... and may still delete her data
  CHECK_FALSE(h.reg.registration("mqtt.example.org", "alice@example.org"));

  // Registration optional (IRC, SMS): an allowed user with no registration still
  // has sessions and subscriptions; <remove/> ends them.
  CoreHarness h2;
  h2.tr.needs_registration = false;
  h2.reg.set_subscribed("mqtt.example.org", "bob@example.org", "kitchen", true);
  out = h2.send(
      "<iq type='set' id='rm2' from='bob@example.org/r' to='mqtt.example.org'>"
      "<query xmlns='jabber:iq:register'><remove/></query></iq>");
  CHECK(out.stanzas.at(0).type() == "result");
  CHECK(commands_of<transport::UserRemoved>(out).size() == 1);
  CHECK(h2.reg.subscriptions("mqtt.example.org", "bob@example.org").empty());
}

TEST_CASE("registration is forbidden to users the gateway does not allow; admins always may") {
  CoreHarness h;
  auto get = h.send(
      "<iq type='get' id='g' from='eve@evil.net/r' to='mqtt.example.org'><query xmlns='jabber:iq:register'/></iq>");
  CHECK(error_condition(get.only()) == "forbidden");
  CHECK(error_text(get.only()).find("eve@evil.net") != std::string::npos);
  auto set = h.register_user("eve@evil.net");
  CHECK(error_condition(set.only()) == "forbidden");
  CHECK_FALSE(h.reg.registration("mqtt.example.org", "eve@evil.net"));

  auto admin = h.register_user("root@admin.example");
  CHECK(admin.stanzas.at(0).type() == "result");
}

TEST_CASE("re-registering keeps the creation time and does not ask for a subscription again") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto created = h.reg.registration("mqtt.example.org", "alice@example.org")->created_ms;
  h.send("<presence type='subscribe' from='alice@example.org' to='mqtt.example.org'/>");
  h.clock.advance(std::chrono::hours(1));
  auto out = h.register_user("alice@example.org");
  CHECK(out.only().type() == "result");
  CHECK(h.reg.registration("mqtt.example.org", "alice@example.org")->created_ms == created);
}

TEST_CASE("a registered choice that is no longer offered (a pool number now held) stays among a list's options") {
  CoreHarness h;
  // As the SMS transport: the options are the free pool numbers; alice's own is not free.
  h.tr.fields = {{"phone", "Phone number", "list-single", false, "", {"+15550002222"}, ""}};
  h.reg.put_registration("mqtt.example.org", mapping::Registration{"alice@example.org", {{"phone", "+15550001111"}}, 1});
  auto got = h.send(kGet);
  auto form = xmpp::find_form(got.only().child("query", xmpp::ns::register_));
  REQUIRE(form);
  const auto* f = form->field("phone");
  REQUIRE(f);
  CHECK(f->value() == "+15550001111");
  REQUIRE(f->options.size() == 2);
  CHECK(f->options[0].value == "+15550001111");  // hers, first
  CHECK(f->options[1].value == "+15550002222");
  // Not registered: only what the transport offers.
  auto bob = h.send("<iq type='get' id='g' from='bob@example.org/pc' to='mqtt.example.org'>"
                    "<query xmlns='jabber:iq:register'/></iq>");
  auto bform = xmpp::find_form(bob.only().child("query", xmpp::ns::register_));
  REQUIRE(bform);
  CHECK(bform->field("phone")->options.size() == 1);
}
