// Private to the core (src/mapping): the state shared by the files that make up
// GatewayCore, one file per concern (router, disco, register, commands, gateway,
// legacy router, event mapper). Not part of any interface.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include "common/log.hpp"
#include "component/data_form.hpp"
#include "component/jid.hpp"
#include "component/rsm.hpp"
#include "component/stanza.hpp"
#include "component/stanza_error.hpp"
#include "mapping/gateway_core.hpp"

namespace sb::mapping::detail {

// A map that forgets its oldest entries past `cap` (DESIGN.md: bounded everything
// keyed by remote input) and, with `max_age_ms`, entries older than that (checked
// on put, against a monotonic `now_ms`: memory held for answers that never come is
// given back by later traffic).
template <class K, class V>
class BoundedMap {
 public:
  explicit BoundedMap(std::size_t cap, std::int64_t max_age_ms = 0) : cap_(cap), max_age_ms_(max_age_ms) {}
  void put(const K& k, V v, std::int64_t now_ms) {
    const std::uint64_t seq = ++puts_;
    map_.insert_or_assign(k, Entry{std::move(v), seq});
    order_.push_back(Slot{k, now_ms, seq});  // put again: its earlier slot is no longer current
    while (!order_.empty() && (map_.size() > cap_ || expired(order_.front().at_ms, now_ms))) evict_front();
    // Erased keys stay in order_ until reached; compact so it cannot grow forever.
    if (order_.size() > 2 * cap_ + 16) {
      std::deque<Slot> live;
      for (auto& slot : order_)
        if (current(slot)) live.push_back(slot);
      order_.swap(live);
    }
  }
  std::optional<V> take(const K& k) {
    auto it = map_.find(k);
    if (it == map_.end()) return std::nullopt;
    V v = std::move(it->second.value);
    map_.erase(it);
    return v;
  }
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    std::uint64_t seq;  // of the put that stored it
  };
  struct Slot {
    K key;
    std::int64_t at_ms;
    std::uint64_t seq;
  };
  bool expired(std::int64_t at_ms, std::int64_t now_ms) const {
    return max_age_ms_ > 0 && now_ms - at_ms >= max_age_ms_;
  }
  // A slot is current while its key is in the map from that very put (a key taken
  // and put again, even within the same millisecond, has a newer slot further back).
  bool current(const Slot& slot) const {
    auto it = map_.find(slot.key);
    return it != map_.end() && it->second.seq == slot.seq;
  }
  void evict_front() {
    if (current(order_.front())) map_.erase(order_.front().key);
    order_.pop_front();
  }
  std::size_t cap_;
  std::int64_t max_age_ms_;
  std::uint64_t puts_ = 0;
  std::unordered_map<K, Entry> map_;
  std::deque<Slot> order_;
};

// What is needed to answer a Command's SendOutcome: the original stanza's
// addressing, and whether the sender asked for a XEP-0184 receipt.
struct Pending {
  std::string name;  // "message" | "presence"
  std::string from;  // the user's full JID
  std::string to;    // the legacy contact's JID as addressed
  std::string id;
  std::string type;
  bool receipt = false;
};

// Pending as a self-contained string (length-prefixed fields), handed to
// transports as OutboundMessage::origin and read back from SendOutcome::origin.
std::string encode_origin(const Pending& p);
std::optional<Pending> decode_origin(std::string_view s);
// The request's addressing rebuilt, so make_error answers the original sender.
xmpp::Stanza request_of(const Pending& p);
// RFC 6120 stanza error for a transport's Failure (SPEC §4).
xmpp::Condition condition_of(transport::Failure f);

// A disco#items request the transport answers later (ListItems -> ItemList):
// whom to answer, and which page they asked for (XEP-0059).
struct ItemsQuery {
  Pending req;
  xmpp::RsmRequest rsm;
};

// An open XEP-0050 command session.
struct CommandSession {
  std::string user;  // bare JID
  std::string id;
  std::string node;
};

struct ContactPresence {
  std::string show;
  std::string status;
  bool muc = false;  // the user's own occupancy of a room (XEP-0045 status 110)
};

inline constexpr std::size_t kMaxPending = 10000;
// Messages whose outcome never comes (most: transports report only failures and
// wanted receipts) are forgotten after this, not kept until 10 000 newer ones push
// them out: a quiet gateway gives back what its busy hour left. Longer than IRC
// holds a message (queued ones fail with the connection attempt, unechoed ones when
// the connection is lost); MQTT and SMS answer older ones from
// SendOutcome::origin. Presences have no age limit (presence_pending_): an IRC join
// made while the connection is down waits for the reconnect, however long.
inline constexpr std::int64_t kPendingMaxAgeMs = 30 * 60 * 1000;
inline constexpr std::size_t kMaxSessionsPerUser = 32;
inline constexpr std::size_t kMaxSessions = 4096;
inline constexpr std::size_t kMaxItemQueries = 1000;

class CoreState {
 public:
  CoreState(CoreConfig cfg, transport::Transport& tr, Registry& reg, const Clock& clock, RoomArchive* archive);

  // ---- router (gateway_core.cpp) ----
  void route(const xmpp::Stanza& s, Effects& out);
  void service_iq(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  void service_message(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);

  // ---- shared helpers (gateway_core.cpp) ----
  bool is_admin(const std::string& bare) const;
  bool allowed(const std::string& bare) const;
  bool registered(const std::string& bare);
  // Allowed, and registered where the transport needs it.
  bool may_use(const std::string& bare);
  std::string next_id();
  std::uint64_t next_ref() { return next_ref_++; }
  // Monotonic milliseconds, for the BoundedMaps' ages (a wall-clock step must not
  // expire or keep everything at once).
  std::int64_t steady_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
  }
  // "escaped(to_localpart(peer))@domain[/resource]"
  std::string jid_for(const std::string& peer, const std::string& resource = {});
  // "bare[/resource]" for a JID jid_for already made: many occupants of one room
  // without a registry look-up each.
  static std::string with_resource(std::string bare, const std::string& resource);
  // The legacy id a JID localpart (escaped, as on the wire) addresses; nullopt = jid-malformed.
  std::optional<std::string> peer_for(const std::string& localpart);
  void send(Effects& out, xmpp::Stanza s);
  void to_transport(Effects& out, transport::Command c);
  void error(Effects& out, const xmpp::Stanza& request, xmpp::Condition c, std::string_view text = {});
  void forbidden(Effects& out, const xmpp::Stanza& request, const std::string& bare);

  // ---- XEP-0030 (service_disco.cpp) ----
  void disco_info(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  void disco_items(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  // disco#info of a legacy JID the transport described (a room).
  void peer_disco_info(const xmpp::Stanza& s, const transport::PeerInfo& info, Effects& out);
  // disco#items the transport fetches (peer_items.cpp): asks it, answers the requester.
  void ask_items(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, Effects& out);
  void answer_items(transport::ItemList l, Effects& out);
  // Appends the requested page of `items` to the disco#items <query/>; false when
  // the page names an item the list does not hold (-> item-not-found).
  bool append_items(pugi::xml_node q, const std::vector<transport::Item>& items, const xmpp::RsmRequest& rsm);
  // The command nodes this requester may run: (node, name).
  std::vector<std::pair<std::string, std::string>> commands_for(const std::string& bare);

  // ---- XEP-0077 (service_register.cpp) ----
  void register_get(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  void register_set(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  void unregister(const xmpp::Stanza& s, const std::string& bare, Effects& out);

  // ---- XEP-0050 (service_commands.cpp) ----
  void command(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);

  // ---- XEP-0100, XEP-0199, XEP-0092 (service_gateway.cpp) ----
  void gateway(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  void ping(const xmpp::Stanza& s, Effects& out);
  void version(const xmpp::Stanza& s, Effects& out);

  // ---- presence to the domain, the domain's presence (service_presence.cpp) ----
  void domain_presence_in(const xmpp::Stanza& s, const xmpp::Jid& from, Effects& out);
  xmpp::Stanza domain_presence(const std::string& to);
  void announce_domain(Effects& out);

  // ---- stanzas to legacy contacts (legacy_router.cpp) ----
  void legacy(const xmpp::Stanza& s, const xmpp::Jid& from, const xmpp::Jid& to, Effects& out);
  void read_history_request(const pugi::xml_node& history, transport::OutboundPresence& op);
  // ---- rooms (room_requests.cpp) ----
  void room_admin(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, const pugi::xml_node& query,
                  Effects& out);
  static bool is_invitation(const xmpp::Stanza& s);
  // false: not an invitation into one of this transport's rooms (the message goes on as any other).
  bool invitation(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, Effects& out);

  // ---- the rooms' archive (room_history.cpp; all no-ops without an archive) ----
  // The XEP-0359 stanza-id of a room's line (InboundMessage::archive_line), kept
  // in the user's archive the first time one of its copies comes; "" = not kept.
  std::string archived_id(const transport::InboundMessage& m);
  // A join: the core answers its <history/> from the archive, so the transport
  // is asked for none (op.history_* cleared to "none").
  void want_history(const std::string& full_jid, transport::OutboundPresence& op);
  // After the joined resource's self-presence (status 110): the history it asked for.
  void send_history(const std::string& full_jid, const std::string& peer, Effects& out);
  // XEP-0313: an iq with <query xmlns='urn:xmpp:mam:2'/> to a room.
  void mam(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, const pugi::xml_node& q,
           Effects& out);

  // ---- transport events (event_mapper.cpp) ----
  void on_event(transport::Event e, Effects& out);
  void on_connected(Effects& out);
  void on_shutdown(Effects& out);
  void on_start(Effects& out);

  // ---- state ----
  CoreConfig cfg_;
  transport::Transport& tr_;
  Registry& reg_;
  const Clock& clock_;
  RoomArchive* archive_;
  std::shared_ptr<spdlog::logger> log_;

  bool backend_up_ = false;
  std::string backend_text_ = "Connecting to the backend";
  std::uint64_t stanzas_in_ = 0;
  std::uint64_t stanzas_out_ = 0;

  std::uint64_t next_ref_ = 1;
  std::uint64_t next_id_ = 1;
  std::string id_prefix_;
  BoundedMap<std::uint64_t, Pending> pending_{kMaxPending, kPendingMaxAgeMs};  // messages
  BoundedMap<std::uint64_t, Pending> presence_pending_{kMaxPending};            // presences: no age
  BoundedMap<std::uint64_t, ItemsQuery> item_queries_{kMaxItemQueries};
  BoundedMap<std::uint64_t, Pending> iq_pending_{kMaxItemQueries};  // iqs a transport answers (RoomAdmin)
  std::deque<CommandSession> sessions_;  // oldest first
  // Joins whose history the core gives (want_history), by "full JID\nroom", until
  // the self-presence, an error presence, or kJoinHistoryTtlMs (a join that never
  // ended). Not a BoundedMap: a restart's rejoin burst must not evict joins, and
  // keys are reused by every rejoin.
  struct HistoryWanted {
    std::optional<std::size_t> max;
    std::optional<std::int64_t> since_ms;
    std::int64_t expires_ms = 0;  // steady_ms(): a wall-clock step must not end or keep every join
  };
  std::unordered_map<std::string, HistoryWanted> history_wanted_;
  // An error presence from a room to a resource: its join ended (no history).
  void join_failed(const std::string& full_jid, const std::string& peer);
  // The last line kept per "user\nroom": (archive_line, archive id), so every
  // copy of a line (one per resource) carries the one stanza-id.
  std::unordered_map<std::string, std::pair<std::uint64_t, std::int64_t>> last_line_;
  // Legacy contacts made available to a user: (user bare or full JID, contact full JID).
  std::map<std::pair<std::string, std::string>, ContactPresence> available_;
};

}  // namespace sb::mapping::detail
