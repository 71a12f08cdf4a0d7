// IRC text <-> XMPP text (SPEC §7): pure.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::transport::irc {

// mIRC formatting stripped: bold 0x02, colour 0x03[fg[,bg]] (1–2 digits each),
// hex colour 0x04[RRGGBB[,RRGGBB]], reset 0x0F, monospace 0x11, reverse 0x16,
// italics 0x1D, strikethrough 0x1E, underline 0x1F.
std::string strip_formatting(std::string_view s);

// IRC bytes -> valid UTF-8: kept as is when valid UTF-8, else decoded as
// Windows-1252 (latin-1 with the 0x80–0x9F printable extensions), byte by byte;
// its five undefined bytes (0x81 0x8D 0x8F 0x90 0x9D) become U+FFFD. One
// exception: UTF-8 text (it has a multi-byte character) whose only flaw is a
// character cut short at the very end — servers truncate long lines — is kept,
// with U+FFFD for the cut character. Never returns invalid UTF-8.
std::string decode_irc_text(std::string_view bytes);

// Both of the above, in the order that is right: decode, then strip.
std::string irc_to_xmpp_text(std::string_view bytes);

// CTCP ACTION (\x01ACTION text\x01): the action text, or nullopt if not one.
std::optional<std::string> ctcp_action(std::string_view text);
std::string make_ctcp_action(std::string_view text);
// Any other CTCP request (\x01VERSION\x01 ...): the command word, else nullopt.
std::optional<std::string> ctcp_command(std::string_view text);

// XMPP body -> the texts of IRC lines: split at every newline (CR LF, LF, CR; empty
// lines dropped), then each piece into chunks of at most `max_bytes` bytes, cut on
// UTF-8 character boundaries (preferring the last space within the final 64 bytes
// of a chunk), NUL removed. `max_bytes` is what remains of the 512-byte line once
// ":nick!user@host PRIVMSG target :" and CR LF are counted (see text_budget).
// Where it breaks at a space, that space is not sent. A budget of 0 counts as 1; a
// character wider than the budget (only under 4 bytes) is sent as '?'.
std::vector<std::string> split_for_irc(std::string_view body, std::size_t max_bytes);

// The bytes left for text in "PRIVMSG <target> :<text>\r\n" as the server relays
// it to others, i.e. with our ":nick!user@host " prefix in front (RFC 2812 §2.3:
// 512 bytes including CR LF). `host_len` defaults to the 63 bytes a hostname may take.
std::size_t text_budget(std::string_view nick, std::string_view user, std::string_view command,
                        std::string_view target, std::size_t host_len = 63);

}  // namespace sb::transport::irc
