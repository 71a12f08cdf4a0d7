// xml_memory: pugixml's page blocks are reused per thread, bounded, and stanzas
// built on reused blocks are intact (xml_memory.hpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "component/stanza.hpp"
#include "component/xml_memory.hpp"

using namespace sb::xmpp;

TEST_CASE("page blocks are kept for reuse, at most eight per thread") {
  if (!xml_memory::installed()) return;  // ASan build: plain malloc, nothing to check
  // Each of these needs a page beyond the 192 bytes inside xml_document.
  auto big = [](int i) {
    auto s = Stanza::make("message");
    s.set_attr("id", "m" + std::to_string(i));
    append_text(s.root(), "body", std::string(300, static_cast<char>('a' + i % 26)));
    return s;
  };
  {
    std::vector<Stanza> many;
    for (int i = 0; i < 50; ++i) many.push_back(big(i));
    for (int i = 0; i < 50; ++i) CHECK(many[static_cast<std::size_t>(i)].attr("id") == "m" + std::to_string(i));
  }
  CHECK(xml_memory::cached_blocks() == 8);  // 50 freed, 8 kept, the rest returned to malloc
  // Reused blocks hold fresh, correct stanzas.
  for (int i = 0; i < 20; ++i) {
    auto s = big(i);
    CHECK(child_text(s.root(), "body", "jabber:component:accept") ==
          std::string(300, static_cast<char>('a' + i % 26)));
  }
  CHECK(xml_memory::cached_blocks() <= 8);
}
