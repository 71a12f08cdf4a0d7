// XEP-0059 Result Set Management: which page of a list to answer with, and the
// <set/> that tells the requester where it is. Used for disco#items of an IRC
// server, whose channel list can be thousands long (SPEC §4).
// Pure; thread-compatible.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <pugixml.hpp>

namespace sb::xmpp {

// A request's <set xmlns='http://jabber.org/protocol/rsm'/> (XEP-0059 §2).
struct RsmRequest {
  bool present = false;               // the request carried a <set/>
  std::optional<std::size_t> max;     // items per page
  std::optional<std::string> after;   // the page after this item's UID
  std::optional<std::string> before;  // the page before this UID; "" = the last page
  std::optional<std::size_t> index;   // the page starting at this position
};

// Reads the <set/> child of `query` (none: present = false); nullopt when it is
// malformed (a max or index that is not a number) -> bad-request.
std::optional<RsmRequest> parse_rsm(const pugi::xml_node& query);

// Items [begin, end) of a list; found = false when `after`/`before` names a UID
// the list does not hold (XEP-0059 §2.4: item-not-found).
struct RsmPage {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool found = true;
};

// The page `r` asks for of a list of `count` items, never more than `limit`
// items, whatever max says (the responder's own limit, §2.1). `index_of(uid)`:
// the position of the item with that UID, nullopt if none — so a long list need
// not have every UID made to answer one page.
using RsmIndexOf = std::function<std::optional<std::size_t>(const std::string& uid)>;
RsmPage rsm_page(const RsmRequest& r, std::size_t count, const RsmIndexOf& index_of, std::size_t limit);

// Appends <set xmlns='http://jabber.org/protocol/rsm'> with <first index/>,
// <last/> (when the page holds items: their UIDs) and <count/> (§2.3).
void append_rsm_result(pugi::xml_node parent, const RsmPage& page, std::size_t count, const std::string& first_uid,
                       const std::string& last_uid);

}  // namespace sb::xmpp
