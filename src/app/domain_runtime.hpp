// One component domain at run time: its transport, its core, its component link,
// and the effect executor between them (DESIGN.md "Three rings").
//
// Stanzas the link could not prove delivered when we stop are spooled to the
// registry's durable queue "spool" and sent first at the next start; a spooled
// stanza leaves the spool only once the server has provably read it (SPEC §10).
// Threading: the io thread only, except EventSink::deliver (any thread).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <boost/asio/io_context.hpp>
#include "app/config.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "component/component_link.hpp"
#include "mapping/gateway_core.hpp"
#include "mapping/registry.hpp"
#include "mapping/room_archive.hpp"
#include "transports/api/transport.hpp"

namespace sb::app {

class DomainRuntime final : public transport::EventSink {
 public:
  DomainRuntime(boost::asio::io_context& io, const Config& cfg, const ComponentConfig& comp,
                std::unique_ptr<transport::Transport> transport, mapping::Registry& registry, const Clock& clock,
                mapping::RoomArchive* archive = nullptr);
  ~DomainRuntime() override;

  void start();
  // Graceful stop (SPEC §1): unavailable presences, transport stop, stream close.
  void stop(std::function<void()> done);
  // Persists what the link could not deliver. Call after stop's done (or on timeout).
  void spool_undelivered();

  void deliver(transport::Event e) override;  // thread-safe

  const std::string& domain() const { return domain_; }
  std::string kind() const { return std::string(transport_->kind()); }
  bool authenticated() const { return link_ && link_->authenticated(); }
  bool backend_up() const { return core_->backend_up(); }
  const std::string& backend_text() const { return backend_text_; }

 private:
  // Runs the effects; `started` is when the input that produced them arrived
  // (for the latency histogram).
  void execute(mapping::Effects effects, std::chrono::steady_clock::time_point started);
  void on_stanza(xmpp::Stanza&& s);

  boost::asio::io_context& io_;
  std::string domain_;
  std::unique_ptr<transport::Transport> transport_;
  mapping::Registry& registry_;
  std::unique_ptr<mapping::GatewayCore> core_;
  std::shared_ptr<xmpp::ComponentLink> link_;
  std::string backend_text_ = "starting";
  std::unordered_map<std::uint64_t, std::int64_t> spool_tokens_;  // link token -> spool queue id
  // Delivery tokens of transport events (InboundMessage::delivery_token): link
  // token -> delivery token, and how many stanzas of each are not yet proven.
  std::unordered_map<std::uint64_t, std::uint64_t> delivery_of_link_token_;
  std::unordered_map<std::uint64_t, int> delivery_pending_;
  std::uint64_t next_token_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // SPEC §9 metrics, registered once.
  Counter* m_to_legacy_;
  Counter* m_to_xmpp_;
  Counter* m_stanza_errors_;
  Counter* m_transport_errors_;
  Histogram* m_latency_;
};

}  // namespace sb::app
