// Re-arming TCP quick ACKs on a socket we read from.
//
// Linux drops back into delayed-ACK mode on its own, so a peer with Nagle on
// (Prosody by default, ngIRCd always: it sets no TCP_NODELAY) holds its next small
// write until our ACK comes, up to 40 ms later. Re-armed after every read, the ACK
// goes out at once: 44 ms round trips through Prosody became 0.3 ms (bench_e2e.py),
// and IRC -> XMPP deliveries no longer stall in 5-40 ms pauses (bench_irc.py).
#pragma once

namespace sb::net {

// Best effort on a connected TCP socket's descriptor; nothing where unsupported.
void rearm_quick_ack(int fd) noexcept;

}  // namespace sb::net
