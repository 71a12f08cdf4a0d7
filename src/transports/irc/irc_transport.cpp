// The IRC transport: sessions, their connections and timers (SPEC §7). See
// irc_transport.hpp for the contract and the choices it documents.
#include "transports/irc/irc_transport.hpp"


#include <algorithm>
#include <map>
#include <random>
#include <boost/asio/steady_timer.hpp>
#include "common/log.hpp"
#include "common/release_memory.hpp"
#include "transports/irc/irc_address.hpp"
#include "transports/irc/irc_config.hpp"
#include "transports/irc/irc_connect_limiter.hpp"
#include "transports/irc/irc_connection.hpp"
#include "transports/irc/irc_session.hpp"

namespace sb::transport::irc {
namespace {

constexpr std::size_t kMaxSessionsPerUser = 20;  // servers one user may be on at once
// Freed memory back to the OS (common/release_memory): this long after the last
// teardown or burst (a closed connection's memory is freed once its last handlers
// have run), and at most once per period.
constexpr auto kTrimDelay = std::chrono::milliseconds(300);
constexpr auto kTrimPeriod = std::chrono::seconds(1);
constexpr std::size_t kBurstEvents = 64;  // a join sequence of a big room, a lost connection

const std::string* find_value(const FieldValues& v, std::string_view key) {
  for (const auto& [k, val] : v)
    if (k == key) return &val;
  return nullptr;
}

std::string nonempty(const std::string* s) { return s ? *s : std::string(); }

bool has_line_break(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool valid_nick(const std::string& nick) {
  auto a = parse_peer(nick + "%irc.invalid");
  return a && a->kind == IrcAddress::Kind::Nick;
}

// A default IRC nick from a JID's localpart: what RFC 2812 allows, else '_'.
std::string nick_from_jid(std::string_view jid) {
  auto local = jid.substr(0, jid.find('@'));
  std::string n;
  for (char c : local) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("[]\\`_^{|}-").find(c) != std::string_view::npos;
    n += ok ? c : '_';
    if (n.size() == 30) break;
  }
  if (n.empty() || (n[0] >= '0' && n[0] <= '9') || n[0] == '-') n.insert(n.begin(), '_');
  return n;
}

class IrcTransport final : public Transport {
 public:
  IrcTransport(Deps& deps, IrcConfig cfg)
      : executor_(deps.executor), clock_(deps.clock), domain_(deps.domain), room_archive_(deps.room_archive),
        cfg_(std::move(cfg)),
        codec_(cfg_.fixed_server), trim_timer_(deps.executor), rng_(std::random_device{}()),
        log_(log::get(deps.domain)) {}

  ~IrcTransport() override {
    alive_.reset();  // handlers still queued in Asio find the transport gone
    sessions_.clear();
  }

  std::string_view kind() const override { return "irc"; }
  std::string_view display_name() const override { return "IRC gateway"; }
  std::vector<std::string> features() const override { return {"http://jabber.org/protocol/muc"}; }
  const AddressCodec& addresses() const override { return codec_; }
  bool requires_registration() const override { return false; }
  // IRC has no store-and-forward: a command is answered within this run or not at all.
  bool keeps_commands_durably() const override { return false; }

  std::string registration_instructions() const override {
    return "Join IRC channels as #channel%irc.server@" + domain_ +
           "/yournick. Registering is optional: give a default nick, and an account name and password "
           "for servers that use SASL.";
  }

  std::vector<Field> registration_fields() const override {
    std::vector<Field> f;
    f.push_back(Field{"nick", "Nickname", "text-single", false, {}, {},
                      "Used when a join names no nick (private messages, raw commands)"});
    f.push_back(Field{"password", "Password", "text-private", false, {}, {},
                      "SASL PLAIN password, sent only to the servers this gateway lists"});
    f.push_back(Field{"username", "Account name", "text-single", false, {}, {},
                      "SASL account name (default: the nick)"});
    return f;
  }

  std::optional<std::string> validate_registration(std::string_view, FieldValues& values) const override {
    for (auto& [k, v] : values) {
      if (k == "nick" || k == "username") v = trim(v);
      if (has_line_break(v)) return "The " + k + " must be one line.";
      if (k == "nick" && !v.empty() && !valid_nick(v))
        return "'" + v + "' is not a valid IRC nickname (letters, digits and []\\`_^{|}-, not starting with a digit).";
      if (k == "username" && v.find(' ') != std::string::npos) return "The account name cannot contain spaces.";
    }
    return std::nullopt;
  }

  // The issue's "per-server settings as ad-hoc commands": one group per listed server.
  std::vector<Field> settings_fields() const override {
    std::vector<Field> f;
    for (const auto& [key, s] : cfg_.servers) {
      f.push_back(Field{s.name + "/nick", "Nickname on " + s.name, "text-single", false, {}, {},
                        "Overrides the registration's nick on this server"});
      f.push_back(Field{s.name + "/username", "SASL account on " + s.name, "text-single", false, {}, {}, {}});
      f.push_back(Field{s.name + "/password", "SASL password on " + s.name, "text-private", false, {}, {}, {}});
      f.push_back(Field{s.name + "/stay", "Stay in channels on " + s.name + " while offline", "boolean", false, "0",
                        {}, "Keep your nick in the channels you leave by going offline; get what was said when you rejoin"});
    }
    return f;
  }

  std::optional<std::string> gateway_prompt() const override {
    return cfg_.fixed_server.empty() ? "Enter a channel or nick with its server: #channel%irc.example.org"
                                     : "Enter a channel (#channel) or a nick";
  }
  std::optional<std::string> gateway_resolve(std::string_view input) const override {
    auto peer = codec_.from_localpart(trim(input));
    if (!peer) return std::nullopt;
    auto a = parse_peer(*peer);
    if (!a || a->kind == IrcAddress::Kind::Server || !cfg_.server(a->server)) return std::nullopt;
    return peer;
  }

  bool lists_items(std::string_view peer) const override { return listed_server(peer).has_value(); }

  Occupancy occupancy(std::string_view user, std::string_view user_resource, std::string_view peer,
                      std::string_view nick) const override {
    auto a = parse_peer(peer);
    if (!a || a->kind != IrcAddress::Kind::Channel) return Occupancy::Unknown;
    const Box* b = existing(std::string(user), a->server);
    if (!b) return Occupancy::NotJoined;  // e.g. after a restart: the client must join again
    return b->session->occupancy(irc_lower(a->name), user_resource, nick);
  }

  std::optional<PeerInfo> peer_info(std::string_view, std::string_view peer) const override {
    auto a = parse_peer(peer);
    if (!a || !cfg_.server(a->server)) return std::nullopt;
    switch (a->kind) {
      case IrcAddress::Kind::Channel:
        // XEP-0045 §6.4: a room anyone may join, where nobody's JID is shown.
        // XEP-0410 §3.3: a ping to one's own occupant JID is answered by the gateway.
        return PeerInfo{"conference", "text", a->name + " on " + a->server,
                        {"http://jabber.org/protocol/muc", "muc_open", "muc_semianonymous", "muc_unsecured",
                         "http://jabber.org/protocol/muc#self-ping-optimization"}};
      case IrcAddress::Kind::Nick: return PeerInfo{"client", "pc", a->name + " on " + a->server, {}};
      case IrcAddress::Kind::Server:
        // Its disco#items are the channels (LIST), paged with XEP-0059.
        return PeerInfo{"conference", "irc", "IRC server " + a->server,
                        {"http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#items",
                         "http://jabber.org/protocol/rsm"}};
    }
    return std::nullopt;
  }

  std::vector<Item> items(std::string_view) const override {
    std::vector<Item> v;
    if (!cfg_.fixed_server.empty()) return v;  // the domain itself is the server
    for (const auto& [key, s] : cfg_.servers) v.push_back(Item{s.name, "IRC server " + s.name});
    return v;
  }

  std::vector<std::pair<std::string, std::string>> stats() const override {
    std::size_t conns = 0, rooms = 0, queued = 0;
    for (const auto& [key, b] : sessions_) {
      if (b->conn) {
        ++conns;
        queued += b->conn->queued();
      }
      rooms += b->session->room_count();
    }
    return {{"IRC sessions", std::to_string(sessions_.size())},
            {"IRC connections", std::to_string(conns)},
            {"rooms joined", std::to_string(rooms)},
            {"lines queued", std::to_string(queued)},
            {"IRC connections waiting to connect", std::to_string(waiting_.size())}};
  }

  void start(EventSink& sink) override {
    sink_ = &sink;
    // Per-user connections are not "the backend": the domain is up as long as we run.
    sink_->deliver(LinkState{true, "ready"});
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    auto keys = session_keys();
    for (const auto& k : keys) {
      auto it = sessions_.find(k);
      if (it != sessions_.end()) apply(k, it->second->session->disconnect("Gateway shutting down", true));
    }
    trim_timer_.cancel();
  }

  void send(Command cmd) override {
    if (stopped_ || !sink_) return;
    std::visit([this](auto& c) { on_command(c); }, cmd);
  }

 private:
  using Key = std::pair<std::string, std::string>;  // user bare JID, server (lower case)

  struct Box {
    Box(boost::asio::any_io_executor ex, SessionConfig cfg)
        : session(std::make_unique<IrcSession>(std::move(cfg))), timer(std::move(ex)) {}
    std::unique_ptr<IrcSession> session;
    std::unique_ptr<IrcConnection> conn;
    std::uint64_t conn_id = 0;
    boost::asio::steady_timer timer;
    std::uint64_t timer_gen = 0;
  };

  struct Prefs {
    FieldValues registration, settings;
  };

  // ---- commands from the core -------------------------------------------------

  void on_command(const OutboundMessage& m) {
    auto a = parse_peer(m.peer);
    if (!a) return fail(m.ref, Failure::BadRequest, "Not an IRC address: " + m.peer);
    Box* b = session_for(m.user, a->server, m.ref, true);
    if (!b) return;
    Key k{m.user, a->server};
    apply(k, b->session->on_message(m));
  }

  void on_command(const OutboundPresence& p) {
    auto a = parse_peer(p.peer);
    if (!a || a->kind != IrcAddress::Kind::Channel) return;  // presence to people/servers: nothing on IRC
    const bool join = p.type.empty() && p.available;
    // Leaving a room of a session that does not exist: nothing to do, nothing to open.
    Box* b = session_for(p.user, a->server, p.ref, join);
    if (!b) return;
    apply(Key{p.user, a->server}, b->session->on_presence(p));
  }

  void on_command(const UserRegistered& r) {
    prefs_[r.user].registration = r.fields;
    refresh_identities(r.user);
  }

  void on_command(const SettingsChanged& s) {
    auto& set = prefs_[s.user].settings;
    for (const auto& [k, v] : s.settings) {
      auto it = std::find_if(set.begin(), set.end(), [&](const auto& kv) { return kv.first == k; });
      if (it != set.end()) it->second = v;
      else set.emplace_back(k, v);
    }
    refresh_identities(s.user);
  }

  void on_command(const UserRemoved& r) {
    disconnect_user(r.user, "Unregistered from the gateway");
    prefs_.erase(r.user);
  }

  void on_command(const DisconnectUser& d) { disconnect_user(d.user, "Disconnected by an administrator"); }

  void on_command(const RoomAdmin& a) { in_room(a.user, a.peer, a.ref, &IrcSession::on_admin, a); }
  void on_command(const RoomInvite& inv) { in_room(inv.user, inv.room, inv.ref, &IrcSession::on_invite, inv); }

  // A request of an occupant of `room` (moderation, invitation): for the session
  // of that room's server, which checks the occupancy; no session, no occupant.
  template <class Cmd>
  void in_room(const std::string& user, const std::string& room, std::uint64_t ref,
               SessionOutput (IrcSession::*handle)(const Cmd&, std::int64_t), const Cmd& cmd) {
    auto addr = parse_peer(room);
    Box* b = addr ? existing(user, addr->server) : nullptr;
    if (!b) return fail(ref, Failure::Forbidden, "Only occupants of " + room + " can do that.");
    apply(Key{user, addr->server}, ((*b->session).*handle)(cmd, clock_.unix_ms()));
  }

  // disco#items of an IRC server (SPEC §4): its channel list, over the user's own
  // connection (opened for it when there is none), as Biboumi does.
  void on_command(const ListItems& l) {
    auto refuse = [&](Failure f, std::string text) { sink_->deliver(failed_list(l.ref, f, std::move(text))); };
    const auto server = listed_server(l.peer);
    if (!server) return refuse(Failure::NotFound, "Not an IRC server of this gateway: " + l.peer);
    Box* b = existing(l.user, *server);
    if (!b) {
      if (auto why = refusal(l.user, *server)) return refuse(why->first, std::move(why->second));
      b = make_session(l.user, *server);
    }
    apply(Key{l.user, *server}, b->session->list_channels(l.ref, clock_.unix_ms()));
  }

  // The server whose channels disco#items of `peer` lists: an IRC server's address,
  // or "" (the domain) with a fixed_server; nullopt for anything else.
  std::optional<std::string> listed_server(std::string_view peer) const {
    if (peer.empty()) {
      if (cfg_.fixed_server.empty()) return std::nullopt;
      return cfg_.fixed_server;
    }
    auto a = parse_peer(peer);
    if (!a || a->kind != IrcAddress::Kind::Server || !cfg_.server(a->server)) return std::nullopt;
    return a->server;
  }

  void disconnect_user(const std::string& user, const std::string& reason) {
    for (const auto& k : session_keys(user)) {
      auto it = sessions_.find(k);
      if (it != sessions_.end()) apply(k, it->second->session->disconnect(reason, false));
    }
  }

  // ---- sessions -----------------------------------------------------------------

  // The session of (user, server); made when `create` and allowed, else the
  // command `ref` is answered with why not.
  Box* session_for(const std::string& user, const std::string& server, std::uint64_t ref, bool create) {
    if (Box* b = existing(user, server)) return b;
    if (!create) return nullptr;
    if (auto why = refusal(user, server)) {
      fail(ref, why->first, std::move(why->second));
      return nullptr;
    }
    return make_session(user, server);
  }

  Box* existing(const std::string& user, const std::string& server) const {
    auto it = sessions_.find(Key{user, server});
    return it != sessions_.end() ? it->second.get() : nullptr;
  }

  // Why no session may be opened for (user, server); nullopt: it may.
  std::optional<std::pair<Failure, std::string>> refusal(const std::string& user, const std::string& server) const {
    if (!cfg_.server(server))
      return std::pair{Failure::NotFound, "This gateway does not connect to the IRC server " + server + "."};
    if (session_keys(user).size() >= kMaxSessionsPerUser)
      return std::pair{Failure::NotAcceptable, std::string("You are connected to too many IRC servers.")};
    return std::nullopt;
  }

  Box* make_session(const std::string& user, const std::string& server) {
    Key k{user, server};
    SessionConfig sc;
    sc.user = user;
    sc.server = server;
    sc.identity = identity_for(user, server);
    sc.stay_joined = stays_joined(user, server);
    sc.grace_seconds = cfg_.grace_seconds;
    sc.reconnect_max_seconds = cfg_.reconnect_max_seconds;
    sc.core_archives = room_archive_;
    auto box = std::make_unique<Box>(executor_, std::move(sc));
    return sessions_.emplace(k, std::move(box)).first->second.get();
  }

  std::vector<Key> session_keys(const std::string& user) const {
    std::vector<Key> v;
    for (auto it = sessions_.lower_bound(Key{user, ""}); it != sessions_.end() && it->first.first == user; ++it)
      v.push_back(it->first);
    return v;
  }
  std::vector<Key> session_keys() const {
    std::vector<Key> v;
    for (const auto& [k, b] : sessions_) v.push_back(k);
    return v;
  }

  Identity identity_for(const std::string& user, const std::string& server) const {
    static const Prefs none;
    auto it = prefs_.find(user);
    const Prefs& p = it != prefs_.end() ? it->second : none;
    auto setting = [&](std::string_view what) {
      return nonempty(find_value(p.settings, std::string(server).append("/").append(what)));
    };
    const bool listed = cfg_.servers.count(server) > 0;
    Identity id;
    id.nick = setting("nick");
    if (id.nick.empty()) id.nick = nonempty(find_value(p.registration, "nick"));
    if (id.nick.empty() || !valid_nick(id.nick)) id.nick = nick_from_jid(user);
    id.realname = cfg_.realname;
    id.sasl_user = setting("username");
    if (id.sasl_user.empty() && listed) id.sasl_user = nonempty(find_value(p.registration, "username"));
    id.sasl_password = setting("password");
    // The registration's password goes only to servers the admin listed.
    if (id.sasl_password.empty() && listed) id.sasl_password = nonempty(find_value(p.registration, "password"));
    return id;
  }

  void refresh_identities(const std::string& user) {
    for (const auto& k : session_keys(user)) {
      auto it = sessions_.find(k);
      if (it == sessions_.end()) continue;
      it->second->session->set_identity(identity_for(k.first, k.second));
      apply(k, it->second->session->set_stay_joined(stays_joined(k.first, k.second)));
    }
  }

  // The user's "<server>/stay" setting (XEP-0004 boolean).
  bool stays_joined(const std::string& user, const std::string& server) const {
    auto it = prefs_.find(user);
    if (it == prefs_.end()) return false;
    const std::string v = nonempty(find_value(it->second.settings, server + "/stay"));
    return v == "1" || v == "true";
  }

  // Carries out what a session asked for (order: see SessionOutput).
  void apply(const Key& k, SessionOutput out) {
    auto it = sessions_.find(k);
    if (it == sessions_.end()) return;
    Box& b = *it->second;
    if (out.connect) open(k, b, std::move(*out.connect));
    if (b.conn) {
      for (const auto& l : out.lines) {
        if (l.is_raw) b.conn->send_raw(l.raw);
        else b.conn->send(l.msg);
      }
    }
    // A burst (a big room's join sequence) leaves freed memory behind once the core
    // has turned it into stanzas and sent them.
    if (out.events.size() >= kBurstEvents) schedule_trim();
    for (auto& e : out.events) sink_->deliver(std::move(e));
    if (out.quit && b.conn) b.conn->close(*out.quit);
    if (out.cancel_timer) {
      ++b.timer_gen;
      b.timer.cancel();
    }
    if (out.arm != SessionTimer::None) arm(k, b, out.arm, out.arm_after);
    if (out.finished || b.session->idle()) {
      // A connection still open here has been told to QUIT (close() is idempotent):
      // dropping it lets it finish that on its own, with no handler calling back.
      if (b.conn) {
        b.conn->close("Leaving");
        const std::uint64_t cid = b.conn_id;
        const std::string server = k.second;  // k may name the erased entry's key
        sessions_.erase(it);
        release_slot(server, cid);  // dropped: no on_closed will come
      } else {
        sessions_.erase(it);
      }
      schedule_trim();
    }
  }

  void open(const Key& k, Box& b, Identity id) {
    auto server = cfg_.server(k.second);
    if (!server) return;  // checked when the session was made; the config does not change
    if (b.conn) {
      b.conn->close("Reconnecting");
      b.conn.reset();
      release_slot(k.second, b.conn_id);  // dropped: no on_closed will come
    }
    const std::uint64_t cid = ++next_conn_id_;
    b.conn_id = cid;
    std::weak_ptr<int> alive = alive_;
    ConnectionHandlers h;
    h.on_registered = [this, alive, k, cid](const std::string& nick) {
      if (alive.expired()) return;
      release_slot(k.second, cid);
      Box* b = current(k, cid);
      if (!b) return;
      const bool echo = b->conn->caps().count("echo-message") > 0;
      apply(k, b->session->on_registered(nick, echo));
    };
    h.on_message = [this, alive, k, cid](const IrcMessage& m) {
      if (alive.expired()) return;
      Box* b = current(k, cid);
      if (!b) return;
      apply(k, b->session->on_irc(m, clock_.unix_ms()));
    };
    h.on_closed = [this, alive, k, cid](const std::string& reason, bool nick_rejected) {
      if (alive.expired()) return;
      release_slot(k.second, cid);
      Box* b = current(k, cid);
      if (!b) return;
      b->conn.reset();  // closed: its memory goes now
      schedule_trim();
      apply(k, b->session->on_closed(reason, nick_rejected));
    };
    log_->debug("{}: connecting to {} as {}", k.first, k.second, id.nick);
    b.conn = std::make_unique<IrcConnection>(executor_, *server, std::move(id), std::move(h));
    if (limiter_.request(k.second, cid)) {
      b.conn->start();
    } else {
      waiting_[cid] = k;
      log_->debug("{}: connection to {} waits its turn ({} connecting, {} waiting)", k.first, k.second,
                  limiter_.in_progress(k.second), limiter_.waiting(k.second));
    }
  }

  // Connection `cid` to `server` is registered, closed or dropped: its slot (or
  // place in line) goes to the next waiting connection(s), started here.
  void release_slot(const std::string& server, std::uint64_t cid) {
    waiting_.erase(cid);
    auto next = limiter_.release(server, cid);
    for (std::size_t i = 0; i < next.size(); ++i) {
      auto w = waiting_.find(next[i]);
      Box* b = nullptr;
      if (w != waiting_.end()) {
        b = current(w->second, next[i]);
        waiting_.erase(w);
      }
      if (b) {
        b->conn->start();
      } else {  // gone meanwhile (every drop releases, so this is only a safety net)
        auto more = limiter_.release(server, next[i]);
        next.insert(next.end(), more.begin(), more.end());
      }
    }
  }

  Box* current(const Key& k, std::uint64_t cid) {
    auto it = sessions_.find(k);
    if (it == sessions_.end() || it->second->conn_id != cid || !it->second->conn) return nullptr;
    return it->second.get();
  }

  void arm(const Key& k, Box& b, SessionTimer which, std::chrono::milliseconds after) {
    if (which == SessionTimer::Reconnect) {
      // Jitter: users of one server lost it together; they should not all come back at once.
      std::uniform_int_distribution<long long> d(0, after.count() / 4);
      after += std::chrono::milliseconds(d(rng_));
    }
    const std::uint64_t gen = ++b.timer_gen;
    b.timer.expires_after(after);
    std::weak_ptr<int> alive = alive_;
    b.timer.async_wait([this, alive, k, gen, which](const boost::system::error_code& ec) {
      if (ec || alive.expired() || stopped_) return;
      auto it = sessions_.find(k);
      if (it == sessions_.end() || it->second->timer_gen != gen) return;
      apply(k, it->second->session->on_timer(which));
    });
  }

  // Freed connection and session memory back to the OS (glibc keeps it otherwise):
  // once, shortly after a teardown or a burst, and at most once per kTrimPeriod.
  void schedule_trim() {
    if (trim_pending_) return;
    trim_pending_ = true;
    const auto now = std::chrono::steady_clock::now();
    trim_timer_.expires_at(std::max(now + kTrimDelay, last_trim_ + kTrimPeriod));
    std::weak_ptr<int> alive = alive_;
    trim_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (alive.expired()) return;
      trim_pending_ = false;
      if (ec) return;
      last_trim_ = std::chrono::steady_clock::now();
      memory::release_free_memory();
    });
  }

  void fail(std::uint64_t ref, Failure f, std::string text) {
    SendOutcome o;
    o.ref = ref;
    o.ok = false;
    o.failure = f;
    o.text = std::move(text);
    sink_->deliver(std::move(o));
  }

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  std::string domain_;
  bool room_archive_;  // Deps::room_archive
  IrcConfig cfg_;
  IrcCodec codec_;
  EventSink* sink_ = nullptr;
  std::map<Key, std::unique_ptr<Box>> sessions_;
  std::map<std::string, Prefs> prefs_;
  std::uint64_t next_conn_id_ = 0;
  ConnectLimiter limiter_;                 // connections in progress per server
  std::map<std::uint64_t, Key> waiting_;   // connection id -> its session, while it waits for a slot
  boost::asio::steady_timer trim_timer_;
  bool trim_pending_ = false;
  std::chrono::steady_clock::time_point last_trim_{};
  bool stopped_ = false;
  std::minstd_rand rng_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

FactoryEntry factory() {
  return FactoryEntry{"irc", [](ConfigReader& block, Deps& deps) -> std::unique_ptr<Transport> {
                        const auto before = block.problems().all().size();
                        auto cfg = read_irc_config(block);
                        if (block.problems().all().size() != before) return nullptr;
                        return std::make_unique<IrcTransport>(deps, std::move(cfg));
                      }};
}

}  // namespace sb::transport::irc
