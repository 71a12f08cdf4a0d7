// Scenarios: rooms (XEP-0045) through the core, as the IRC transport uses them —
// occupant presence with muc#user items and status codes, per-resource delivery,
// subjects both ways, error presence, disco#info of a room, and the replay of
// registrations to the transport at start.
#include <doctest/doctest.h>

#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "fakes/core_harness.hpp"

using namespace sb;
using namespace sb::test;

namespace {
constexpr const char* kRoom = "room";  // FakeCodec: the peer is the localpart

std::vector<int> codes_of(const xmpp::Stanza& s) {
  std::vector<int> v;
  for (auto st : s.child("x", xmpp::ns::muc_user).children("status")) v.push_back(st.attribute("code").as_int());
  return v;
}
pugi::xml_node item_of(const xmpp::Stanza& s) { return s.child("x", xmpp::ns::muc_user).child("item"); }
}  // namespace

TEST_CASE("occupant presence carries the muc#user item and codes, to the one joined resource") {
  CoreHarness h;
  transport::PresenceUpdate occupant;
  occupant.user = "alice@example.org";
  occupant.user_resource = "laptop";
  occupant.peer = kRoom;
  occupant.peer_resource = "Bob";
  occupant.muc = transport::MucPresence{.affiliation = "admin", .role = "moderator"};
  auto out = h.event(occupant);
  auto& p = out.only();
  CHECK(p.to() == "alice@example.org/laptop");
  CHECK(p.from() == "room@mqtt.example.org/Bob");
  CHECK(std::string(item_of(p).attribute("role").value()) == "moderator");
  CHECK(std::string(item_of(p).attribute("affiliation").value()) == "admin");
  CHECK(codes_of(p).empty());

  // A nick change: unavailable with 303 and the new nick; a kick with actor and reason.
  occupant.available = false;
  occupant.muc = transport::MucPresence{.affiliation = "none", .role = "participant", .codes = {303}, .nick = "Bobby"};
  auto nick = h.event(occupant);
  CHECK(nick.only().type() == "unavailable");
  CHECK(codes_of(nick.only()) == std::vector<int>{303});
  CHECK(std::string(item_of(nick.only()).attribute("nick").value()) == "Bobby");
  occupant.muc = transport::MucPresence{.role = "none", .codes = {307}, .reason = "spam", .actor = "op"};
  auto kick = h.event(occupant);
  CHECK(codes_of(kick.only()) == std::vector<int>{307});
  CHECK(std::string(item_of(kick.only()).child("actor").attribute("nick").value()) == "op");
  CHECK(std::string(item_of(kick.only()).child_value("reason")) == "spam");

  // A resource that is not a valid JID part is never used as an address.
  occupant.user_resource = std::string("bad\x01res");
  CHECK(h.event(occupant).stanzas.empty());
}

TEST_CASE("the user's own occupancy is remembered for shutdown; other occupants are not") {
  CoreHarness h;
  transport::PresenceUpdate self;
  self.user = "alice@example.org";
  self.user_resource = "laptop";
  self.peer = kRoom;
  self.peer_resource = "alice";
  self.muc = transport::MucPresence{.role = "participant", .codes = {110}};
  transport::PresenceUpdate other = self;
  other.peer_resource = "bob";
  other.muc = transport::MucPresence{};
  h.event(other);
  h.event(self);
  // Reconnect of the component: room occupancy is the client's state, nothing repeated.
  CHECK(h.connected().stanzas.size() <= 1);  // at most the domain presence (no subscribers here)
  auto down = h.shutdown();
  REQUIRE(down.stanzas.size() == 1);
  CHECK(down.only().to() == "alice@example.org/laptop");
  CHECK(down.only().from() == "room@mqtt.example.org/alice");
  CHECK(down.only().type() == "unavailable");
  CHECK(codes_of(down.only()) == std::vector<int>{110, 332});
}

TEST_CASE("subject messages: with no body, an empty subject counts; and from XMPP to the transport") {
  CoreHarness h;
  transport::InboundMessage subj;
  subj.user = "alice@example.org";
  subj.user_resource = "laptop";
  subj.peer = kRoom;
  subj.kind = transport::MessageKind::Groupchat;
  subj.subject = "";
  auto out = h.event(subj);
  auto& m = out.only();
  CHECK(m.to() == "alice@example.org/laptop");
  CHECK(m.type() == "groupchat");
  CHECK(m.child("subject", xmpp::ns::component));
  CHECK_FALSE(m.child("body", xmpp::ns::component));

  h.tr.needs_registration = false;
  auto set = h.send("<message type='groupchat' id='s1' from='alice@example.org/laptop' to='room@mqtt.example.org'>"
                    "<subject>new topic</subject></message>");
  auto cmds = commands_of<transport::OutboundMessage>(set);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].subject == "new topic");
  CHECK(cmds[0].body.empty());
  CHECK(cmds[0].kind == transport::MessageKind::Groupchat);
  CHECK(cmds[0].id == "s1");

  // The origin-id, when there is one, is what a reflection must carry.
  auto msg = h.send("<message type='groupchat' id='s2' from='alice@example.org/laptop' to='room@mqtt.example.org'>"
                    "<body>hi</body><origin-id xmlns='urn:xmpp:sid:0' id='o-42'/></message>");
  CHECK(commands_of<transport::OutboundMessage>(msg).at(0).id == "o-42");
}

TEST_CASE("a join presence is marked as such; an error presence reaches the joining resource") {
  CoreHarness h;
  h.tr.needs_registration = false;
  auto join = h.send("<presence from='alice@example.org/laptop' to='room@mqtt.example.org/alice'>"
                     "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  auto p = commands_of<transport::OutboundPresence>(join);
  REQUIRE(p.size() == 1);
  CHECK(p[0].muc);
  CHECK(p[0].peer_resource == "alice");
  CHECK(p[0].user_resource == "laptop");

  transport::PresenceUpdate conflict;
  conflict.user = "alice@example.org";
  conflict.user_resource = "laptop";
  conflict.peer = kRoom;
  conflict.peer_resource = "alice";
  conflict.error = transport::Failure::Conflict;
  conflict.status = "Nick alice is in use";
  auto out = h.event(conflict);
  auto& e = out.only();
  CHECK(e.name() == "presence");
  CHECK(e.type() == "error");
  CHECK(e.to() == "alice@example.org/laptop");
  CHECK(e.from() == "room@mqtt.example.org/alice");
  CHECK(error_condition(e) == "conflict");
}

TEST_CASE("disco#info on a room comes from the transport; without a description it is service-unavailable") {
  CoreHarness h;
  h.tr.needs_registration = false;
  h.tr.peer_info_of = [](std::string_view peer) -> std::optional<transport::PeerInfo> {
    if (peer != "room") return std::nullopt;
    return transport::PeerInfo{"conference", "text", "#room on irc", {"http://jabber.org/protocol/muc"}};
  };
  auto q = [&](const std::string& to) {
    return h.send("<iq type='get' id='d1' from='alice@example.org/laptop' to='" + to +
                  "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  };
  auto room = q("room@mqtt.example.org");
  auto& r = room.only();
  CHECK(r.type() == "result");
  auto id = r.child("query", xmpp::ns::disco_info).child("identity");
  CHECK(std::string(id.attribute("category").value()) == "conference");
  CHECK(std::string(id.attribute("name").value()) == "#room on irc");
  bool muc = false;
  for (auto f : r.child("query", xmpp::ns::disco_info).children("feature"))
    muc = muc || std::string(f.attribute("var").value()) == "http://jabber.org/protocol/muc";
  CHECK(muc);
  CHECK(error_condition(q("other@mqtt.example.org").only()) == "service-unavailable");
}

TEST_CASE("at start the transport hears of every stored registration and its settings") {
  CoreHarness h;
  h.tr.fields = {transport::Field{.var = "nick", .label = "Nick"}};
  h.tr.settings = {transport::Field{.var = "color", .label = "Colour"}};
  h.register_user("alice@example.org", "<nick>al</nick>");
  h.register_user("bob@example.org", "<nick>bo</nick>");
  h.reg.put_setting("mqtt.example.org", "bob@example.org", "color", "blue");
  auto out = h.start();
  auto regs = commands_of<transport::UserRegistered>(out);
  REQUIRE(regs.size() == 2);
  auto settings = commands_of<transport::SettingsChanged>(out);
  REQUIRE(settings.size() == 1);
  CHECK(settings[0].user == "bob@example.org");
  CHECK(settings[0].settings.at(0) == std::pair<std::string, std::string>{"color", "blue"});
  for (auto& r : regs) CHECK(r.fields.size() == 1);
  CHECK(out.stanzas.empty());
}

TEST_CASE("a join's XEP-0045 password reaches the transport; a refused one is not-authorized") {
  CoreHarness h;
  h.tr.needs_registration = false;
  auto join = h.send("<presence from='alice@example.org/laptop' to='room@mqtt.example.org/alice'>"
                     "<x xmlns='http://jabber.org/protocol/muc'><password>cauldronburn</password></x></presence>");
  auto p = commands_of<transport::OutboundPresence>(join);
  REQUIRE(p.size() == 1);
  CHECK(p[0].muc);
  CHECK(p[0].muc_password == "cauldronburn");
  // XEP-0045 §7.2.6: a wrong or missing password is <not-authorized/>.
  auto out = h.event(transport::SendOutcome{.ref = p[0].ref, .ok = false,
                                            .failure = transport::Failure::NotAuthorized,
                                            .text = "Cannot join channel (+k)"});
  auto& e = out.only();
  CHECK(e.name() == "presence");
  CHECK(e.type() == "error");
  CHECK(e.to() == "alice@example.org/laptop");
  CHECK(error_condition(e) == "not-authorized");
}

TEST_CASE("XEP-0410 self-ping: answered for a joined resource, not-acceptable for one that is not in the room") {
  CoreHarness h;
  h.register_user("alice@example.org");
  const auto commands = h.tr.sent.size();
  h.tr.occupancy_of = [](std::string_view res, std::string_view peer, std::string_view nick) {
    if (peer != kRoom) return transport::Occupancy::Unknown;
    if (res != "laptop") return transport::Occupancy::NotJoined;
    return nick == "alice" ? transport::Occupancy::Self : transport::Occupancy::Other;
  };
  auto ping = [&](const std::string& res, const std::string& to) {
    return h.send("<iq type='get' id='p1' from='alice@example.org/" + res + "' to='" + to +
                  "'><ping xmlns='urn:xmpp:ping'/></iq>");
  };
  auto joined = ping("laptop", "room@mqtt.example.org/alice");
  CHECK(joined.only().type() == "result");
  CHECK(std::string(joined.only().attr("from")) == "room@mqtt.example.org/alice");
  CHECK(error_condition(ping("phone", "room@mqtt.example.org/alice").only()) == "not-acceptable");
  // Another occupant: not answered on their behalf.
  CHECK(error_condition(ping("laptop", "room@mqtt.example.org/bob").only()) == "service-unavailable");
  // Only a ping is answered for oneself; any iq to an occupant needs occupancy.
  auto version = h.send("<iq type='get' id='v1' from='alice@example.org/phone' to='room@mqtt.example.org/bob'>"
                        "<query xmlns='jabber:iq:version'/></iq>");
  CHECK(error_condition(version.only()) == "not-acceptable");
  // Not a room: as before.
  CHECK(error_condition(ping("laptop", "person@mqtt.example.org/x").only()) == "service-unavailable");
  CHECK(h.tr.sent.size() == commands);  // nothing reached the transport
}

TEST_CASE("XEP-0045 §8 moderation: an occupant's muc#admin item goes to the transport, its outcome is the iq's answer") {
  CoreHarness h;
  h.register_user("alice@example.org");
  h.tr.occupancy_of = [](std::string_view res, std::string_view peer, std::string_view) {
    if (peer != kRoom) return transport::Occupancy::Unknown;
    return res == "laptop" ? transport::Occupancy::Other : transport::Occupancy::NotJoined;
  };
  auto admin = [&](const std::string& res, const std::string& items, const std::string& id = "k1") {
    return h.send("<iq type='set' id='" + id + "' from='alice@example.org/" + res +
                  "' to='room@mqtt.example.org'><query xmlns='http://jabber.org/protocol/muc#admin'>" + items +
                  "</query></iq>");
  };
  auto kick = admin("laptop", "<item nick='bob' role='none'><reason>spam</reason></item>");
  CHECK(kick.stanzas.empty());  // answered when the transport has done it
  auto cmds = h.tr.sent_of<transport::RoomAdmin>();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].user == "alice@example.org");
  CHECK(cmds[0].user_resource == "laptop");
  CHECK(cmds[0].peer == kRoom);
  CHECK(cmds[0].nick == "bob");
  CHECK(cmds[0].role == "none");
  CHECK(cmds[0].reason == "spam");
  auto done_out = h.event(transport::SendOutcome{.ref = cmds[0].ref});
  const auto& done = done_out.only();
  CHECK(done.type() == "result");
  CHECK(done.id() == "k1");
  CHECK(std::string(done.attr("to")) == "alice@example.org/laptop");

  admin("laptop", "<item nick='bob' affiliation='member'/>", "k2");
  transport::SendOutcome refused;
  refused.ref = h.tr.sent_of<transport::RoomAdmin>().back().ref;
  refused.ok = false;
  refused.failure = transport::Failure::Forbidden;
  refused.text = "You're not channel operator";
  auto err_out = h.event(refused);
  CHECK(error_condition(err_out.only()) == "forbidden");
  CHECK(error_text(err_out.only()) == "You're not channel operator");

  const auto sent = h.tr.sent_of<transport::RoomAdmin>().size();
  CHECK(error_condition(admin("phone", "<item nick='bob' role='none'/>").only()) == "forbidden");  // not in the room
  CHECK(error_condition(admin("laptop", "<item role='none'/>").only()) == "bad-request");            // no nick
  CHECK(error_condition(admin("laptop", "<item nick='bob'/>").only()) == "bad-request");             // nothing to do
  CHECK(error_condition(admin("laptop", "<item nick='bob' role='none' affiliation='none'/>").only()) == "bad-request");
  CHECK(error_condition(admin("laptop", "<item nick='a' role='none'/><item nick='b' role='none'/>").only()) ==
        "bad-request");
  CHECK(h.tr.sent_of<transport::RoomAdmin>().size() == sent);
  // Not a room of this transport: as any iq to a contact.
  auto other = h.send("<iq type='set' id='k9' from='alice@example.org/laptop' to='person@mqtt.example.org'>"
                      "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='b' role='none'/></query></iq>");
  CHECK(error_condition(other.only()) == "service-unavailable");
}

TEST_CASE("invitations: mediated (XEP-0045 §7.8.2) and direct (XEP-0249) of a legacy contact go to the transport") {
  CoreHarness h;
  h.register_user("alice@example.org");
  h.tr.occupancy_of = [](std::string_view res, std::string_view peer, std::string_view) {
    if (peer != kRoom) return transport::Occupancy::Unknown;
    return res == "laptop" ? transport::Occupancy::Other : transport::Occupancy::NotJoined;
  };
  auto mediated = h.send(
      "<message id='i1' from='alice@example.org/laptop' to='room@mqtt.example.org'>"
      "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@mqtt.example.org'><reason>join us</reason>"
      "</invite></x></message>");
  CHECK(mediated.stanzas.empty());
  auto cmds = h.tr.sent_of<transport::RoomInvite>();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].user == "alice@example.org");
  CHECK(cmds[0].user_resource == "laptop");
  CHECK(cmds[0].room == kRoom);
  CHECK(cmds[0].invitee == "dave");
  CHECK(cmds[0].reason == "join us");

  h.send("<message id='i2' from='alice@example.org/laptop' to='dave@mqtt.example.org'>"
         "<x xmlns='jabber:x:conference' jid='room@mqtt.example.org' reason='hi'/></message>");
  cmds = h.tr.sent_of<transport::RoomInvite>();
  REQUIRE(cmds.size() == 2);
  CHECK(cmds[1].room == kRoom);
  CHECK(cmds[1].invitee == "dave");
  CHECK(cmds[1].reason == "hi");
  // The transport's refusal is an error to the inviter.
  transport::SendOutcome no;
  no.ref = cmds[1].ref;
  no.ok = false;
  no.failure = transport::Failure::NotFound;
  no.text = "No such nick";
  auto err = h.event(no);
  CHECK(error_condition(err.only()) == "item-not-found");
  CHECK(std::string(err.only().attr("to")) == "alice@example.org/laptop");
  CHECK(err.only().name() == "message");

  // Not in the room, or a room elsewhere: refused here.
  CHECK(error_condition(h.send("<message id='i3' from='alice@example.org/phone' to='room@mqtt.example.org'>"
                               "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@mqtt.example.org'/>"
                               "</x></message>").only()) == "forbidden");
  // A room elsewhere is not ours to carry: an ordinary message, delivered when it says anything.
  CHECK(h.send("<message id='i4' from='alice@example.org/laptop' to='dave@mqtt.example.org'>"
               "<x xmlns='jabber:x:conference' jid='room@conference.elsewhere'/></message>").stanzas.empty());
  const auto messages = h.tr.sent_of<transport::OutboundMessage>().size();
  h.send("<message id='i5' type='chat' from='alice@example.org/laptop' to='dave@mqtt.example.org'><body>see you there</body>"
         "<x xmlns='jabber:x:conference' jid='room@conference.elsewhere'/></message>");
  REQUIRE(h.tr.sent_of<transport::OutboundMessage>().size() == messages + 1);
  CHECK(h.tr.sent_of<transport::OutboundMessage>().back().body == "see you there");
  CHECK(h.tr.sent_of<transport::RoomInvite>().size() == 2);
}

TEST_CASE("an invitation element sent to a transport without rooms is an ordinary message") {
  CoreHarness h;  // FakeTransport: occupancy Unknown for everything (as MQTT and SMS)
  h.register_user("alice@example.org");
  auto out = h.send("<message id='m1' type='chat' from='alice@example.org/pc' to='dev@mqtt.example.org'>"
                    "<body>hello</body><x xmlns='http://jabber.org/protocol/muc#user'><invite to='x@y.example'/></x>"
                    "</message>");
  CHECK(out.stanzas.empty());
  REQUIRE(h.tr.sent_of<transport::OutboundMessage>().size() == 1);
  CHECK(h.tr.sent_of<transport::OutboundMessage>()[0].body == "hello");
}

TEST_CASE("inviting an XMPP user passes the invitation on from the room, as a MUC service does") {
  CoreHarness h;
  h.register_user("alice@example.org");
  h.tr.occupancy_of = [](std::string_view, std::string_view peer, std::string_view) {
    return peer == kRoom ? transport::Occupancy::Other : transport::Occupancy::Unknown;
  };
  auto out = h.send(
      "<message id='i1' from='alice@example.org/laptop' to='room@mqtt.example.org'>"
      "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='friend@other.example'/></x></message>");
  const auto& msg = out.only();
  CHECK(std::string(msg.attr("from")) == "room@mqtt.example.org");
  CHECK(std::string(msg.attr("to")) == "friend@other.example");
  auto inv = xmpp::child(msg.child("x", xmpp::ns::muc_user), "invite", xmpp::ns::muc_user);
  CHECK(std::string(inv.attribute("from").value()) == "alice@example.org");
  CHECK(h.tr.sent_of<transport::RoomInvite>().empty());
}

TEST_CASE("an invitation from the legacy side carries a XEP-0249 element with the room's JID") {
  CoreHarness h;
  transport::InboundMessage im;
  im.user = "alice@example.org";
  im.peer = "bob";
  im.kind = transport::MessageKind::Normal;
  im.body = "bob invites you to room";
  im.invite_room = "room";
  auto out = h.event(im);
  auto x = out.only().child("x", xmpp::ns::conference);
  REQUIRE(x);
  CHECK(std::string(x.attribute("jid").value()) == "room@mqtt.example.org");
  CHECK(std::string(out.only().attr("from")) == "bob@mqtt.example.org");
}

TEST_CASE("a join's <history/> request reaches the transport (XEP-0045 §7.2.15)") {
  CoreHarness h;
  h.register_user("alice@example.org");
  auto join = [&](const std::string& history) {
    h.send("<presence from='alice@example.org/pc' to='room@mqtt.example.org/alice'>"
           "<x xmlns='http://jabber.org/protocol/muc'>" + history + "</x></presence>");
    return h.tr.sent_of<transport::OutboundPresence>().back();
  };
  auto none = join("");
  CHECK_FALSE(none.history_max.has_value());
  CHECK_FALSE(none.history_since_ms.has_value());
  CHECK(join("<history maxstanzas='5'/>").history_max == 5u);
  CHECK(join("<history maxchars='0'/>").history_max == 0u);
  CHECK(join("<history seconds='60'/>").history_since_ms == h.clock.unix_ms() - 60'000);
  auto since = join("<history since='2026-11-21T10:00:00Z'/>");
  REQUIRE(since.history_since_ms.has_value());
  CHECK(*since.history_since_ms == 1'795'255'200'000);
  CHECK_FALSE(join("<history since='yesterday'/>").history_since_ms.has_value());
  // Absurdly many seconds: everything (no signed overflow; UBSan and fuzz_core check).
  CHECK(join("<history seconds='18446744073709551615'/>").history_since_ms <= h.clock.unix_ms() % 1000);
}
