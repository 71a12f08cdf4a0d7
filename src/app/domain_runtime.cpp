#include "app/domain_runtime.hpp"

#include <boost/asio/post.hpp>
#include "common/log.hpp"

namespace sb::app {
namespace {
constexpr std::string_view kSpool = "spool";

// The server to ping for delivery proofs: configured, else the component's
// parent domain ("mqtt.example.org" -> "example.org").
std::string ping_target(const Config& cfg, const std::string& domain) {
  if (!cfg.xmpp.server_domain.empty()) return cfg.xmpp.server_domain;
  auto dot = domain.find('.');
  return dot == std::string::npos ? domain : domain.substr(dot + 1);
}
}  // namespace

DomainRuntime::DomainRuntime(boost::asio::io_context& io, const Config& cfg, const ComponentConfig& comp,
                             std::unique_ptr<transport::Transport> transport, mapping::Registry& registry,
                             const Clock& clock, mapping::RoomArchive* archive)
    : io_(io), domain_(comp.domain), transport_(std::move(transport)), registry_(registry) {
  mapping::CoreConfig core_cfg;
  core_cfg.domain = comp.domain;
  core_cfg.allow = comp.allow;
  core_cfg.admins = cfg.admins;
  core_cfg.history_on_join = static_cast<std::size_t>(comp.history_on_join);
  core_ = std::make_unique<mapping::GatewayCore>(std::move(core_cfg), *transport_, registry_, clock, archive);

  auto& m = Metrics::global();
  const std::string kind(transport_->kind());
  const std::string bridged = "Messages bridged, per transport and direction";
  m_to_legacy_ = &m.counter("switchboard_messages_bridged_total", bridged,
                            {{"domain", domain_}, {"transport", kind}, {"direction", "to_legacy"}});
  m_to_xmpp_ = &m.counter("switchboard_messages_bridged_total", bridged,
                          {{"domain", domain_}, {"transport", kind}, {"direction", "to_xmpp"}});
  const std::string errors = "Errors reported to users (stanza errors sent) and failures reported by transports";
  m_stanza_errors_ = &m.counter("switchboard_errors_total", errors, {{"domain", domain_}, {"source", "stanza"}});
  m_transport_errors_ = &m.counter("switchboard_errors_total", errors, {{"domain", domain_}, {"source", "transport"}});
  m_latency_ = &m.histogram("switchboard_processing_seconds",
                            "From a stanza or transport event arriving on the io thread's queue to its effects "
                            "being handed to the link or the transport",
                            {{"domain", domain_}});

  xmpp::SessionConfig sc;
  sc.domain = comp.domain;
  sc.secret = comp.secret;
  sc.ping_target = ping_target(cfg, comp.domain);
  sc.max_stanza_bytes = cfg.xmpp.max_stanza_bytes;
  sc.max_queue = cfg.xmpp.max_queue;
  sc.keepalive = std::chrono::seconds(cfg.xmpp.keepalive_seconds);
  sc.ping_timeout = std::chrono::seconds(cfg.xmpp.ping_timeout_seconds);

  xmpp::LinkHandlers h;
  h.on_stanza = [this](xmpp::Stanza&& s) { on_stanza(std::move(s)); };
  h.on_authenticated = [this] { execute(core_->on_connected(), std::chrono::steady_clock::now()); };
  h.on_proven = [this](std::vector<std::uint64_t> tokens) {
    for (auto t : tokens) {
      if (auto it = spool_tokens_.find(t); it != spool_tokens_.end()) {
        registry_.ack(domain_, kSpool, it->second);
        spool_tokens_.erase(it);
      } else if (auto dt = delivery_of_link_token_.find(t); dt != delivery_of_link_token_.end()) {
        const auto delivery = dt->second;
        delivery_of_link_token_.erase(dt);
        if (auto p = delivery_pending_.find(delivery); p != delivery_pending_.end() && --p->second == 0) {
          delivery_pending_.erase(p);
          transport_->delivered(delivery);
        }
      }
    }
  };
  link_ = std::make_shared<xmpp::ComponentLink>(io_, cfg.xmpp.host, static_cast<std::uint16_t>(cfg.xmpp.port),
                                                std::move(sc), clock, std::move(h));
}

DomainRuntime::~DomainRuntime() { *alive_ = false; }

void DomainRuntime::start() {
  // Stanzas spooled by the previous run go first, in order (SPEC §3, §10).
  auto spooled = registry_.peek(domain_, kSpool, 1'000'000);
  if (!spooled.empty()) log::get(domain_)->info("re-sending {} stanzas spooled by the previous run", spooled.size());
  for (auto& item : spooled) {
    auto token = next_token_++;
    spool_tokens_[token] = item.id;
    link_->send_xml(item.payload, token);
  }
  link_->start();
  transport_->start(*this);
  execute(core_->on_start(), std::chrono::steady_clock::now());
}

void DomainRuntime::deliver(transport::Event e) {
  // Any thread -> the io thread. The runtime outlives the io loop's handlers.
  const auto posted = std::chrono::steady_clock::now();
  boost::asio::post(io_, [this, alive = alive_, e = std::move(e), posted]() mutable {
    if (!*alive) return;
    // The core logs the change; /healthz shows the text.
    if (auto* ls = std::get_if<transport::LinkState>(&e)) backend_text_ = ls->text;
    else if (std::holds_alternative<transport::InboundMessage>(e)) m_to_xmpp_->inc();
    else if (auto* so = std::get_if<transport::SendOutcome>(&e); so && !so->ok) m_transport_errors_->inc();
    std::uint64_t delivery = 0;
    if (auto* im = std::get_if<transport::InboundMessage>(&e)) delivery = im->delivery_token;
    execute(core_->on_event(std::move(e)), posted);
    // Nobody to deliver to (no subscriber): nothing to wait for.
    if (delivery && !delivery_pending_.count(delivery)) transport_->delivered(delivery);
  });
}

void DomainRuntime::on_stanza(xmpp::Stanza&& s) {
  const auto started = std::chrono::steady_clock::now();
  execute(core_->on_stanza(s), started);
}

void DomainRuntime::execute(mapping::Effects effects, std::chrono::steady_clock::time_point started) {
  // The link's own token for a stanza made from a transport event's delivery token.
  auto link_token_for = [this](std::uint64_t token) -> std::uint64_t {
    if (!token) return 0;
    const auto link_token = next_token_++;
    delivery_of_link_token_[link_token] = token;
    ++delivery_pending_[token];
    return link_token;
  };
  for (auto& effect : effects) {
    if (auto* st = std::get_if<mapping::SendStanza>(&effect)) {
      if (st->stanza.type() == "error") m_stanza_errors_->inc();
      link_->send(std::move(st->stanza), link_token_for(st->token));
    } else if (auto* sx = std::get_if<mapping::SendXml>(&effect)) {
      link_->send_xml(std::move(sx->xml), link_token_for(sx->token));
    } else if (auto* tt = std::get_if<mapping::ToTransport>(&effect)) {
      if (std::holds_alternative<transport::OutboundMessage>(tt->command)) m_to_legacy_->inc();
      transport_->send(std::move(tt->command));
    }
  }
  m_latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void DomainRuntime::stop(std::function<void()> done) {
  execute(core_->on_shutdown(), std::chrono::steady_clock::now());
  transport_->stop();
  link_->stop(std::move(done));
}

void DomainRuntime::spool_undelivered() {
  std::size_t n = 0;
  for (auto& [xml, token] : link_->session().undelivered()) {
    if (token && spool_tokens_.count(token)) continue;  // still in the spool from last time
    // Kept durably by its transport, which replays it at start (e.g. the MQTT inbox).
    if (token && delivery_of_link_token_.count(token)) continue;
    registry_.enqueue(domain_, kSpool, xml);
    ++n;
  }
  if (n) log::get(domain_)->warn("spooled {} stanzas the server has not acknowledged; they are sent at next start", n);
}

}  // namespace sb::app
