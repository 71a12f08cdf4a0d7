// Scenarios: the rooms' archive through the core (room_history.cpp) — lines kept
// once per line with one stanza-id on every copy, lines for the archive only,
// history on join after the self-presence, XEP-0313 queries of the sender's own
// archive with RSM paging, and no archive at all without one.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/civil_time.hpp"
#include "component/namespaces.hpp"
#include "fakes/core_harness.hpp"
#include "mapping/sqlite_archive.hpp"

using namespace sb;
using namespace sb::test;

namespace {
constexpr const char* kAlice = "alice@example.org";
constexpr const char* kRoomJid = "room@mqtt.example.org";

struct ArchiveHarness : CoreHarness {
  std::unique_ptr<mapping::SqliteArchive> store;
  ArchiveHarness() {
    std::string err;
    store = mapping::SqliteArchive::open(":memory:", err);
    REQUIRE_MESSAGE(store, err);
    archive = store.get();
    tr.needs_registration = false;  // as IRC: joining needs no registration
    // "room" is a room; alice's "pc" is in it.
    tr.occupancy_of = [](std::string_view res, std::string_view peer, std::string_view) {
      if (peer != "room") return transport::Occupancy::Unknown;
      return res == "pc" ? transport::Occupancy::Other : transport::Occupancy::NotJoined;
    };
  }
  // One line of the room as the IRC session sends it: a copy per resource.
  Out line(std::uint64_t n, const std::string& nick, const std::string& body, std::vector<std::string> resources) {
    Out all;
    for (const auto& r : resources) {
      transport::InboundMessage im;
      im.user = kAlice;
      im.user_resource = r;
      im.peer = "room";
      im.peer_resource = nick;
      im.body = body;
      im.kind = transport::MessageKind::Groupchat;
      im.archive_line = n;
      auto out = event(im);
      for (auto& s : out.stanzas) all.stanzas.push_back(std::move(s));
    }
    return all;
  }
  Out mam(const std::string& from, const std::string& inner, const std::string& type = "set") {
    return send("<iq type='" + type + "' id='q1' from='" + from + "' to='" + kRoomJid +
                "'><query xmlns='urn:xmpp:mam:2' queryid='f27'>" + inner + "</query></iq>");
  }
};

std::string stanza_id(const xmpp::Stanza& s) { return s.child("stanza-id", xmpp::ns::sid).attribute("id").value(); }
std::string body(const xmpp::Stanza& s) { return s.child("body", xmpp::ns::component).child_value(); }

// The results of a MAM answer: (id, nick, body) of each forwarded message, and
// what the <fin/> says (copied: the answer's stanzas are gone after the call).
struct MamAnswer {
  std::vector<std::string> ids, bodies, froms;
  std::string type, complete, count, last;
};
MamAnswer read_mam(const Out& out) {
  MamAnswer a;
  for (const auto& s : out.stanzas) {
    if (s.name() == "message") {
      auto r = s.child("result", xmpp::ns::mam);
      REQUIRE(r);
      CHECK(std::string(r.attribute("queryid").value()) == "f27");
      a.ids.push_back(r.attribute("id").value());
      auto m = r.child("forwarded").child("message");
      REQUIRE(m);
      CHECK(std::string(r.child("forwarded").child("delay").attribute("stamp").value()).size() == 24);
      a.bodies.push_back(m.child_value("body"));
      a.froms.push_back(m.attribute("from").value());
    } else {
      a.type = std::string(s.type());
      auto fin = s.child("fin", xmpp::ns::mam);
      a.complete = fin.attribute("complete").value();
      a.count = fin.child("set").child_value("count");
      a.last = fin.child("set").child_value("last");
    }
  }
  return a;
}
}  // namespace

TEST_CASE("every copy of a line carries the one stanza-id by the room; the next line another") {
  ArchiveHarness h;
  auto first = h.line(7, "bob", "hello", {"pc", "phone"});
  REQUIRE(first.stanzas.size() == 2);
  const auto id = stanza_id(first.stanzas[0]);
  CHECK_FALSE(id.empty());
  CHECK(stanza_id(first.stanzas[1]) == id);
  CHECK(std::string(first.stanzas[0].child("stanza-id", xmpp::ns::sid).attribute("by").value()) == kRoomJid);
  auto second = h.line(8, "bob", "again", {"pc"});
  CHECK(stanza_id(second.only()) != id);
  // Kept once per line, not once per copy.
  mapping::ArchiveQuery q;
  CHECK(h.store->query("mqtt.example.org", kAlice, "room", q).count == 2);
}

TEST_CASE("a line with no resource is kept and sent to nobody; without an archive it is dropped") {
  ArchiveHarness h;
  CHECK(h.line(1, "bob", "while away", {""}).stanzas.empty());
  mapping::ArchiveQuery q;
  auto page = h.store->query("mqtt.example.org", kAlice, "room", q);
  REQUIRE(page.lines.size() == 1);
  CHECK(page.lines[0].body == "while away");
  CHECK(page.lines[0].nick == "bob");

  CoreHarness plain;  // no archive: never sent to the bare JID either
  transport::InboundMessage im;
  im.user = kAlice;
  im.peer = "room";
  im.body = "while away";
  im.kind = transport::MessageKind::Groupchat;
  im.archive_line = 1;
  CHECK(plain.event(im).stanzas.empty());
  im.user_resource = "pc";
  CHECK(plain.event(im).only().child("stanza-id", xmpp::ns::sid).empty());
}

TEST_CASE("a join gets its history from the archive after its self-presence; the transport is asked for none") {
  ArchiveHarness h;
  for (int i = 1; i <= 4; ++i) {
    h.line(static_cast<std::uint64_t>(i), i % 2 ? "bob" : "", "m" + std::to_string(i), {""});
    h.clock.advance(std::chrono::seconds(10));
  }
  h.send("<presence from='alice@example.org/phone' to='room@mqtt.example.org/alice'>"
         "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='3'/></x></presence>");
  auto op = h.tr.sent_of<transport::OutboundPresence>().back();
  CHECK(op.history_max == 0u);  // what the transport kept is in the archive too
  CHECK_FALSE(op.history_since_ms.has_value());

  transport::PresenceUpdate self;
  self.user = kAlice;
  self.user_resource = "phone";
  self.peer = "room";
  self.peer_resource = "alice";
  self.muc = transport::MucPresence{.codes = {110}};
  auto out = h.event(self);
  REQUIRE(out.stanzas.size() == 4);
  CHECK(out.stanzas[0].name() == "presence");
  std::vector<std::string> bodies;
  for (std::size_t i = 1; i < out.stanzas.size(); ++i) {
    const auto& m = out.stanzas[i];
    bodies.push_back(body(m));
    CHECK(m.type() == "groupchat");
    CHECK(m.to() == "alice@example.org/phone");
    CHECK(std::string(m.child("delay", xmpp::ns::delay).attribute("from").value()) == kRoomJid);
    CHECK_FALSE(stanza_id(m).empty());
  }
  CHECK(bodies == std::vector<std::string>{"m2", "m3", "m4"});
  CHECK(out.stanzas[1].from() == "room@mqtt.example.org");  // m2 was said by the room itself
  CHECK(out.stanzas[2].from() == "room@mqtt.example.org/bob");

  // Given once per join: the same self-presence again (e.g. a rejoin after a
  // lost connection) brings no history.
  CHECK(h.event(self).stanzas.size() == 1);

  // No <history/>: the configured number; since: only the newer ones; maxchars=0: none.
  auto join_with = [&](ArchiveHarness& hh, const std::string& history) {
    hh.send("<presence from='alice@example.org/phone' to='room@mqtt.example.org/alice'>"
            "<x xmlns='http://jabber.org/protocol/muc'>" + history + "</x></presence>");
    return hh.event(self).stanzas.size() - 1;
  };
  ArchiveHarness h2;
  h2.cfg.history_on_join = 2;
  for (int i = 1; i <= 4; ++i) {
    h2.line(static_cast<std::uint64_t>(i), "bob", "m" + std::to_string(i), {""});
    h2.clock.advance(std::chrono::seconds(10));
  }
  CHECK(join_with(h2, "") == 2);
  CHECK(join_with(h2, "<history maxchars='0'/>") == 0);
  CHECK(join_with(h2, "<history seconds='25'/>") == 2);  // said 40, 30, 20, 10 s ago
  CHECK(join_with(h2, "<history maxstanzas='100000'/>") == 4);
}

TEST_CASE("XEP-0313: the sender's own archive, paged with RSM, filtered by time and speaker") {
  ArchiveHarness h;
  for (int i = 1; i <= 5; ++i) {
    h.line(static_cast<std::uint64_t>(i), i == 3 ? "carol" : "bob", "m" + std::to_string(i), {"pc"});
    h.clock.advance(std::chrono::seconds(60));
  }
  auto all = read_mam(h.mam("alice@example.org/pc", ""));
  CHECK(all.type == "result");
  CHECK(all.bodies == std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
  CHECK(all.froms[2] == "room@mqtt.example.org/carol");
  CHECK(all.complete == "true");
  CHECK(all.count == "5");

  auto p1 = read_mam(h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>"));
  CHECK(p1.bodies == std::vector<std::string>{"m1", "m2"});
  CHECK(p1.complete.empty());
  CHECK(p1.last == p1.ids.back());
  auto p2 = read_mam(h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><after>" +
                                                      p1.ids.back() + "</after></set>"));
  CHECK(p2.bodies == std::vector<std::string>{"m3", "m4"});
  auto last = read_mam(h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set>"));
  CHECK(last.bodies == std::vector<std::string>{"m4", "m5"});
  CHECK(last.complete.empty());  // more before m4
  auto before = read_mam(h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><before>" +
                                                          last.ids.front() + "</before></set>"));
  CHECK(before.bodies == std::vector<std::string>{"m1", "m2", "m3"});
  CHECK(before.complete == "true");

  auto form = [](const std::string& fields) {
    return "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value>"
           "</field>" + fields + "</x>";
  };
  auto carol = read_mam(h.mam("alice@example.org/pc",
                              form("<field var='with'><value>room@mqtt.example.org/carol</value></field>")));
  CHECK(carol.bodies == std::vector<std::string>{"m3"});
  auto elsewhere = read_mam(h.mam("alice@example.org/pc", form("<field var='with'><value>x@y.org</value></field>")));
  CHECK(elsewhere.bodies.empty());
  CHECK(elsewhere.count == "0");
  // m1 at T, m2 at T+60 s, ...: from T+60 s to T+120 s inclusive = m2, m3.
  const auto t0 = h.clock.unix_ms() - 5 * 60'000;
  auto stamp = [](std::int64_t ms) { return sb::civil::iso8601_ms(ms); };
  auto window = read_mam(h.mam("alice@example.org/pc", form("<field var='start'><value>" + stamp(t0 + 60'000) +
                                                            "</value></field><field var='end'><value>" +
                                                            stamp(t0 + 120'000) + "</value></field>")));
  CHECK(window.bodies == std::vector<std::string>{"m2", "m3"});

  // Errors: a bad time, an id the archive does not hold, a malformed <max/>.
  CHECK(h.mam("alice@example.org/pc", form("<field var='start'><value>soon</value></field>")).only().type() == "error");
  auto unknown = h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><after>999999</after></set>");
  CHECK(error_condition(unknown.only()) == "item-not-found");
  CHECK(h.mam("alice@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><max>x</max></set>").only().type() ==
        "error");

  // Another user of the gateway: their own (empty) archive; alice's ids are unknown to it.
  auto bob = read_mam(h.mam("bob@example.org/pc", ""));
  CHECK(bob.type == "result");
  CHECK(bob.bodies.empty());
  auto steal = h.mam("bob@example.org/pc", "<set xmlns='http://jabber.org/protocol/rsm'><after>" + all.ids[0] +
                                              "</after></set>");
  CHECK(error_condition(steal.only()) == "item-not-found");

  // The form (XEP-0313 §5.1).
  auto fields = h.mam("alice@example.org/pc", "", "get");
  auto x = fields.only().child("query", xmpp::ns::mam).child("x");
  REQUIRE(x);
  CHECK(x.find_child_by_attribute("field", "var", "with"));
  CHECK(x.find_child_by_attribute("field", "var", "start"));
}

TEST_CASE("rooms advertise XEP-0313 and stanza-ids only with an archive; <remove/> forgets the user's archive") {
  ArchiveHarness h;
  h.tr.peer_info_of = [](std::string_view peer) -> std::optional<transport::PeerInfo> {
    if (peer != "room") return std::nullopt;
    return transport::PeerInfo{"conference", "text", "room", {xmpp::ns::muc}};
  };
  auto info = h.send("<iq type='get' id='d1' from='alice@example.org/pc' to='room@mqtt.example.org'>"
                     "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  auto q = info.only().child("query", xmpp::ns::disco_info);
  CHECK(q.find_child_by_attribute("feature", "var", "urn:xmpp:mam:2"));
  CHECK(q.find_child_by_attribute("feature", "var", "urn:xmpp:sid:0"));

  CoreHarness plain;
  plain.tr.needs_registration = false;
  plain.tr.peer_info_of = h.tr.peer_info_of;
  plain.tr.occupancy_of = h.tr.occupancy_of;
  auto info2 = plain.send("<iq type='get' id='d1' from='alice@example.org/pc' to='room@mqtt.example.org'>"
                          "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  CHECK_FALSE(info2.only().child("query", xmpp::ns::disco_info).find_child_by_attribute("feature", "var",
                                                                                          "urn:xmpp:mam:2"));
  auto no_mam = plain.send("<iq type='set' id='q1' from='alice@example.org/pc' to='room@mqtt.example.org'>"
                           "<query xmlns='urn:xmpp:mam:2'/></iq>");
  CHECK(error_condition(no_mam.only()) == "service-unavailable");

  h.register_user(kAlice);
  h.line(1, "bob", "kept", {"pc"});
  CHECK(read_mam(h.mam("alice@example.org/pc", "")).bodies.size() == 1);
  h.send("<iq type='set' id='u1' from='alice@example.org/pc' to='mqtt.example.org'>"
         "<query xmlns='jabber:iq:register'><remove/></query></iq>");
  CHECK(read_mam(h.mam("alice@example.org/pc", "")).bodies.empty());
}

TEST_CASE("history on join: since alone is all of that time; joins pending in a burst all get theirs; failed or "
          "stale joins none") {
  ArchiveHarness h;
  h.cfg.history_on_join = 3;
  for (int i = 1; i <= 30; ++i) {
    h.line(static_cast<std::uint64_t>(i), "bob", "m" + std::to_string(i), {""});
    h.clock.advance(std::chrono::seconds(1));
  }
  auto join = [&](const std::string& res, const std::string& history) {
    h.send("<presence from='alice@example.org/" + res + "' to='room@mqtt.example.org/alice'>"
           "<x xmlns='http://jabber.org/protocol/muc'>" + history + "</x></presence>");
  };
  auto welcome = [&](const std::string& res) {
    transport::PresenceUpdate self;
    self.user = kAlice;
    self.user_resource = res;
    self.peer = "room";
    self.peer_resource = "alice";
    self.muc = transport::MucPresence{.codes = {110}};
    return h.event(self).stanzas.size() - 1;
  };
  join("phone", "<history seconds='3600'/>");
  CHECK(welcome("phone") == 30);  // not cut to history_on_join (3): the client asked for a time
  join("phone", "");
  CHECK(welcome("phone") == 3);

  // A restart's rejoin burst: far more joins waiting than any page of anything.
  for (int i = 0; i < 1500; ++i) join(std::to_string(i).insert(0, 1, 'r'), "<history maxstanzas='2'/>");
  CHECK(welcome("r0") == 2);
  CHECK(welcome("r1499") == 2);

  // A join refused (e.g. nick in use): no history for a later self-presence.
  join("tablet", "<history maxstanzas='2'/>");
  transport::PresenceUpdate refused;
  refused.user = kAlice;
  refused.user_resource = "tablet";
  refused.peer = "room";
  refused.error = transport::Failure::Conflict;
  h.event(refused);
  CHECK(welcome("tablet") == 0);
  // A join never welcomed for minutes has failed: a later 110 (a nick change) brings none.
  join("watch", "<history maxstanzas='2'/>");
  h.clock.advance(std::chrono::minutes(3));
  CHECK(welcome("watch") == 0);
}

TEST_CASE("XEP-0313: unknown form fields are feature-not-implemented; count only for the whole result set; "
          "IRC servers do not advertise an archive") {
  ArchiveHarness h;
  for (int i = 1; i <= 3; ++i) h.line(static_cast<std::uint64_t>(i), "bob", "m" + std::to_string(i), {"pc"});
  auto form = [](const std::string& fields) {
    return "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value>"
           "</field>" + fields + "</x>";
  };
  for (const char* var : {"ids", "{urn:xmpp:fulltext:0}fulltext", "include-groupchat"}) {
    auto out = h.mam("alice@example.org/pc", form(std::string("<field var='") + var + "'><value>1</value></field>"));
    CAPTURE(var);
    CHECK(error_condition(out.only()) == "feature-not-implemented");
  }
  auto all = read_mam(h.mam("alice@example.org/pc", ""));
  REQUIRE(all.ids.size() == 3);
  auto after = read_mam(h.mam("alice@example.org/pc", form("<field var='after-id'><value>" + all.ids[0] +
                                                           "</value></field>")));
  CHECK(after.bodies == std::vector<std::string>{"m2", "m3"});
  CHECK(after.count.empty());  // the store's count would include m1
  CHECK(all.count == "3");

  h.tr.peer_info_of = [](std::string_view peer) -> std::optional<transport::PeerInfo> {
    return transport::PeerInfo{"conference", peer == "room" ? "text" : "irc", std::string(peer), {}};
  };
  auto server = h.send("<iq type='get' id='d1' from='alice@example.org/pc' to='irc.server@mqtt.example.org'>"
                       "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  CHECK_FALSE(server.only().child("query", xmpp::ns::disco_info).find_child_by_attribute("feature", "var",
                                                                                           "urn:xmpp:mam:2"));
}
