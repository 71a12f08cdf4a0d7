// The server's channel list as disco#items (SPEC §4): the LIST collector and the
// session that asks for it, answers every waiting request, caches it and fails
// what cannot be answered.
#include <doctest/doctest.h>

#include "irc_session_scenario.hpp"
#include "transports/irc/irc_channel_list.hpp"

using namespace sb::test::irc_session;

namespace {
std::vector<std::string> peers(const std::vector<Item>& items) {
  std::vector<std::string> v;
  for (const auto& i : items) v.push_back(i.peer);
  return v;
}
}  // namespace

TEST_CASE("LIST replies become items: most users first, named with users and clean topic") {
  ChannelListing l;
  l.add("#small", "1", "");
  l.add("#big", "40", "\x02" "bold\x02 and \x03" "4red\x03 caf\xe9");  // formatting, latin-1
  l.add("#also40", "40", "x");
  l.add("#odd", "many", "");  // not a number: 0 users
  auto items = l.take_items("irc.test");
  CHECK(peers(items) == std::vector<std::string>{"#also40%irc.test", "#big%irc.test", "#small%irc.test",
                                                 "#odd%irc.test"});
  CHECK(items[1].name == "#big (40 users): bold and red caf\xc3\xa9");
  CHECK(items[2].name == "#small (1 user)");
  CHECK(items[3].name == "#odd (0 users)");
  CHECK(l.size() == 0);  // taken
}

TEST_CASE("channel names that are not clean text are left out; long topics are cut on a character") {
  ChannelListing l;
  l.add("#bad\x01name", "5", "");
  l.add("#bad\xff", "5", "");
  l.add("", "5", "");
  std::string topic(200, 'a');
  topic.replace(115, 2, "\xc3\xa9");  // a 2-byte character across the cut
  l.add("#long", "2", topic);
  auto items = l.take_items("s");
  REQUIRE(items.size() == 1);
  const auto& name = items[0].name;
  CHECK(name.size() <= std::string("#long (2 users): ").size() + ChannelListing::kMaxTopicBytes);
  CHECK(name.substr(name.size() - 3) == "...");
  CHECK(name.find("\xc3\xa9") != std::string::npos);  // not split
}

TEST_CASE("a list larger than the bound keeps the channels with the most users") {
  ChannelListing l;
  const std::size_t n = ChannelListing::kMaxChannels + 500;
  for (std::size_t i = 0; i < n; ++i) l.add("#c" + std::to_string(i), std::to_string(i), "");
  auto items = l.take_items("s");
  REQUIRE(items.size() == ChannelListing::kMaxChannels);
  CHECK(items.front().peer == "#c" + std::to_string(n - 1) + "%s");
  CHECK(items.back().peer == "#c500%s");  // the 500 smallest were dropped
}

TEST_CASE("listing without a connection opens one, sends LIST after registration, answers with the items") {
  Scenario sc;
  auto out = sc.s.list_channels(7, kNow);
  REQUIRE(out.connect.has_value());
  CHECK(out.connect->nick == "alice");
  CHECK(out.arm == SessionTimer::Grace);  // the connection is for nothing lasting
  CHECK(wire(out).empty());
  CHECK(all<ItemList>(out).empty());

  auto second = sc.s.list_channels(8, kNow + 10);  // while the first is on its way: no second LIST
  CHECK(wire(second).empty());
  CHECK(all<ItemList>(second).empty());

  auto reg = sc.s.on_registered("alice", false);
  CHECK(wire(reg) == std::vector<std::string>{"LIST"});
  CHECK(all<ItemList>(sc.irc(":srv 321 alice Channel :Users  Name")).empty());
  sc.irc(":srv 322 alice #one 3 :first");
  sc.irc(":srv 322 alice #two 9 :");
  auto end = sc.irc(":srv 323 alice :End of LIST");
  auto lists = all<ItemList>(end);
  REQUIRE(lists.size() == 2);
  CHECK(lists[0].ref == 7);
  CHECK(lists[1].ref == 8);
  for (const auto& l : lists) {
    CHECK(l.ok);
    CHECK(peers(l.items) == std::vector<std::string>{"#two%irc.test", "#one%irc.test"});
  }
  CHECK(all<InboundMessage>(end).empty());  // nothing of it shown as server text

  // Fresh for a minute: answered at once, no LIST.
  auto cached = sc.s.list_channels(9, kNow + 30'000);
  CHECK(wire(cached).empty());
  REQUIRE(all<ItemList>(cached).size() == 1);
  CHECK(all<ItemList>(cached)[0].items.size() == 2);
  // Older: asked again.
  auto stale = sc.s.list_channels(10, kNow + IrcSession::kListFreshMs);
  CHECK(wire(stale) == std::vector<std::string>{"LIST"});
  CHECK(all<ItemList>(stale).empty());
}

TEST_CASE("the grace period does not quit while a list is still coming, and quits after it") {
  Scenario sc;
  sc.s.list_channels(1, kNow);
  sc.s.on_registered("alice", false);
  auto early = sc.s.on_timer(SessionTimer::Grace);
  CHECK_FALSE(early.quit.has_value());
  CHECK(early.arm == SessionTimer::Grace);
  sc.irc(":srv 323 alice :End of LIST");
  auto later = sc.s.on_timer(SessionTimer::Grace);
  CHECK(later.quit.has_value());
}

TEST_CASE("a user's own raw LIST is shown as server text, not taken for a channel list") {
  Scenario sc;
  sc.joined();
  auto out = sc.irc(":srv 322 alice #one 3 :first");
  CHECK(all<ItemList>(out).empty());
  CHECK_FALSE(all<InboundMessage>(out).empty());
}

TEST_CASE("RPL_TRYAGAIN and a lost connection fail the waiting list requests") {
  Scenario sc;
  sc.joined();
  auto sent = sc.s.list_channels(5, kNow);
  CHECK(wire(sent) == std::vector<std::string>{"LIST"});
  auto busy = sc.irc(":srv 263 alice LIST :Server load is temporarily too heavy");
  auto fails = all<ItemList>(busy);
  REQUIRE(fails.size() == 1);
  CHECK_FALSE(fails[0].ok);
  CHECK(fails[0].failure == Failure::Unavailable);
  CHECK(fails[0].text.find("too heavy") != std::string::npos);

  sc.s.list_channels(6, kNow);
  auto lost = sc.s.on_closed("Connection reset", false);
  auto lf = all<ItemList>(lost);
  REQUIRE(lf.size() == 1);
  CHECK(lf[0].ref == 6);
  CHECK_FALSE(lf[0].ok);
  // Reconnecting (backoff): refused at once rather than left waiting.
  auto during = sc.s.list_channels(7, kNow);
  REQUIRE(all<ItemList>(during).size() == 1);
  CHECK_FALSE(all<ItemList>(during)[0].ok);
}

TEST_CASE("a nick the server refuses before registration fails a list-only connection's request") {
  Scenario sc;
  sc.s.list_channels(3, kNow);
  auto closed = sc.s.on_closed("Nickname is already in use", true);
  auto lf = all<ItemList>(closed);
  REQUIRE(lf.size() == 1);
  CHECK(lf[0].failure == Failure::Conflict);
  CHECK(closed.finished);
}

TEST_CASE("disconnecting the user fails the waiting list request") {
  Scenario sc;
  sc.s.list_channels(3, kNow);
  auto out = sc.s.disconnect("Unregistered", false);
  REQUIRE(all<ItemList>(out).size() == 1);
  CHECK_FALSE(all<ItemList>(out)[0].ok);
}

TEST_CASE("a LIST that never ends is answered with what came, by time or by a second grace period") {
  Scenario sc;
  sc.joined();
  sc.s.list_channels(1, kNow);
  sc.irc(":srv 322 alice #one 3 :first", kNow + 1000);
  CHECK(all<ItemList>(sc.irc(":bob!~b@h PRIVMSG #chan :hi", kNow + 2000)).empty());
  auto late = sc.irc(":bob!~b@h PRIVMSG #chan :hi", kNow + IrcSession::kListTimeoutMs);
  REQUIRE(all<ItemList>(late).size() == 1);
  CHECK(all<ItemList>(late)[0].ok);
  CHECK(all<ItemList>(late)[0].items.size() == 1);

  Scenario idle;  // no other traffic: the grace timer ends it
  idle.s.list_channels(2, kNow);
  idle.s.on_registered("alice", false);
  CHECK_FALSE(idle.s.on_timer(SessionTimer::Grace).quit.has_value());
  auto second = idle.s.on_timer(SessionTimer::Grace);
  REQUIRE(all<ItemList>(second).size() == 1);
  CHECK(second.quit.has_value());
}

TEST_CASE("ERR_TOOMANYMATCHES answers with what came; another error reply about LIST fails the request") {
  Scenario sc;
  sc.joined();
  sc.s.list_channels(1, kNow);
  sc.irc(":srv 322 alice #one 3 :first");
  auto big = sc.irc(":srv 416 alice LIST :Output too large, truncated");
  REQUIRE(all<ItemList>(big).size() == 1);
  CHECK(all<ItemList>(big)[0].ok);
  CHECK(all<ItemList>(big)[0].items.size() == 1);

  sc.s.list_channels(2, kNow + IrcSession::kListFreshMs);
  auto unknown = sc.irc(":srv 421 alice LIST :Unknown command", kNow + IrcSession::kListFreshMs);
  REQUIRE(all<ItemList>(unknown).size() == 1);
  CHECK_FALSE(all<ItemList>(unknown)[0].ok);
}
