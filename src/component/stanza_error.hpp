// Stanza errors (RFC 6120 §8.3), built in one place.
#pragma once
#include <optional>
#include <string_view>
#include "component/stanza.hpp"

namespace sb::xmpp {

enum class ErrorType { Auth, Cancel, Continue, Modify, Wait };
enum class Condition {
  BadRequest, Conflict, FeatureNotImplemented, Forbidden, InternalServerError,
  ItemNotFound, JidMalformed, NotAcceptable, NotAllowed, NotAuthorized,
  PolicyViolation, RecipientUnavailable, RegistrationRequired,
  RemoteServerNotFound, RemoteServerTimeout, ResourceConstraint,
  ServiceUnavailable, UndefinedCondition,
};
std::string_view to_string(Condition c);  // "item-not-found"
std::string_view to_string(ErrorType t);  // "cancel"
ErrorType default_type(Condition c);      // RFC 6120 §8.3.3 defaults

// The error reply to `request`: to/from swapped, same id, type='error', the
// request's children copied for iq-set/get? No: only the <error/> element (keeps
// replies small), with an optional human-readable <text xml:lang='en'/>.
// Returns nullopt when `request` is itself an error or an iq result: never
// answer an error with an error (RFC 6120 §8.3.1).
std::optional<Stanza> make_error(const Stanza& request, Condition c, std::string_view text = {},
                                 std::optional<ErrorType> type = std::nullopt);

}  // namespace sb::xmpp
