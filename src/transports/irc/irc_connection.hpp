// One IRC client connection (the edge, SPEC §7): Boost.Asio TCP or TLS (OpenSSL,
// certificate and host name verified, SNI) to one server for one XMPP user.
//
// It does the connection-level protocol and nothing of MUC:
//  - CAP LS 302 / REQ of what is offered among multi-prefix, sasl (only when a SASL
//    password is set), server-time, echo-message, away-notify, message-tags; SASL
//    PLAIN (AUTHENTICATE, 903 ok / 904/905 fail -> on_closed with the reason);
//    CAP END; PASS (server password), NICK, USER;
//  - registration: 001 -> on_message(001), then on_registered(nick the server gave
//    us); 433/432/436/437 during registration -> QUIT and on_closed(reason,
//    nick_rejected = true): the session answers the joining user with `conflict`
//    (SPEC §7), no silent '_' nick. No 001 within register_timeout -> closed;
//  - a server that closes the connection: the reason carries its ERROR text (or the
//    463/464/465 refusal);
//  - answers PING with PONG itself (also passes the message on); sends its own PING
//    after 60 s of silence and closes after 60 s more without an answer;
//  - framing: lines up to 8191+512 bytes (tags), longer ones discarded with a warning;
//  - outgoing lines go through a token bucket (FloodConfig; off = no delay), in order;
//    every line passes through serialize() / strip_line_breaks: never two commands
//    from one send(). Lines sent before 001 wait for it (the server would refuse
//    them); the connection's own lines (CAP, AUTHENTICATE, PASS/NICK/USER, PONG,
//    PING, QUIT) go ahead of the queue and do not wait for the bucket;
//  - close(reason) sends what is queued and QUIT :reason, waits up to 1 s for the
//    server to close, then closes; on_closed is called exactly once per connection
//    (also for errors), never from inside close() or send() (it is posted).
// It does not reconnect: the owner (the session) decides, with backoff.
//
// Threading: everything on the io thread given at construction; construct, call
// and destroy it there. Ownership: the owner holds the shared_ptr; pending
// asynchronous operations keep only the internals alive. Once the owner drops the
// IrcConnection, no handler is called any more (and if it was not closed, it
// quits), so handlers may capture the owner by raw pointer or weak_ptr.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <boost/asio/any_io_executor.hpp>
#include "transports/irc/irc_config.hpp"
#include "transports/irc/irc_message.hpp"

namespace sb::transport::irc {

struct Identity {
  std::string nick;           // wanted nick
  std::string username;       // USER <username> 0 * :<realname>
  std::string realname;
  std::string sasl_user;      // SASL PLAIN authcid (default: nick)
  std::string sasl_password;  // empty: no SASL
};

// Intervals and bounds; the defaults are the SPEC's, tests shorten them.
struct ConnectionTimings {
  std::chrono::milliseconds connect_timeout{30'000};   // resolve + TCP + TLS handshake
  std::chrono::milliseconds register_timeout{60'000};  // connected -> 001 (CAP, SASL included)
  std::chrono::milliseconds ping_after{60'000};        // silence before we PING
  std::chrono::milliseconds ping_timeout{60'000};      // ... and then without an answer: closed
  std::chrono::milliseconds quit_wait{1'000};          // close(): wait this long for the server to close
  std::size_t max_queued = 2000;                       // lines waiting (bucket, 001); more are refused
};

struct ConnectionHandlers {
  std::function<void(const std::string& nick)> on_registered;    // 001 seen (after its on_message); CAP done
  std::function<void(const IrcMessage&)> on_message;             // every parsed line after connect (incl. 001)
  // Once; why, for the user. nick_rejected: the server refused the nick during
  // registration (433 in use, 432 erroneous, 436 collision).
  std::function<void(const std::string& reason, bool nick_rejected)> on_closed;
};

class IrcConnection : public std::enable_shared_from_this<IrcConnection> {
 public:
  IrcConnection(boost::asio::any_io_executor ex, ServerConfig server, Identity id, ConnectionHandlers h,
                ConnectionTimings timings = {});
  ~IrcConnection();  // quits if still open; no handler is called after this

  void start();                          // resolve, connect, TLS, CAP/SASL/NICK/USER
  // Queued, flood-controlled. False (logged) when dropped: closing/closed, queue
  // full (max_queued), or nothing left after removing line breaks.
  bool send(const IrcMessage& m);
  bool send_raw(std::string_view line);  // a user's raw line: strip_line_breaks, then as is
  void close(const std::string& reason); // QUIT and close; idempotent

  bool registered() const;
  const std::string& nick() const;            // current nick (follows our own NICK changes)
  const std::set<std::string>& caps() const;  // acknowledged capabilities
  std::size_t queued() const;                 // lines waiting for the flood bucket

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sb::transport::irc
