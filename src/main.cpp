#include "app/main.hpp"

#ifdef SB_JEMALLOC
// Read by jemalloc at its first allocation (README "Dependencies"). A background
// thread purges freed pages about a second after they were freed, so memory goes
// back to the system when users leave even if the daemon is then idle (jemalloc
// otherwise purges only while allocating).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

int main(int argc, char** argv) { return sb::app::main(argc, argv); }
