// The message stanza the core sends most (a legacy contact's message to a user,
// SPEC §4), serialised straight to text instead of through a pugixml document.
//
// Building a document, filling it and saving it cost more than everything else on
// the bridged path (bench_core under callgrind: ~12k of ~27k instructions per
// message); the text is what the component link writes anyway. The result is
// what make_message + append_text + Stanza::str() would give, in content: the
// same sanitising (xml_text.hpp) and escaping, checked by the unit tests against
// the document path, and by Stanza::parse in the core's tests.
// Pure; thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb::xmpp {

struct MessageText {
  std::string_view from, to, type, id;         // attributes; empty ones left out
  const std::string* subject = nullptr;        // <subject/>, even when empty
  std::string_view body;                       // <body/> when not empty
  std::string_view oob_url;                    // XEP-0066 <x><url/></x> when not empty
  std::string_view delay_from, delay_stamp;    // XEP-0203 <delay/> when stamp not empty
  std::string_view origin_id;                  // XEP-0359 <origin-id/> when not empty
  std::string_view stanza_id, stanza_id_by;    // XEP-0359 <stanza-id id by/> when id not empty (a room's archive)
  std::string_view invite_jid, invite_reason;  // XEP-0249 <x jid reason/> when jid not empty
};

// <message …>…</message>, with every value sanitised and escaped.
std::string message_text(const MessageText& m);

}  // namespace sb::xmpp
