// XEP-0059 paging (SPEC §4: an IRC server's channel list is paged).
#include <doctest/doctest.h>

#include <algorithm>

#include "component/namespaces.hpp"
#include "component/rsm.hpp"
#include "component/stanza.hpp"

using namespace sb::xmpp;

namespace {
RsmRequest parsed(const std::string& set_xml) {
  auto s = Stanza::parse("<query xmlns='http://jabber.org/protocol/disco#items'>" + set_xml + "</query>");
  REQUIRE(s);
  auto r = parse_rsm(s->root());
  REQUIRE(r);
  return *r;
}
const std::vector<std::string> kUids{"a", "b", "c", "d", "e"};

// The list's UIDs all at hand, for these tests.
RsmPage rsm_page(const RsmRequest& r, const std::vector<std::string>& uids, std::size_t limit) {
  return sb::xmpp::rsm_page(r, uids.size(), [&](const std::string& uid) -> std::optional<std::size_t> {
    auto it = std::find(uids.begin(), uids.end(), uid);
    if (it == uids.end()) return std::nullopt;
    return static_cast<std::size_t>(it - uids.begin());
  }, limit);
}
void append_rsm_result(pugi::xml_node parent, const std::vector<std::string>& uids, const RsmPage& page) {
  const bool any = page.begin < page.end;
  sb::xmpp::append_rsm_result(parent, page, uids.size(), any ? uids[page.begin] : std::string(),
                              any ? uids[page.end - 1] : std::string());
}
}  // namespace

TEST_CASE("no <set/>: the first `limit` items, and the request is marked as without one") {
  auto r = parsed("");
  CHECK_FALSE(r.present);
  auto p = rsm_page(r, kUids, 3);
  CHECK(p.begin == 0);
  CHECK(p.end == 3);
}

TEST_CASE("max, after, before, index select the page XEP-0059 describes") {
  auto set = [](const std::string& inner) { return "<set xmlns='http://jabber.org/protocol/rsm'>" + inner + "</set>"; };
  auto page = [&](const std::string& inner, std::size_t limit = 100) { return rsm_page(parsed(set(inner)), kUids, limit); };
  CHECK(page("<max>2</max>").begin == 0);
  CHECK(page("<max>2</max>").end == 2);
  CHECK(page("<max>2</max><after>b</after>").begin == 2);   // §2.2: the next page
  CHECK(page("<max>2</max><after>b</after>").end == 4);
  CHECK(page("<max>2</max><after>d</after>").end == 5);     // a short last page
  CHECK(page("<max>2</max><before/>").begin == 3);          // §2.5: the last page
  CHECK(page("<max>2</max><before/>").end == 5);
  CHECK(page("<max>2</max><before>b</before>").begin == 0); // the page before "b"
  CHECK(page("<max>2</max><before>b</before>").end == 1);
  CHECK(page("<max>2</max><index>4</index>").begin == 4);   // §2.6: out of order
  CHECK(page("<max>2</max><index>9</index>").begin == 5);   // past the end: empty
  CHECK(page("<max>0</max>").end == 0);                     // §2.7: only the count
  CHECK(page("<max>50</max>", 3).end == 3);                 // never more than our limit
  CHECK_FALSE(page("<after>zz</after>").found);             // §2.4 -> item-not-found
  CHECK_FALSE(page("<before>zz</before>").found);
}

TEST_CASE("a max or index that is not a number is a malformed request") {
  for (auto bad : {"<max>ten</max>", "<max>-1</max>", "<index>1x</index>", "<max></max>"}) {
    auto s = Stanza::parse(std::string("<query><set xmlns='http://jabber.org/protocol/rsm'>") + bad + "</set></query>");
    REQUIRE(s);
    CHECK_FALSE(parse_rsm(s->root()).has_value());
  }
}

TEST_CASE("the result <set/> names the first and last item of the page and counts all") {
  auto s = Stanza::parse("<query/>");
  REQUIRE(s);
  append_rsm_result(s->root(), kUids, RsmPage{1, 3, true});
  auto set = child(s->root(), "set", ns::rsm);
  REQUIRE(set);
  CHECK(std::string(child(set, "first", ns::rsm).text().get()) == "b");
  CHECK(std::string(child(set, "first", ns::rsm).attribute("index").value()) == "1");
  CHECK(std::string(child(set, "last", ns::rsm).text().get()) == "c");
  CHECK(std::string(child(set, "count", ns::rsm).text().get()) == "5");

  auto empty = Stanza::parse("<query/>");
  append_rsm_result(empty->root(), kUids, RsmPage{5, 5, true});
  auto eset = child(empty->root(), "set", ns::rsm);
  CHECK_FALSE(child(eset, "first", ns::rsm));  // §2.7: an empty page has only the count
  CHECK(std::string(child(eset, "count", ns::rsm).text().get()) == "5");
}
