// common/release_memory: freed heap pages really go back to the OS (VmRSS falls),
// with glibc's malloc here and with jemalloc in unit_release_memory_jemalloc (the
// allocator the daemon runs on, where malloc_trim does nothing).
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/release_memory.hpp"

namespace {
long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define SB_UNDER_ASAN 1  // GCC
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_UNDER_ASAN 1  // clang
#endif
#endif

// Under AddressSanitizer malloc is ASan's, which keeps freed memory in quarantine
// on purpose: nothing to measure there (the daemon never runs so).
#ifndef SB_UNDER_ASAN
TEST_CASE("memory freed in small blocks (a torn-down connection's state) is returned to the OS") {
  // Small blocks, as sessions and buffers are: below glibc's mmap threshold and
  // in jemalloc's small size classes, so nothing is unmapped by free() itself.
  constexpr std::size_t kBlocks = 200'000, kSize = 320;  // ~64 MB
  std::vector<std::unique_ptr<char[]>> blocks;
  blocks.reserve(kBlocks);
  for (std::size_t i = 0; i < kBlocks; ++i) {
    blocks.emplace_back(new char[kSize]);
    std::memset(blocks.back().get(), 1, kSize);  // touched: resident
  }
  const long full = rss_kib();
  blocks.clear();
  blocks.shrink_to_fit();
  sb::memory::release_free_memory();
  const long after = rss_kib();
  MESSAGE(std::string(sb::memory::allocator_name()), ": ", full, " KiB with the blocks, ", after, " KiB after release");
  // At least three quarters of the ~62 MiB come back at once.
  CHECK(full - after > 48 * 1024);
}
#endif
