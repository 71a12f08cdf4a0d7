// Splitting a long text into SMS bodies of at most `max_chars` characters (SPEC §8:
// "bodies over the provider's maximum split"). Pure.
//
// Characters are Unicode code points (Twilio's 1600-character limit); a cut never
// falls inside a UTF-8 sequence. A part ends at the last whitespace of its window
// when there is one in the window's second half (the whitespace itself is dropped:
// the parts read as the words they carry), else it is cut hard at max_chars.
// Invalid UTF-8 bytes count as one character each (the core repairs them later).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::transport::sms {

std::size_t count_chars(std::string_view text);
std::vector<std::string> split_body(std::string_view text, std::size_t max_chars);

}  // namespace sb::transport::sms
