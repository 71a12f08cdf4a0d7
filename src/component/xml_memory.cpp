// See xml_memory.hpp for why pugixml gets its own allocation functions.
#include "component/xml_memory.hpp"

#include <cstdlib>
#include <cstring>
#include <pugixml.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define SB_XML_MEMORY_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_XML_MEMORY_PLAIN 1
#endif
#endif

namespace sb::xmpp::xml_memory {
namespace {

#ifndef SB_XML_MEMORY_PLAIN
// Each block starts with its size (16 bytes keep the payload aligned like malloc's),
// since pugixml's deallocate gets only the pointer.
constexpr std::size_t kHeader = 16;
// pugixml 1.13 asks for a page as its 32 KiB of data plus a small page header.
constexpr std::size_t kPageMin = std::size_t{32} * 1024;
constexpr std::size_t kPageBlock = std::size_t{33} * 1024;  // what every page-sized request gets
constexpr std::size_t kMaxCached = 8;          // per thread: 264 KiB at most

// Trivially destructible on purpose: a document freed by a static destructor after
// the thread's TLS teardown must still find a valid cache (the blocks then stay
// until exit, bounded by kMaxCached).
struct Cache {
  char* blocks[kMaxCached];
  std::size_t n;
};
thread_local Cache cache{};

void* allocate(std::size_t size) {
  const bool page = size >= kPageMin && size <= kPageBlock;
  if (page && cache.n > 0) return cache.blocks[--cache.n] + kHeader;
  const std::size_t block = page ? kPageBlock : size;
  auto* b = static_cast<char*>(std::malloc(block + kHeader));
  if (!b) return nullptr;
  std::memcpy(b, &block, sizeof block);
  return b + kHeader;
}

void deallocate(void* p) {
  if (!p) return;
  char* b = static_cast<char*>(p) - kHeader;
  std::size_t block;
  std::memcpy(&block, b, sizeof block);
  if (block == kPageBlock && cache.n < kMaxCached) {
    cache.blocks[cache.n++] = b;
    return;
  }
  std::free(b);
}

bool install() {
  pugi::set_memory_management_functions(allocate, deallocate);
  return true;
}
#else
bool install() { return false; }
#endif

// Before main(): no document exists yet, so none was allocated the other way.
const bool g_installed = install();

}  // namespace

#ifndef SB_XML_MEMORY_PLAIN
std::size_t cached_blocks() { return cache.n; }
#else
std::size_t cached_blocks() { return 0; }
#endif
bool installed() { return g_installed; }

}  // namespace sb::xmpp::xml_memory
