// Shell-style glob match ('*' any run, '?' one character), ASCII case-insensitive,
// for the `allow` lists (SPEC §2): "*@example.org" matches "alice@example.org".
#pragma once
#include <string_view>

namespace sb {
bool glob_match(std::string_view pattern, std::string_view text);
}
