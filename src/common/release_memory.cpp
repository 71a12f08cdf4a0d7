// See release_memory.hpp.
#include "common/release_memory.hpp"

#include <malloc.h>

#include <cstddef>

// Debian's jemalloc exports its API unprefixed. Declared weak so that this
// library links into programs without jemalloc too: the address is then null.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

namespace sb::memory {

void release_free_memory() {
  if (mallctl != nullptr) {
    // MALLCTL_ARENAS_ALL is 4096 in jemalloc 5; the thread cache first, so its
    // objects are free in their arenas when those are purged.
    mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

const char* allocator_name() { return mallctl != nullptr ? "jemalloc" : "glibc"; }

}  // namespace sb::memory
