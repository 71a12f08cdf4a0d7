// Drives a GatewayCore the way the app does, for scenario tests: stanzas as XML
// text in; stanzas out (as the user would receive them) and Commands forwarded to
// the FakeTransport (as the effect executor would).
#pragma once
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include "common/clock.hpp"
#include "component/data_form.hpp"
#include "component/namespaces.hpp"
#include "component/stanza.hpp"
#include "fakes/fake_transport.hpp"
#include "fakes/memory_registry.hpp"
#include "mapping/gateway_core.hpp"

namespace sb::test {

struct Out {
  std::vector<xmpp::Stanza> stanzas;
  std::vector<transport::Command> commands;
  std::string dump() const {
    std::string s;
    for (const auto& st : stanzas) s += st.str() + "\n";
    return s;
  }
  const xmpp::Stanza& only() const {
    if (stanzas.size() != 1) throw std::runtime_error("expected exactly one stanza, got:\n" + dump());
    return stanzas.front();
  }
};

inline mapping::CoreConfig default_config() {
  mapping::CoreConfig c;
  c.domain = "mqtt.example.org";
  c.allow = {"*@example.org"};
  c.admins = {"root@admin.example"};
  c.version = "1.2.3";
  return c;
}

class CoreHarness {
 public:
  ManualClock clock;
  FakeTransport tr;
  MemoryRegistry reg;
  mapping::CoreConfig cfg = default_config();
  mapping::RoomArchive* archive = nullptr;  // the rooms' archive, if the test gives one

  // Created on first use, so a test can set up cfg, tr and archive first.
  mapping::GatewayCore& core() {
    if (!core_) core_ = std::make_unique<mapping::GatewayCore>(cfg, tr, reg, clock, archive);
    return *core_;
  }

  Out send(std::string_view xml) {
    auto st = xmpp::Stanza::parse(xml);
    if (!st) throw std::runtime_error("test stanza is not XML: " + std::string(xml));
    return collect(core().on_stanza(*st));
  }
  Out event(transport::Event e) { return collect(core().on_event(std::move(e))); }
  Out connected() { return collect(core().on_connected()); }
  Out shutdown() { return collect(core().on_shutdown()); }
  Out start() { return collect(core().on_start()); }

  // Registers `jid` through XEP-0077 legacy elements (no fields needed by default).
  Out register_user(const std::string& jid, const std::string& extra = {}) {
    return send("<iq type='set' id='reg1' from='" + jid + "/res' to='" + cfg.domain +
                "'><query xmlns='jabber:iq:register'>" + extra + "</query></iq>");
  }

 private:
  Out collect(mapping::Effects effects) {
    Out out;
    for (auto& e : effects) {
      if (auto* s = std::get_if<mapping::SendStanza>(&e)) {
        out.stanzas.push_back(std::move(s->stanza));
      } else if (auto* x = std::get_if<mapping::SendXml>(&e)) {
        // Text the core wrote itself: it must be one well-formed stanza.
        auto parsed = xmpp::Stanza::parse(x->xml);
        REQUIRE_MESSAGE(parsed, "SendXml is not well-formed: " << x->xml);
        out.stanzas.push_back(std::move(*parsed));
      } else if (auto* t = std::get_if<mapping::ToTransport>(&e)) {
        out.commands.push_back(t->command);
        tr.send(std::move(t->command));
      }
    }
    return out;
  }
  std::unique_ptr<mapping::GatewayCore> core_;
};

// ---- reading what came out ---------------------------------------------------

// The RFC 6120 defined condition of an error stanza ("item-not-found"), or "".
inline std::string error_condition(const xmpp::Stanza& s) {
  if (s.type() != "error") return {};
  auto e = s.child("error", xmpp::ns::component);
  for (auto c = e.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && xmpp::ns_of(c) == xmpp::ns::stanzas_error && xmpp::local_name(c) != "text")
      return std::string(xmpp::local_name(c));
  return {};
}

inline std::string error_text(const xmpp::Stanza& s) {
  return xmpp::child_text(s.child("error", xmpp::ns::component), "text", xmpp::ns::stanzas_error);
}

inline std::vector<std::string> disco_features(const xmpp::Stanza& s) {
  std::vector<std::string> v;
  for (auto f : s.child("query", xmpp::ns::disco_info).children("feature")) v.emplace_back(f.attribute("var").value());
  return v;
}

inline bool contains(const std::vector<std::string>& v, std::string_view x) {
  for (const auto& e : v)
    if (e == x) return true;
  return false;
}

template <class T>
std::vector<T> commands_of(const Out& out) {
  std::vector<T> v;
  for (const auto& c : out.commands)
    if (auto* p = std::get_if<T>(&c)) v.push_back(*p);
  return v;
}

}  // namespace sb::test
