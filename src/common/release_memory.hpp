// Gives freed heap memory back to the OS now, whichever allocator the process
// runs on: the daemon links jemalloc (README "Dependencies"), whose freed pages
// go back only after its decay time and never through glibc's malloc_trim; tests,
// sanitizer and fuzz builds run on glibc's malloc. Called after many connections
// were torn down (IRC: users who left), not on any hot path.
#pragma once

namespace sb::memory {

// jemalloc: every arena's unused dirty pages purged and this thread's cache
// flushed; glibc: malloc_trim(0). Thread-safe.
void release_free_memory();

// "jemalloc" or "glibc": which one release_free_memory() talks to (logs, tests).
const char* allocator_name();

}  // namespace sb::memory
