// The interface every transport implements; the core knows nothing else of it.
//
// Threading: every method is called on the io thread (the core's). start(),
// send() and stop() never block: a transport that has its own threads (Paho,
// curl) hands results back through EventSink::deliver, which is thread-safe and
// posts to the io thread. Queries (items, validate_registration, …) must answer
// from state the transport already holds, without I/O.
// Ownership: the app owns transports and the sink; the sink outlives the transport.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "transports/api/address_codec.hpp"
#include "transports/api/events.hpp"

namespace sb::transport {

// Thread-safe: may be called from any thread; events are handled on the io thread
// in the order delivered.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void deliver(Event e) = 0;
};

// A form field the transport asks for (registration, settings). Named after
// XEP-0077's registered fields where one fits ("nick", "password", "phone"),
// so the legacy <nick/> elements work as well as the XEP-0004 form.
struct Field {
  std::string var;
  std::string label;
  std::string type = "text-single";  // XEP-0004 field type
  bool required = false;
  std::string value;                 // default / current
  std::vector<std::string> options;  // list-single
  std::string desc;
};

using FieldValues = std::vector<std::pair<std::string, std::string>>;

// A single-stage XEP-0050 command the transport offers (e.g. MQTT: the devices
// with their last state). Executed by the core; answered from state the
// transport holds, without I/O.
struct CommandInfo {
  std::string node;         // "devices"
  std::string name;         // "List devices with their last state"
  bool admin_only = false;  // else: any registered user
};
struct CommandReport {
  std::string title;
  std::vector<std::pair<std::string, std::string>> lines;  // label, value: one result field each
  std::string note;                                        // shown as an info note; may be empty
};

// XEP-0030 disco#info of a legacy address (an IRC room: conference/text with
// http://jabber.org/protocol/muc), answered by the core.
struct PeerInfo {
  std::string category;  // "conference", "client", "gateway"
  std::string type;      // "text", "pc", "irc"
  std::string name;
  std::vector<std::string> features;
};

// Where one of a user's resources stands in a room (XEP-0045 occupancy), for
// the iqs the core answers on the room's behalf (XEP-0410 self-ping).
enum class Occupancy {
  Unknown,    // not a room of this transport: the core answers as for any contact
  NotJoined,  // that resource is not an occupant (XEP-0045: iqs to occupants -> not-acceptable)
  Self,       // it is, and the nick is its own
  Other,      // it is, and the nick is another occupant's
};

class Transport {
 public:
  virtual ~Transport() = default;

  // XEP-0030 identity type under category "gateway": "mqtt", "irc", "sms".
  virtual std::string_view kind() const = 0;
  virtual std::string_view display_name() const = 0;      // e.g. "MQTT gateway"
  virtual std::vector<std::string> features() const { return {}; }  // extra disco features
  virtual const AddressCodec& addresses() const = 0;

  // XEP-0077: fields a user supplies when registering (may be empty: then an
  // empty submitted form registers an allowed user).
  virtual std::vector<Field> registration_fields() const { return {}; }
  virtual std::string registration_instructions() const { return "Register with this gateway."; }
  // Checks (and may normalise) submitted values for `user`; returns an error text
  // for the user if they are not acceptable.
  virtual std::optional<std::string> validate_registration(std::string_view user, FieldValues& values) const {
    (void)user; (void)values;
    return std::nullopt;
  }
  // Per-user settings, offered as an ad-hoc command (XEP-0050).
  virtual std::vector<Field> settings_fields() const { return {}; }
  // Must a user register before using this gateway? (SPEC §4: else registration-required)
  virtual bool requires_registration() const { return true; }

  // XEP-0100 jabber:iq:gateway: the prompt text and the conversion of what a user
  // typed (a phone number, a nick) to a legacy id; nullopt = not supported / invalid.
  virtual std::optional<std::string> gateway_prompt() const { return std::nullopt; }
  virtual std::optional<std::string> gateway_resolve(std::string_view input) const { (void)input; return std::nullopt; }

  // disco#info on a legacy JID (peer_resource empty); nullopt -> service-unavailable.
  virtual std::optional<PeerInfo> peer_info(std::string_view user, std::string_view peer) const {
    (void)user; (void)peer;
    return std::nullopt;
  }
  // Is `user_resource` of `user` in room `peer`, and is `nick` its own nick there?
  // Answered from state the transport holds (a user whose client believes it is
  // still joined after a restart learns otherwise from its XEP-0410 self-ping).
  virtual Occupancy occupancy(std::string_view user, std::string_view user_resource, std::string_view peer,
                              std::string_view nick) const {
    (void)user; (void)user_resource; (void)peer; (void)nick;
    return Occupancy::Unknown;
  }
  // disco#items on the domain for this user.
  virtual std::vector<Item> items(std::string_view user) const { (void)user; return {}; }
  // Are the disco#items of `peer` (empty: the domain) fetched from the backend?
  // Then the core sends ListItems and answers from the ItemList that follows,
  // instead of items() (the domain) or service-unavailable (a legacy address).
  virtual bool lists_items(std::string_view peer) const { (void)peer; return false; }
  // Transport commands (XEP-0050), run for an allowed user who is registered (or
  // an admin, for admin_only ones); nullopt = no such command.
  virtual std::vector<CommandInfo> commands() const { return {}; }
  virtual std::optional<CommandReport> run_command(std::string_view node, std::string_view user) const {
    (void)node; (void)user;
    return std::nullopt;
  }
  // Admin statistics: name/value lines for the statistics command.
  virtual std::vector<std::pair<std::string, std::string>> stats() const { return {}; }

  // Does this transport keep commands beyond this process (and so need
  // OutboundMessage::origin to answer them after a restart)? A transport that
  // answers only within the run says no and the core skips encoding it.
  virtual bool keeps_commands_durably() const { return true; }

  // Every stanza made from the event with this InboundMessage::delivery_token has
  // been proven read by the XMPP server (or none was made).
  virtual void delivered(std::uint64_t token) { (void)token; }

  virtual void start(EventSink& sink) = 0;  // non-blocking; reports LinkState soon
  virtual void send(Command cmd) = 0;       // non-blocking
  virtual void stop() = 0;                  // idempotent, graceful, non-blocking
};

}  // namespace sb::transport
