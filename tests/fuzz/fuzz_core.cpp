// libFuzzer target: stanzas from XMPP users through the core (GatewayCore) with a
// transport that has rooms, fetched item lists and registration fields, so every
// service (disco, XEP-0077, XEP-0050, XEP-0100, XEP-0059 paging, XEP-0410,
// XEP-0045 moderation and invitations, legacy routing) sees hostile input. SPEC §3 "Never crash"; AGENTS: "one user can never
// act as another".
//
// Input: stanzas separated by NUL bytes; each is parsed (unparsable ones, and
// what the stream framer would refuse, are skipped) and routed. A stanza whose first byte is '!' is not XML but an action:
// '!L' answers the oldest ListItems with items, '!F' fails it, '!A' / '!B' answer
// the oldest RoomAdmin with success / failure, '!T' advances the clock by a minute,
// '!M<text>' is a line said in alice@example.org's room "#r%server" (to her
// resource "in", or with '!m' to no resource: for her archive only), '!S' her
// self-presence there (a join's history follows). When the input mentions any of
// these ("!M", "!m", "!S", "mam", "history"), the core has a room archive (SQLite
// in memory), so XEP-0313 queries and history on join are fuzzed too; opening one
// costs more than most inputs, so the others run without.
//
// Properties checked (abort on violation, so libFuzzer reports them):
//  - every stanza the core sends serialises and parses again, and has a `to`;
//  - an iq get/set from a user is answered exactly once, with its id, to its
//    sender — right away, or when the transport answers (ListItems -> ItemList,
//    RoomAdmin -> SendOutcome) —
//    and never an error answered with an error;
//  - every command handed to the transport is on behalf of the bare JID that
//    sent the stanza (never another user);
//  - a XEP-0313 result goes to the sender of the query, and only alice, whose
//    archive is the only one with lines, ever gets one of her lines.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "component/jid.hpp"
#include "component/stanza.hpp"
#include "fakes/fake_transport.hpp"
#include "fakes/memory_registry.hpp"
#include "mapping/gateway_core.hpp"
#include "mapping/sqlite_archive.hpp"
#include "component/namespaces.hpp"

using namespace sb;

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_core: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::string_view user_of(const transport::Command& c) {
  return std::visit([](const auto& x) -> std::string_view {
    if constexpr (requires { x.user; }) return x.user;
    else return {};
  }, c);
}

// Commands that answer an iq later: ListItems (ItemList) and RoomAdmin (SendOutcome).
std::uint64_t ref_of(const transport::Command& c) {
  if (auto* l = std::get_if<transport::ListItems>(&c)) return l->ref;
  if (auto* a = std::get_if<transport::RoomAdmin>(&c)) return a->ref;
  return 0;
}

struct World {
  ManualClock clock;
  test::FakeTransport tr;
  test::MemoryRegistry reg;
  std::unique_ptr<mapping::SqliteArchive> archive;
  std::unique_ptr<mapping::GatewayCore> core;
  std::uint64_t line_no = 0;
  // iqs waiting for the transport's answer: ListItems ref -> (sender, id).
  std::map<std::uint64_t, std::pair<std::string, std::string>> waiting;
  std::deque<std::uint64_t> list_refs, admin_refs;
  std::string last_out;  // what the last input made the core send (for the failure report)

  explicit World(bool with_archive) {
    static const bool quiet = log::set_level("off");
    (void)quiet;
    tr.kind_ = "irc";
    tr.fields = {transport::Field{"nick", "Nickname", "text-single", false, {}, {}, {}}};
    tr.settings = {transport::Field{"s/nick", "Nick on s", "text-single", false, {}, {}, {}}};
    tr.needs_registration = false;
    tr.prompt = "Enter a channel";
    tr.resolve = [](std::string_view in) -> std::optional<std::string> {
      if (in.empty() || in.size() > 64) return std::nullopt;
      return std::string(in);
    };
    tr.items_ = {{"server", "A server"}, {"", "The gateway"}};
    tr.listed_peers = {"server", ""};
    tr.commands_ = {transport::CommandInfo{"devices", "List devices", false}};
    tr.report_ = transport::CommandReport{"Devices", {{"a", "b"}}, "note"};
    tr.peer_info_of = [](std::string_view peer) -> std::optional<transport::PeerInfo> {
      if (peer.empty() || peer[0] != '#') return std::nullopt;
      return transport::PeerInfo{"conference", "text", std::string(peer), {"http://jabber.org/protocol/muc"}};
    };
    tr.occupancy_of = [](std::string_view res, std::string_view peer, std::string_view nick) {
      if (peer.empty() || peer[0] != '#') return transport::Occupancy::Unknown;
      if (res != "in") return transport::Occupancy::NotJoined;
      return nick == "me" ? transport::Occupancy::Self : transport::Occupancy::Other;
    };
    mapping::CoreConfig cfg;
    cfg.domain = "gw.example";
    cfg.allow = {"*@example.org", "root@admin.example"};
    cfg.admins = {"root@admin.example"};
    cfg.version = "1";
    if (with_archive) {
      std::string err;
      archive = mapping::SqliteArchive::open(":memory:", err);
      if (!archive) fail("cannot open an archive in memory", err);
    }
    core = std::make_unique<mapping::GatewayCore>(cfg, tr, reg, clock, archive.get());
    check(core->on_start(), {}, {});
    check(core->on_connected(), {}, {});
  }

  // The effects of one input; `from_bare`/`iq_id` when it was an iq get/set from a user.
  std::size_t check(mapping::Effects effects, const std::string& from_bare, const std::string& iq_key) {
    std::size_t answers = 0;
    last_out.clear();
    for (auto& e : effects) {
      if (auto* t = std::get_if<mapping::ToTransport>(&e)) {
        auto u = user_of(t->command);
        if (!u.empty() && !from_bare.empty() && u != from_bare) fail("command for another user", u);
        if (auto ref = ref_of(t->command)) {
          if (iq_key.empty()) fail("a command answering an iq, without an iq");
          waiting[ref] = {from_bare, iq_key};
          (std::holds_alternative<transport::ListItems>(t->command) ? list_refs : admin_refs).push_back(ref);
          ++answers;  // answered later
        }
        tr.send(std::move(t->command));
        continue;
      }
      std::string xml;
      if (auto* s = std::get_if<mapping::SendStanza>(&e)) xml = s->stanza.str();
      else if (auto* x = std::get_if<mapping::SendXml>(&e)) xml = x->xml;
      auto st = xmpp::Stanza::parse(xml);
      if (!st) fail("the core sent XML that does not parse", xml);
      last_out += xml + "\n";
      if (st->to().empty()) fail("a stanza without a recipient", xml);
      if (st->child("result", xmpp::ns::mam)) {
        auto to = xmpp::Jid::parse(st->to());
        if (iq_key.empty() || iq_key.compare(0, iq_key.find('\n'), st->to()) != 0)
          fail("an archive result to someone who did not ask", xml);
        if (!to || to->bare_str() != "alice@example.org") fail("another user got alice's archive", xml);
      }
      if (!iq_key.empty() && st->name() == "iq" && (st->type() == "result" || st->type() == "error") &&
          std::string(st->to()) + "\n" + std::string(st->id()) == iq_key)
        ++answers;
    }
    return answers;
  }

  void stanza(std::string_view text) {
    // The stream framer lets only well-formed UTF-8 of XML characters through
    // (fuzz_stream covers it): the core never sees anything else.
    if (!utf8::xml_text(text)) return;
    auto s = xmpp::Stanza::parse(text);
    if (!s) return;
    auto from = xmpp::Jid::parse(s->from());
    const bool iq_request = s->name() == "iq" && (s->type() == "get" || s->type() == "set");
    const auto to = xmpp::Jid::parse(s->to());
    // The server routes to us only what is addressed to our domain, with a valid from.
    const bool ours = from && to && to->domain() == "gw.example";
    const std::string key = ours && iq_request ? std::string(s->from()) + "\n" + std::string(s->id()) : std::string();
    const std::size_t answers = check(core->on_stanza(*s), from ? from->bare_str() : std::string(), key);
    if (!key.empty() && answers != 1)
      fail(answers ? "an iq answered twice" : "an iq left unanswered", std::string(text) + "\n->\n" + last_out);
  }

  // Answers the oldest waiting command of one kind with `e`; its iq must then be
  // answered exactly once.
  void answer(std::deque<std::uint64_t>& refs, transport::Event e) {
    if (refs.empty()) return;
    const auto ref = refs.front();
    refs.pop_front();
    std::visit([ref](auto& x) {
      if constexpr (requires { x.ref; }) x.ref = ref;
    }, e);
    auto it = waiting.find(ref);
    const std::string key = it != waiting.end() ? it->second.second : std::string();
    if (it != waiting.end()) waiting.erase(it);
    const std::size_t answers = check(core->on_event(std::move(e)), {}, key);
    if (!key.empty() && answers != 1) fail("an iq answered by the transport not answered once", key + "\n->\n" + last_out);
  }

  void answer_list(bool ok) {
    transport::ItemList l;
    l.ok = ok;
    l.failure = transport::Failure::Unavailable;
    l.text = "down";
    for (int i = 0; i < 7; ++i) l.items.push_back({"#c" + std::to_string(i) + "%server", "c\x01" + std::to_string(i)});
    answer(list_refs, std::move(l));
  }

  // A line of alice's room, as the IRC session sends it (one copy, or none for the archive only).
  void room_line(std::string_view text, bool to_resource) {
    transport::InboundMessage im;
    im.user = "alice@example.org";
    im.user_resource = to_resource ? "in" : "";
    im.peer = "#r%server";
    im.peer_resource = text.size() % 2 ? "bob" : "";
    im.body = std::string(text);
    im.kind = transport::MessageKind::Groupchat;
    im.archive_line = ++line_no;
    check(core->on_event(std::move(im)), {}, {});
  }

  void self_presence() {
    transport::PresenceUpdate p;
    p.user = "alice@example.org";
    p.user_resource = "in";
    p.peer = "#r%server";
    p.peer_resource = "me";
    p.muc = transport::MucPresence{.codes = {110}};
    check(core->on_event(std::move(p)), {}, {});
  }

  void answer_admin(bool ok) {
    transport::SendOutcome o;
    o.ok = ok;
    o.failure = transport::Failure::Forbidden;
    o.text = "not an operator";
    answer(admin_refs, std::move(o));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool archive = false;
  for (std::string_view word : {"!M", "!m", "!S", "mam", "history"}) archive = archive || in.find(word) != in.npos;
  World w(archive);
  while (!in.empty()) {
    auto end = in.find('\0');
    auto piece = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
    if (piece.size() >= 2 && piece[0] == '!') {
      if (piece[1] == 'L') w.answer_list(true);
      else if (piece[1] == 'F') w.answer_list(false);
      else if (piece[1] == 'A') w.answer_admin(true);
      else if (piece[1] == 'B') w.answer_admin(false);
      else if (piece[1] == 'T') w.clock.advance(std::chrono::minutes(1));
      else if (piece[1] == 'M' || piece[1] == 'm') w.room_line(piece.substr(2), piece[1] == 'M');
      else if (piece[1] == 'S') w.self_presence();
      continue;
    }
    w.stanza(piece);
  }
  return 0;
}
