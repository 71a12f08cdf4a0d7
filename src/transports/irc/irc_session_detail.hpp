// Small helpers shared by the files of IrcSession (irc_session*.cpp); internal.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include "transports/irc/irc_session.hpp"

namespace sb::transport::irc::detail {

// Channel prefix bits of an occupant (IrcSession::Occupant::modes).
constexpr std::uint8_t kOwner = 0x10, kAdmin = 0x08, kOp = 0x04, kHalfop = 0x02, kVoice = 0x01;

// fold(), nick_less(), nick_eq(): irc_occupants.hpp.

inline bool is_numeric(std::string_view c) {
  return c.size() == 3 && std::all_of(c.begin(), c.end(), [](char x) { return x >= '0' && x <= '9'; });
}

// A subject or a reason is one IRC parameter: line breaks become spaces so the
// words stay apart (serialize() would only drop them).
inline std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\r' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (c != '\0') {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

inline IrcMessage irc(std::string command, std::vector<std::string> params) {
  IrcMessage m;
  m.command = std::move(command);
  m.params = std::move(params);
  return m;
}

inline OutLine line(std::string command, std::vector<std::string> params) {
  return OutLine{irc(std::move(command), std::move(params)), {}, false};
}

}  // namespace sb::transport::irc::detail
