// Packed channel occupants (SPEC §7 memory). See irc_occupants.hpp.
#include "transports/irc/irc_occupants.hpp"

namespace sb::transport::irc {

std::size_t OccupantList::find(std::string_view nick, bool& found) const {
  found = false;
  std::size_t pos = 0;
  while (pos < blob_.size()) {
    auto here = std::string_view(blob_).substr(pos + 2, len_at(pos));
    if (!nick_less(here, nick)) {
      found = nick_eq(here, nick);
      return pos;
    }
    pos += 2 + here.size();
  }
  return pos;
}

bool OccupantList::add(std::string_view nick, std::uint8_t modes, std::size_t max_count) {
  if (nick.empty() || nick.size() > 255) return false;
  bool found = false;
  const auto pos = find(nick, found);
  if (found) {
    blob_[pos] = static_cast<char>(static_cast<std::uint8_t>(blob_[pos]) | modes);
    return true;
  }
  if (count_ >= max_count) return false;
  std::string entry;
  entry.reserve(2 + nick.size());
  entry += static_cast<char>(modes);
  entry += static_cast<char>(nick.size());
  entry.append(nick);
  blob_.insert(pos, entry);
  ++count_;
  return true;
}

std::optional<std::pair<std::string_view, std::uint8_t>> OccupantList::get(std::string_view nick) const {
  bool found = false;
  const auto pos = find(nick, found);
  if (!found) return std::nullopt;
  return std::pair{std::string_view(blob_).substr(pos + 2, len_at(pos)), static_cast<std::uint8_t>(blob_[pos])};
}

bool OccupantList::set_modes(std::string_view nick, std::uint8_t modes) {
  bool found = false;
  const auto pos = find(nick, found);
  if (found) blob_[pos] = static_cast<char>(modes);
  return found;
}

std::optional<std::pair<std::string, std::uint8_t>> OccupantList::remove(std::string_view nick) {
  bool found = false;
  const auto pos = find(nick, found);
  if (!found) return std::nullopt;
  std::pair<std::string, std::uint8_t> out{blob_.substr(pos + 2, len_at(pos)), static_cast<std::uint8_t>(blob_[pos])};
  blob_.erase(pos, 2 + len_at(pos));
  --count_;
  return out;
}

}  // namespace sb::transport::irc
