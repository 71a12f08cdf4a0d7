#include "component/builders.hpp"

namespace sb::xmpp {
namespace {
Stanza make_with(std::string_view name, std::string_view from, std::string_view to, std::string_view type,
                 std::string_view id) {
  auto s = Stanza::make(name);
  // set_attr drops empty values, so optional attributes simply vanish.
  s.set_attr("from", from);
  s.set_attr("to", to);
  s.set_attr("type", type);
  s.set_attr("id", id);
  return s;
}
}  // namespace

Stanza make_result(const Stanza& request) {
  return make_with("iq", request.to(), request.from(), "result", request.id());
}

Stanza make_iq(std::string_view from, std::string_view to, std::string_view type, std::string_view id) {
  return make_with("iq", from, to, type, id);
}

Stanza make_message(std::string_view from, std::string_view to, std::string_view type, std::string_view id) {
  return make_with("message", from, to, type, id);
}

Stanza make_presence(std::string_view from, std::string_view to, std::string_view type, std::string_view id) {
  return make_with("presence", from, to, type, id);
}

}  // namespace sb::xmpp
