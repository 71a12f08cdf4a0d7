// One answer to LIST (RFC 2812 §3.2.6: 321 start, one 322 "<channel> <visible>
// :<topic>" per channel, 323 end) collected as the disco#items of the IRC server
// (SPEC §4; Biboumi lists channels the same way). Pure; thread-compatible.
//
// Bounded (a large network lists tens of thousands of channels): the kMaxChannels
// with the most users are kept, topics are cut to kMaxTopicBytes. Items are sorted
// by users, most first, then by name, so a requester paging with XEP-0059 sees a
// stable order.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>
#include "transports/api/events.hpp"

namespace sb::transport::irc {

// The answer to a ListItems that cannot be given: `failure` with `text`.
inline ItemList failed_list(std::uint64_t ref, Failure failure, std::string text) {
  ItemList l;
  l.ref = ref;
  l.ok = false;
  l.failure = failure;
  l.text = std::move(text);
  return l;
}

class ChannelListing {
 public:
  static constexpr std::size_t kMaxChannels = 10000;
  static constexpr std::size_t kMaxTopicBytes = 120;

  // One 322 line's parameters after our nick: channel, visible users, topic (raw IRC bytes).
  void add(std::string_view channel, std::string_view users, std::string_view topic);
  std::size_t size() const { return entries_.size(); }
  // The channels as items "#chan%server", named "#chan (N users): topic"; empties the listing.
  std::vector<Item> take_items(const std::string& server);

 private:
  struct Entry {
    std::string channel;
    std::string topic;  // decoded, formatting stripped, cut
    unsigned long users = 0;
  };
  std::vector<Entry> entries_;  // a min-heap on users once full
};

}  // namespace sb::transport::irc
