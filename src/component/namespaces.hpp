// XML namespaces used by the component side. One place, so a typo is a compile error.
#pragma once

namespace sb::xmpp::ns {
inline constexpr const char* component = "jabber:component:accept";
inline constexpr const char* stream = "http://etherx.jabber.org/streams";
inline constexpr const char* streams_error = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr const char* stanzas_error = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr const char* disco_info = "http://jabber.org/protocol/disco#info";
inline constexpr const char* disco_items = "http://jabber.org/protocol/disco#items";
inline constexpr const char* register_ = "jabber:iq:register";
inline constexpr const char* gateway = "jabber:iq:gateway";
inline constexpr const char* commands = "http://jabber.org/protocol/commands";
inline constexpr const char* data_forms = "jabber:x:data";
inline constexpr const char* ping = "urn:xmpp:ping";
inline constexpr const char* version = "jabber:iq:version";
inline constexpr const char* receipts = "urn:xmpp:receipts";
inline constexpr const char* sid = "urn:xmpp:sid:0";  // XEP-0359 origin-id, stanza-id
inline constexpr const char* oob = "jabber:x:oob";
inline constexpr const char* muc = "http://jabber.org/protocol/muc";
inline constexpr const char* muc_user = "http://jabber.org/protocol/muc#user";
inline constexpr const char* muc_admin = "http://jabber.org/protocol/muc#admin";
inline constexpr const char* conference = "jabber:x:conference";  // XEP-0249 direct invitation
inline constexpr const char* chatstates = "http://jabber.org/protocol/chatstates";
inline constexpr const char* delay = "urn:xmpp:delay";
inline constexpr const char* rsm = "http://jabber.org/protocol/rsm";  // XEP-0059
inline constexpr const char* mam = "urn:xmpp:mam:2";                    // XEP-0313
inline constexpr const char* forward = "urn:xmpp:forward:0";            // XEP-0297
inline constexpr const char* client = "jabber:client";                  // a forwarded stanza's namespace
}  // namespace sb::xmpp::ns
