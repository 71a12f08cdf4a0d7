// LIST replies -> disco#items: see irc_channel_list.hpp.
#include "transports/irc/irc_channel_list.hpp"

#include <algorithm>
#include <charconv>

#include "common/utf8.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {
namespace {
// The heap's order: the entry with the fewest users on top (the one to drop).
constexpr auto fewer_on_top = [](const auto& a, const auto& b) { return a.users > b.users; };

// A name we can address as it is: a room JID made from anything else would join
// another channel (or none).
bool addressable(std::string_view channel) {
  if (channel.empty() || !utf8::xml_text(channel)) return false;
  return std::none_of(channel.begin(), channel.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}
}  // namespace

void ChannelListing::add(std::string_view channel, std::string_view users, std::string_view topic) {
  if (!addressable(channel)) return;
  unsigned long n = 0;
  std::from_chars(users.data(), users.data() + users.size(), n);  // not a number: 0
  const bool full = entries_.size() >= kMaxChannels;
  if (full && n <= entries_.front().users) return;  // smaller than every kept one
  std::string text = irc_to_xmpp_text(topic);
  if (text.size() > kMaxTopicBytes) {
    text = std::string(utf8::prefix(text, kMaxTopicBytes - 3));
    text += "...";
  }
  if (full) {
    std::pop_heap(entries_.begin(), entries_.end(), fewer_on_top);
    entries_.back() = Entry{std::string(channel), std::move(text), n};
    std::push_heap(entries_.begin(), entries_.end(), fewer_on_top);
    return;
  }
  entries_.push_back(Entry{std::string(channel), std::move(text), n});
  if (entries_.size() == kMaxChannels) std::make_heap(entries_.begin(), entries_.end(), fewer_on_top);
}

std::vector<Item> ChannelListing::take_items(const std::string& server) {
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.users != b.users ? a.users > b.users : a.channel < b.channel;
  });
  std::vector<Item> items;
  items.reserve(entries_.size());
  for (auto& e : entries_) {
    Item it;
    it.peer = e.channel + "%" + server;
    it.name = e.channel + " (" + std::to_string(e.users) + (e.users == 1 ? " user)" : " users)");
    if (!e.topic.empty()) it.name.append(": ").append(e.topic);
    items.push_back(std::move(it));
  }
  entries_.clear();
  entries_.shrink_to_fit();
  return items;
}

}  // namespace sb::transport::irc
