// One IRC client connection (the edge, SPEC §7): Boost.Asio TCP or TLS (OpenSSL,
// certificate and host name verified, SNI) to one server for one XMPP user.
//
// It does the connection-level protocol and nothing of MUC:
//  - CAP LS 302 / REQ of what is offered among multi-prefix, sasl (only when a SASL
//    password is set), server-time, echo-message, away-notify, message-tags; SASL
//    PLAIN (AUTHENTICATE, 903 ok / 904/905 fail -> on_closed with the reason);
//    CAP END; PASS (server password), NICK, USER;
//  - registration: 001 -> on_registered(nick the server gave us); 433/432/436
//    during registration -> QUIT and on_closed(reason, nick_rejected = true): the
//    session answers the joining user with `conflict` (SPEC §7), no silent '_' nick;
//  - answers PING with PONG itself (also passes the message on); sends its own PING
//    after 60 s of silence and closes after 60 s more without an answer;
//  - framing: lines up to 8191+512 bytes (tags), longer ones discarded with a warning;
//  - outgoing lines go through a token bucket (FloodConfig; off = no delay), in order;
//    every line passes through serialize() / strip_line_breaks: never two commands
//    from one send();
//  - close(reason) sends QUIT :reason, waits up to 1 s for the server to close, then
//    closes; on_closed is called exactly once per connection (also for errors).
// It does not reconnect: the owner (the session) decides, with backoff.
//
// Threading: everything on the io thread given at construction. Ownership: shared_ptr
// (async operations hold it); handlers must not be called after the owner calls
// close() and drops it — so the owner must also be safe if they are (use weak refs).
#pragma once
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

struct ConnectionHandlers {
  std::function<void(const std::string& nick)> on_registered;    // 001 seen; CAP done
  std::function<void(const IrcMessage&)> on_message;             // every parsed line after connect (incl. 001)
  // Once; why, for the user. nick_rejected: the server refused the nick during
  // registration (433 in use, 432 erroneous, 436 collision).
  std::function<void(const std::string& reason, bool nick_rejected)> on_closed;
};

class IrcConnection : public std::enable_shared_from_this<IrcConnection> {
 public:
  IrcConnection(boost::asio::any_io_executor ex, ServerConfig server, Identity id, ConnectionHandlers h);
  ~IrcConnection();

  void start();                          // resolve, connect, TLS, CAP/SASL/NICK/USER
  void send(const IrcMessage& m);        // queued; flood-controlled; dropped once closing
  void send_raw(std::string_view line);  // a user's raw line: strip_line_breaks, then as is
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
