// XEP-0004 data forms as the core builds and reads them (registration, commands).
#include <doctest/doctest.h>

#include "component/data_form.hpp"
#include "component/namespaces.hpp"
#include "component/stanza.hpp"

using namespace sb;

TEST_CASE("a form survives a round trip: types, required, options, multi-values, instructions lines") {
  xmpp::DataForm f;
  f.title = "Settings";
  f.instructions = "Line one\nLine two";
  f.with_form_type("urn:example:settings");
  auto& fmt = f.add("format", "list-single", "Format", "json");
  fmt.options = {{"Plain text", "text"}, {"JSON", "json"}};
  fmt.required = true;
  f.add("users", "jid-multi", "Users").values = {"a@example.org", "b@example.org"};
  f.add("notes", "text-multi", "Notes").values = {"first", "second"};

  auto host = xmpp::Stanza::make("iq");
  xmpp::append_form(host.root(), f);
  auto reparsed = xmpp::Stanza::parse(host.str());
  REQUIRE(reparsed);
  auto back = xmpp::find_form(reparsed->root());
  REQUIRE(back);
  CHECK(back->type == "form");
  CHECK(back->title == "Settings");
  CHECK(back->instructions == "Line one\nLine two");
  CHECK(back->form_type() == "urn:example:settings");
  REQUIRE(back->field("format"));
  CHECK(back->field("format")->required);
  CHECK(back->field("format")->value() == "json");
  CHECK(back->field("format")->options.size() == 2);
  CHECK(back->field("format")->options[0].label == "Plain text");
  CHECK(back->field("users")->values == std::vector<std::string>{"a@example.org", "b@example.org"});
  CHECK(back->field("notes")->joined() == "first\nsecond");
  CHECK(back->value("absent").empty());
}

TEST_CASE("parsing refuses what is not a data form") {
  auto wrong_type = xmpp::Stanza::parse("<iq><x xmlns='jabber:x:data' type='bogus'/></iq>");
  CHECK_FALSE(xmpp::find_form(wrong_type->root()));
  auto wrong_ns = xmpp::Stanza::parse("<iq><x xmlns='jabber:x:oob' type='submit'/></iq>");
  CHECK_FALSE(xmpp::find_form(wrong_ns->root()));
  auto submit = xmpp::Stanza::parse(
      "<iq><x xmlns='jabber:x:data' type='submit'><field var='b'><value>true</value></field></x></iq>");
  auto f = xmpp::find_form(submit->root());
  REQUIRE(f);
  CHECK(f->field("b")->as_bool());
}
