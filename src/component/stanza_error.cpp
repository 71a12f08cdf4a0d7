#include "component/stanza_error.hpp"

#include <string>

#include "component/namespaces.hpp"

namespace sb::xmpp {

std::string_view to_string(Condition c) {
  switch (c) {
    case Condition::BadRequest: return "bad-request";
    case Condition::Conflict: return "conflict";
    case Condition::FeatureNotImplemented: return "feature-not-implemented";
    case Condition::Forbidden: return "forbidden";
    case Condition::InternalServerError: return "internal-server-error";
    case Condition::ItemNotFound: return "item-not-found";
    case Condition::JidMalformed: return "jid-malformed";
    case Condition::NotAcceptable: return "not-acceptable";
    case Condition::NotAllowed: return "not-allowed";
    case Condition::NotAuthorized: return "not-authorized";
    case Condition::PolicyViolation: return "policy-violation";
    case Condition::RecipientUnavailable: return "recipient-unavailable";
    case Condition::RegistrationRequired: return "registration-required";
    case Condition::RemoteServerNotFound: return "remote-server-not-found";
    case Condition::RemoteServerTimeout: return "remote-server-timeout";
    case Condition::ResourceConstraint: return "resource-constraint";
    case Condition::ServiceUnavailable: return "service-unavailable";
    case Condition::UndefinedCondition: return "undefined-condition";
  }
  return "undefined-condition";
}

std::string_view to_string(ErrorType t) {
  switch (t) {
    case ErrorType::Auth: return "auth";
    case ErrorType::Cancel: return "cancel";
    case ErrorType::Continue: return "continue";
    case ErrorType::Modify: return "modify";
    case ErrorType::Wait: return "wait";
  }
  return "cancel";
}

// RFC 6120 §8.3.3: the type each defined condition is described with.
ErrorType default_type(Condition c) {
  switch (c) {
    case Condition::BadRequest:
    case Condition::JidMalformed:
    case Condition::NotAcceptable:
    case Condition::PolicyViolation:
      return ErrorType::Modify;
    case Condition::Forbidden:
    case Condition::NotAuthorized:
    case Condition::RegistrationRequired:
      return ErrorType::Auth;
    case Condition::RecipientUnavailable:
    case Condition::RemoteServerTimeout:
    case Condition::ResourceConstraint:
      return ErrorType::Wait;
    case Condition::Conflict:
    case Condition::FeatureNotImplemented:
    case Condition::InternalServerError:
    case Condition::ItemNotFound:
    case Condition::NotAllowed:
    case Condition::RemoteServerNotFound:
    case Condition::ServiceUnavailable:
    case Condition::UndefinedCondition:
      return ErrorType::Cancel;
  }
  return ErrorType::Cancel;
}

std::optional<Stanza> make_error(const Stanza& request, Condition c, std::string_view text,
                                 std::optional<ErrorType> type) {
  // RFC 6120 §8.3.1: never answer an error with an error; an iq result is an
  // answer already (§8.2.3), so it gets none either.
  if (request.type() == "error") return std::nullopt;
  if (request.name() == "iq" && request.type() == "result") return std::nullopt;

  // The reply is built fresh: only the stanza's own attributes travel, never
  // the payload (keeps replies small; for iq, §8.3.1 forbids echoing the
  // request payload as if it were a result).
  Stanza reply = Stanza::make(request.name());
  reply.set_attr("from", request.to());
  reply.set_attr("to", request.from());
  reply.set_attr("id", request.id());
  reply.set_attr("type", "error");

  auto err = append(reply.root(), "error");
  err.append_attribute("type").set_value(std::string(to_string(type.value_or(default_type(c)))).c_str());
  append(err, to_string(c), ns::stanzas_error);
  if (!text.empty()) {
    auto t = append_text(err, "text", text);
    t.append_attribute("xmlns").set_value(ns::stanzas_error);
    t.append_attribute("xml:lang").set_value("en");
  }
  return reply;
}

}  // namespace sb::xmpp
