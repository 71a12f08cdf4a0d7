// See tcp_quickack.hpp.
#include "common/tcp_quickack.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sb::net {

void rearm_quick_ack(int fd) noexcept {
#ifdef TCP_QUICKACK
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
  (void)fd;
#endif
}

}  // namespace sb::net
