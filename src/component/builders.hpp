// Small builders for the stanzas the core sends, so every reply is shaped the
// same way (RFC 6120 §8.2: iq results echo the id, swap to/from).
// Pure; thread-compatible.
#pragma once
#include <string_view>
#include "component/stanza.hpp"

namespace sb::xmpp {

// <iq type='result' from=request.to to=request.from id=request.id/> (RFC 6120 §8.2.3).
Stanza make_result(const Stanza& request);
// <iq type=… from to id/>.
Stanza make_iq(std::string_view from, std::string_view to, std::string_view type, std::string_view id);
// <message from to [type] [id]/>; empty attributes are left out.
Stanza make_message(std::string_view from, std::string_view to, std::string_view type = {},
                    std::string_view id = {});
// <presence from to [type] [id]/>; empty attributes are left out.
Stanza make_presence(std::string_view from, std::string_view to, std::string_view type = {},
                     std::string_view id = {});

}  // namespace sb::xmpp
