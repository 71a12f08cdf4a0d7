// Memory for pugixml documents (every Stanza is one).
//
// pugixml keeps a document's first 192 bytes inside the xml_document and takes
// every further node page from the heap as one 32 KiB block: so a stanza of any
// ordinary size costs a 32 KiB malloc and free. glibc serves blocks that size from
// the shared heap rather than its per-thread cache; on the IRC bench profile the
// heap paths (_int_malloc, unlink_chunk, consolidation) were ~18 % of the cycles,
// and the churn left the heap fragmented after bursts. Each thread therefore keeps
// a few freed page blocks for reuse; other sizes go straight to malloc/free.
//
// Installed before main() by a static initializer in this library (pugixml's
// functions must be set before its first allocation); plain malloc under ASan, so
// the sanitizer still sees every page.
#pragma once
#include <cstddef>

namespace sb::xmpp::xml_memory {

// Page blocks currently held for reuse by the calling thread (for tests).
std::size_t cached_blocks();
// Whether the caching allocator is installed (false under ASan).
bool installed();

}  // namespace sb::xmpp::xml_memory
