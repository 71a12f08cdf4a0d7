// IRCv3 capability negotiation and SASL PLAIN for one connection (SPEC §7), as a
// pure state machine: server messages in, lines to send out. The connection (the
// edge) sends start(), then PASS/NICK/USER, and feeds every parsed server line to
// on_message().
//
//   C: CAP LS 302                       S: CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL
//                                       S: CAP * LS :server-time echo-message
//   C: CAP REQ :multi-prefix sasl server-time echo-message     (only what is offered)
//                                       S: CAP * ACK :multi-prefix sasl server-time echo-message
//   C: AUTHENTICATE PLAIN               S: AUTHENTICATE +
//   C: AUTHENTICATE <base64 "\0user\0pass", 400-byte chunks; "+" after an exact 400>
//                                       S: 903 nick :SASL authentication successful
//   C: CAP END                          S: 001 ...
//
// Wanted capabilities: multi-prefix, sasl (only with a password, and only when the
// server offers PLAIN), server-time, echo-message, away-notify, message-tags.
// A server without CAP ignores CAP LS (or answers 421): its 001 ends negotiation
// with no capabilities. NAK of the request: CAP END without capabilities. SASL
// failure (902, 904, 905, 906): failure() is set and nothing more is sent — the
// connection quits with that reason (the password is wrong: retrying cannot help).
// After registration, CAP NEW / DEL (cap-notify, implied by 302) keep caps() current.
//
// Memory is bounded whatever the server sends: only wanted capabilities are kept.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>
#include "transports/irc/irc_message.hpp"

namespace sb::transport::irc {

// The capabilities we ask for, in the order they are requested.
const std::vector<std::string_view>& wanted_caps();

// SASL PLAIN's AUTHENTICATE lines for authzid "" (IRCv3 SASL 3.1): base64 of
// "\0user\0password" in chunks of 400 bytes; a final "+" when the last chunk is
// exactly 400 bytes long (or the payload empty).
std::vector<std::string> sasl_plain_lines(std::string_view user, std::string_view password);

class CapNegotiator {
 public:
  // An empty password: no SASL.
  CapNegotiator(std::string sasl_user, std::string sasl_password);

  // The first line to send, before PASS/NICK/USER.
  static std::string start() { return "CAP LS 302"; }

  // Any server message; returns the lines to send in answer (without CR LF).
  std::vector<std::string> on_message(const IrcMessage& m);

  // Negotiation is over (CAP END sent, or the server has no CAP): registration may complete.
  bool finished() const { return state_ == State::Done; }
  // SASL failed: why, for the user. Once set, nothing more is sent.
  const std::optional<std::string>& failure() const { return failure_; }
  // Acknowledged capabilities (names without values).
  const std::set<std::string>& caps() const { return caps_; }
  // True when a password was set but the server offers no SASL PLAIN: the
  // connection goes on unauthenticated (the caller logs this).
  bool sasl_unavailable() const { return sasl_unavailable_; }
  bool authenticated() const { return authenticated_; }

 private:
  enum class State { Listing, Requesting, Authenticating, Done, Failed };
  std::vector<std::string> on_cap(const IrcMessage& m);
  std::vector<std::string> on_sasl(const IrcMessage& m);
  std::vector<std::string> after_ack();
  std::vector<std::string> end();
  void fail(std::string why);

  State state_ = State::Listing;
  std::string user_, password_;
  std::set<std::string> offered_;    // wanted ∩ offered, collected over LS lines
  std::set<std::string> requested_;  // what our REQ asked for
  std::set<std::string> caps_;
  bool sasl_plain_offered_ = false;
  bool sasl_sent_ = false;           // AUTHENTICATE PLAIN sent, waiting for "+"
  bool sasl_unavailable_ = false;
  bool authenticated_ = false;
  std::optional<std::string> failure_;
};

}  // namespace sb::transport::irc
