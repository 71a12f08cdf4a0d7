// Stanza errors (RFC 6120 §8.3).
#include <doctest/doctest.h>

#include "component/namespaces.hpp"
#include "component/stanza_error.hpp"

using namespace sb::xmpp;

TEST_CASE("error reply to an iq get: swapped addresses, same id, no payload") {
  auto req = Stanza::parse(
      "<iq type='get' id='q1' from='romeo@montague.net/orchard' to='mqtt.example.org'>"
      "<query xmlns='http://jabber.org/protocol/disco#items' node='x'/></iq>");
  REQUIRE(req);
  auto err = make_error(*req, Condition::ItemNotFound, "No such node & <stuff>");
  REQUIRE(err);
  CHECK(err->name() == "iq");
  CHECK(err->type() == "error");
  CHECK(err->id() == "q1");
  CHECK(err->to() == "romeo@montague.net/orchard");
  CHECK(err->from() == "mqtt.example.org");
  CHECK_FALSE(err->child("query", ns::disco_items));
  auto e = err->child("error", ns::component);
  REQUIRE(e);
  CHECK(std::string_view(e.attribute("type").value()) == "cancel");
  CHECK(child(e, "item-not-found", ns::stanzas_error));
  auto text = child(e, "text", ns::stanzas_error);
  REQUIRE(text);
  CHECK(std::string_view(text.attribute("xml:lang").value()) == "en");
  CHECK(std::string_view(text.child_value()) == "No such node & <stuff>");
  // It serialises to something the peer can parse back.
  auto back = Stanza::parse(err->str());
  REQUIRE(back);
  CHECK(back->str() == err->str());
}

TEST_CASE("never an error to an error or to a result") {
  auto m = Stanza::parse("<message type='error' from='a@b' to='c@d'/>");
  CHECK_FALSE(make_error(*m, Condition::ServiceUnavailable));
  auto r = Stanza::parse("<iq type='result' id='1' from='a@b' to='c@d'/>");
  CHECK_FALSE(make_error(*r, Condition::ServiceUnavailable));
  auto p = Stanza::parse("<presence type='error' from='a@b'/>");
  CHECK_FALSE(make_error(*p, Condition::ServiceUnavailable));
  // But a message or presence of another type gets one.
  auto chat = Stanza::parse("<message type='chat' id='m1' from='a@b/r' to='c@d'><body>hi</body></message>");
  auto err = make_error(*chat, Condition::RecipientUnavailable);
  REQUIRE(err);
  CHECK(err->name() == "message");
  CHECK(err->to() == "a@b/r");
  CHECK(err->id() == "m1");
  auto e = err->child("error", ns::component);
  CHECK(std::string_view(e.attribute("type").value()) == "wait");
  CHECK_FALSE(child(e, "text", ns::stanzas_error));  // no text given, none sent
}

TEST_CASE("types: RFC 6120 defaults and overrides") {
  CHECK(default_type(Condition::BadRequest) == ErrorType::Modify);
  CHECK(default_type(Condition::Forbidden) == ErrorType::Auth);
  CHECK(default_type(Condition::RegistrationRequired) == ErrorType::Auth);
  CHECK(default_type(Condition::ServiceUnavailable) == ErrorType::Cancel);
  CHECK(default_type(Condition::ResourceConstraint) == ErrorType::Wait);
  CHECK(to_string(Condition::FeatureNotImplemented) == "feature-not-implemented");
  CHECK(to_string(Condition::RemoteServerTimeout) == "remote-server-timeout");
  CHECK(to_string(ErrorType::Continue) == "continue");
  auto req = Stanza::parse("<iq type='set' id='x' from='a@b' to='c'/>");
  auto err = make_error(*req, Condition::NotAcceptable, {}, ErrorType::Cancel);
  REQUIRE(err);
  CHECK(std::string_view(err->child("error", ns::component).attribute("type").value()) == "cancel");
  CHECK(err->child("error", ns::component).child("not-acceptable"));
}
