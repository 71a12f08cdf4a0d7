// XEP-0059 paging: see rsm.hpp.
#include "component/rsm.hpp"

#include <algorithm>
#include <charconv>

#include "component/namespaces.hpp"
#include "component/stanza.hpp"

namespace sb::xmpp {
namespace {
std::optional<std::size_t> number(std::string_view s) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<RsmRequest> parse_rsm(const pugi::xml_node& query) {
  RsmRequest r;
  auto set = child(query, "set", ns::rsm);
  if (!set) return r;
  r.present = true;
  if (auto m = child(set, "max", ns::rsm)) {
    r.max = number(m.text().get());
    if (!r.max) return std::nullopt;
  }
  if (auto a = child(set, "after", ns::rsm)) r.after = a.text().get();
  if (auto b = child(set, "before", ns::rsm)) r.before = b.text().get();
  if (auto i = child(set, "index", ns::rsm)) {
    r.index = number(i.text().get());
    if (!r.index) return std::nullopt;
  }
  return r;
}

RsmPage rsm_page(const RsmRequest& r, std::size_t count, const RsmIndexOf& index_of, std::size_t limit) {
  const std::size_t n = count;
  const std::size_t size = std::min(r.max.value_or(limit), limit);
  RsmPage page;
  if (r.before) {
    // §2.5: the page that ends just before the UID; an empty <before/> is the last page.
    std::size_t end = n;
    if (!r.before->empty()) {
      auto pos = index_of(*r.before);
      if (!pos || *pos >= n) return RsmPage{0, 0, false};
      end = *pos;
    }
    page.end = end;
    page.begin = end > size ? end - size : 0;
    return page;
  }
  if (r.after && !r.after->empty()) {
    auto pos = index_of(*r.after);
    if (!pos || *pos >= n) return RsmPage{0, 0, false};
    page.begin = *pos + 1;
  } else if (r.index) {
    page.begin = std::min(*r.index, n);  // §2.6
  }
  page.end = std::min(n, page.begin + size);
  return page;
}

void append_rsm_result(pugi::xml_node parent, const RsmPage& page, std::size_t count, const std::string& first_uid,
                       const std::string& last_uid) {
  auto set = append(parent, "set", ns::rsm);
  if (page.begin < page.end) {
    auto first = set.append_child("first");
    first.append_attribute("index").set_value(static_cast<unsigned long long>(page.begin));
    first.text().set(first_uid.c_str());
    set.append_child("last").text().set(last_uid.c_str());
  }
  set.append_child("count").text().set(static_cast<unsigned long long>(count));
}

}  // namespace sb::xmpp
