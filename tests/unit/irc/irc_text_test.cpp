#include <doctest/doctest.h>

#include "common/utf8.hpp"
#include "transports/irc/irc_message.hpp"
#include "transports/irc/irc_text.hpp"

using namespace sb::transport::irc;

namespace {

using Chunks = std::vector<std::string>;

// Checks what split_for_irc promises for one line of text without NUL or line
// breaks: every chunk fits, is valid UTF-8, and the chunks with the break spaces
// put back give the text again.
void check_split(const std::string& text, std::size_t max) {
  INFO("max " << max << " text " << text);
  auto chunks = split_for_irc(text, max);
  std::size_t p = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    CHECK_FALSE(c.empty());
    CHECK(c.size() <= max);
    CHECK(sb::utf8::valid(c));
    if (text.compare(p, c.size(), c) != 0 && p < text.size() && text[p] == ' ') ++p;  // a break space
    REQUIRE(text.compare(p, c.size(), c) == 0);
    p += c.size();
  }
  if (p < text.size() && text[p] == ' ') ++p;  // a trailing break space
  CHECK(p == text.size());
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("strip_formatting: simple toggles") {
  CHECK(strip_formatting("\x02" "bold\x02 \x1Ditalic\x1D \x1Funder\x1F \x1Estrike\x1E \x11mono\x11 \x16rev\x16\x0F") ==
        "bold italic under strike mono rev");
  CHECK(strip_formatting("plain text") == "plain text");
  CHECK(strip_formatting("").empty());
}

TEST_CASE("strip_formatting: colour codes") {
  CHECK(strip_formatting("\x03" "12,04text") == "text");
  CHECK(strip_formatting("\x03" "4text") == "text");
  CHECK(strip_formatting("\x03" "04text\x03 after") == "text after");
  CHECK(strip_formatting("\x03text") == "text");            // no digits: just the code removed
  CHECK(strip_formatting("\x03" "4,text") == ",text");      // comma without a digit stays
  CHECK(strip_formatting("\x03" ",5text") == ",5text");     // no foreground, no background
  CHECK(strip_formatting("\x03" "123") == "3");             // at most two digits
  CHECK(strip_formatting("\x03" "1,234") == "4");
  CHECK(strip_formatting("\x03" "1,") == ",");
  CHECK(strip_formatting("\x03") == "");
  CHECK(strip_formatting("score 3,4 \x03" "3,4green") == "score 3,4 green");
}

TEST_CASE("strip_formatting: hex colour codes") {
  CHECK(strip_formatting("\x04" "FF00aatext") == "text");
  CHECK(strip_formatting("\x04" "FF00AA,00ff00text") == "text");
  CHECK(strip_formatting("\x04" "FF00AA,12") == ",12");     // background must be six hex digits
  CHECK(strip_formatting("\x04" "FF00") == "FF00");         // short: only the code removed
  CHECK(strip_formatting("\x04text") == "text");
}

TEST_CASE("decode_irc_text: UTF-8 is kept as is") {
  std::string s = "h\xC3\xA9llo \xE2\x98\x83 \xF0\x9F\x98\x80 plain";
  CHECK(decode_irc_text(s) == s);
  CHECK(decode_irc_text("").empty());
}

TEST_CASE("decode_irc_text: otherwise Windows-1252") {
  CHECK(decode_irc_text("caf\xE9") == "caf\xC3\xA9");
  CHECK(decode_irc_text("\x80 \x93q\x94 \x85 \x99") ==
        "\xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D \xE2\x80\xA6 \xE2\x84\xA2");
  CHECK(decode_irc_text("\xA0\xFF") == "\xC2\xA0\xC3\xBF");
  // the five bytes Windows-1252 leaves undefined become U+FFFD
  for (char b : {'\x81', '\x8D', '\x8F', '\x90', '\x9D'}) CHECK(decode_irc_text(std::string(1, b)) == "\xEF\xBF\xBD");
  // one bad byte makes the whole line Windows-1252 (it is one encoding per client)
  CHECK(decode_irc_text("\xC3\xA9 \xE9 x") == "\xC3\x83\xC2\xA9 \xC3\xA9 x");
}

TEST_CASE("decode_irc_text: UTF-8 cut inside its last character by the server") {
  CHECK(decode_irc_text("h\xC3\xA9llo \xE2\x98") == "h\xC3\xA9llo \xEF\xBF\xBD");
  CHECK(decode_irc_text("\xF0\x9F\x98\x80\xF0\x9F") == "\xF0\x9F\x98\x80\xEF\xBF\xBD");
  // without an earlier UTF-8 character the last byte is latin-1
  CHECK(decode_irc_text("ol\xE9") == "ol\xC3\xA9");
}

TEST_CASE("decode_irc_text: every single byte and byte pair gives valid UTF-8") {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    CHECK(sb::utf8::valid(decode_irc_text(one)));
    for (int b = 0x80; b < 256; b += 7) {
      std::string two = one + static_cast<char>(b);
      CHECK(sb::utf8::valid(decode_irc_text(two)));
    }
  }
}

TEST_CASE("irc_to_xmpp_text: decoded and stripped") {
  CHECK(irc_to_xmpp_text("\x02" "caf\xE9\x02 \x03" "4,5ol\xE9") == "caf\xC3\xA9 ol\xC3\xA9");
  CHECK(irc_to_xmpp_text("\x1F\xE2\x98\x83\x1F") == "\xE2\x98\x83");
}

TEST_CASE("CTCP ACTION") {
  CHECK(ctcp_action("\x01" "ACTION waves\x01") == std::optional<std::string>("waves"));
  CHECK(ctcp_action("\x01" "ACTION waves") == std::optional<std::string>("waves"));  // closing \x01 omitted
  CHECK(ctcp_action("\x01" "ACTION\x01") == std::optional<std::string>(""));
  CHECK_FALSE(ctcp_action("\x01" "ACTIONS x\x01"));
  CHECK_FALSE(ctcp_action("ACTION waves"));
  CHECK_FALSE(ctcp_action("\x01VERSION\x01"));
  CHECK(make_ctcp_action("waves") == "\x01" "ACTION waves\x01");
  CHECK(make_ctcp_action("a\x01" "b") == "\x01" "ACTION ab\x01");
  CHECK(ctcp_action(make_ctcp_action("dances wildly")) == std::optional<std::string>("dances wildly"));
}

TEST_CASE("CTCP requests other than ACTION") {
  CHECK(ctcp_command("\x01VERSION\x01") == std::optional<std::string>("VERSION"));
  CHECK(ctcp_command("\x01ping 12345\x01") == std::optional<std::string>("PING"));
  CHECK(ctcp_command("\x01TIME") == std::optional<std::string>("TIME"));
  CHECK_FALSE(ctcp_command("\x01" "ACTION waves\x01"));
  CHECK_FALSE(ctcp_command("\x01\x01"));
  CHECK_FALSE(ctcp_command("\x01 x"));
  CHECK_FALSE(ctcp_command("VERSION"));
  CHECK_FALSE(ctcp_command(""));
}

TEST_CASE("split_for_irc: lines") {
  CHECK(split_for_irc("hello", 100) == Chunks{"hello"});
  CHECK(split_for_irc("a\r\nb\nc\rd", 100) == Chunks{"a", "b", "c", "d"});
  CHECK(split_for_irc("a\n\n\r\n\r\rb\n", 100) == Chunks{"a", "b"});
  CHECK(split_for_irc("\r\n", 100).empty());
  CHECK(split_for_irc("", 100).empty());
  CHECK(split_for_irc("\n\r\n\n", 100).empty());
  CHECK(split_for_irc(std::string("a\0b\n\0", 5), 100) == Chunks{"ab"});
  CHECK(split_for_irc("  \n x ", 100) == Chunks{"  ", " x "});  // only empty lines are dropped
}

TEST_CASE("split_for_irc: breaks at a space when there is one near the end") {
  CHECK(split_for_irc("hello world foo", 10) == Chunks{"hello", "world foo"});
  CHECK(split_for_irc("hello world foo", 11) == Chunks{"hello world", "foo"});  // the space right after counts
  CHECK(split_for_irc("hello world foo", 12) == Chunks{"hello world", "foo"});
  CHECK(split_for_irc("abcdefghij", 4) == Chunks{"abcd", "efgh", "ij"});
  CHECK(split_for_irc("ab  cd", 3) == Chunks{"ab ", "cd"});
  // a space further back than 64 bytes is not worth a short chunk
  std::string text = "word " + std::string(200, 'x');
  auto chunks = split_for_irc(text, 100);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].size() == 100);
  for (std::size_t max : {10u, 37u, 64u, 100u}) check_split("the quick brown fox jumps over the lazy dog " + repeat("ab ", 50), max);
}

TEST_CASE("split_for_irc: never cuts a UTF-8 character, at every offset") {
  for (std::string_view ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (std::size_t lead = 0; lead < 8; ++lead) {
      std::string text = std::string(lead, 'a') + repeat(ch, 20);
      for (std::size_t max = 4; max <= 13; ++max) check_split(text, max);
      std::string spaced = std::string(lead, 'a') + repeat(std::string(ch).append(" "), 10);
      for (std::size_t max = 4; max <= 13; ++max) check_split(spaced, max);
    }
  }
}

TEST_CASE("split_for_irc: budgets under 4 bytes still make progress") {
  auto emoji = split_for_irc("\xF0\x9F\x98\x80" "ab", 2);
  CHECK(emoji == Chunks{"?a", "b"});  // a character wider than the budget becomes '?'
  CHECK(split_for_irc("\xC3\xA9\xC3\xA9", 2) == Chunks{"\xC3\xA9", "\xC3\xA9"});
  CHECK(split_for_irc("\xC3\xA9x", 1) == Chunks{"?", "x"});
  CHECK(split_for_irc("abc", 0) == Chunks{"a", "b", "c"});
  // found by fuzz_irc: removing NUL joins bytes into a character wider than the budget
  CHECK(split_for_irc(std::string("\xE7\0\x98\x98", 4), 1) == Chunks{"?"});
  CHECK(split_for_irc(std::string("\xE7\0\x98\x98", 4), 4) == Chunks{"\xE7\x98\x98"});
  for (std::size_t max = 0; max < 4; ++max) {
    for (const auto& c : split_for_irc(repeat("\xF0\x9F\x98\x80 \xE2\x82\xAC\xC3\xA9", 5), max)) {
      CHECK(c.size() <= std::max<std::size_t>(max, 1));
      CHECK(sb::utf8::valid(c));
    }
  }
}

TEST_CASE("text_budget") {
  // 510 - len(":bob!bob@" + 63 + " PRIVMSG #chan :")
  CHECK(text_budget("bob", "bob", "PRIVMSG", "#chan") == 510 - (1 + 3 + 1 + 3 + 1 + 63 + 1 + 7 + 1 + 5 + 2));
  CHECK(text_budget("bob", "bob", "PRIVMSG", "#chan", 10) == text_budget("bob", "bob", "PRIVMSG", "#chan") + 53);
  CHECK(text_budget("bob", "bob", "PRIVMSG", std::string(600, 'c')) == 32);
  CHECK(text_budget("bob", "bob", "PRIVMSG", std::string(400, 'c')) == 32);
}

TEST_CASE("split_for_irc with text_budget: every relayed line fits in 512 bytes") {
  const std::string nick = "somebody", user = "~someone", target = "#a-rather-long-channel-name";
  const std::string host(63, 'h');
  auto budget = text_budget(nick, user, "PRIVMSG", target);
  std::string body = repeat("Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80 aus K\xC3\xB6ln, ", 60) + "\n" + repeat("x", 1500);
  auto chunks = split_for_irc(body, budget);
  CHECK(chunks.size() > 4);
  for (const auto& c : chunks) {
    auto relayed = std::string(":").append(nick).append("!").append(user).append("@").append(host).append(" ");
    relayed.append(make_line("PRIVMSG", {target, c})).append("\r\n");
    CHECK(relayed.size() <= 512);
  }
}
