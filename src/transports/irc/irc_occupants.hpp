// The occupants of one IRC channel as one session sees them (SPEC §7), packed:
// every user of a shared 200-person channel holds a copy of its list, so it must
// cost bytes per occupant, not a heap node each (the IRC benchmark's budget is
// under 24 kB per user, connection included).
//
// One string holds every entry as [modes][length][nick bytes], sorted by the
// RFC 1459 case mapping; look-ups scan it (JOIN/PART/QUIT/NICK/MODE only, never
// per message). Nicks longer than 255 bytes are not kept.
// Threading: none.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sb::transport::irc {

// RFC 1459 case mapping, byte by byte (irc_lower without allocating).
inline unsigned char fold(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<unsigned char>(c - 'A' + 'a');
  switch (c) {
    case '[': return '{';
    case ']': return '}';
    case '\\': return '|';
    case '~': return '^';
    default: return static_cast<unsigned char>(c);
  }
}
inline bool nick_less(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return fold(x) < fold(y); });
}
inline bool nick_eq(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return fold(x) == fold(y); });
}

class OccupantList {
 public:
  // Adds `nick` (or ORs `modes` into an existing entry). False when the list
  // already has `max_count` entries or the nick is empty or too long.
  bool add(std::string_view nick, std::uint8_t modes, std::size_t max_count);
  // The entry of `nick` (compared case-insensitively): its nick as stored, its modes.
  std::optional<std::pair<std::string_view, std::uint8_t>> get(std::string_view nick) const;
  bool set_modes(std::string_view nick, std::uint8_t modes);
  // Removes it; its nick as stored and its modes.
  std::optional<std::pair<std::string, std::uint8_t>> remove(std::string_view nick);
  // f(std::string_view nick, std::uint8_t modes) for every occupant, in order.
  template <class F>
  void each(F&& f) const {
    for (std::size_t pos = 0; pos < blob_.size(); pos += 2 + len_at(pos))
      f(std::string_view(blob_).substr(pos + 2, len_at(pos)), static_cast<std::uint8_t>(blob_[pos]));
  }
  std::size_t size() const { return count_; }
  void clear() {
    std::string().swap(blob_);
    count_ = 0;
  }
  void compact() { blob_.shrink_to_fit(); }

 private:
  std::size_t len_at(std::size_t pos) const { return static_cast<unsigned char>(blob_[pos + 1]); }
  // The entry of `nick`, or where it would go; `found` says which.
  std::size_t find(std::string_view nick, bool& found) const;

  std::string blob_;
  std::uint32_t count_ = 0;
};

}  // namespace sb::transport::irc
