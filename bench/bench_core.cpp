// In-process throughput of the component path, no sockets: bytes from the
// server -> framer -> Stanza parse -> GatewayCore routing -> transport command
// -> transport event -> GatewayCore -> stanza -> session queue -> serialised
// bytes (SPEC §3-4). Prints a table beside a ceiling: pugixml alone parsing and
// serialising the same stanzas (the least any XML gateway must do).
//
// Usage: bench_core [messages]   (default 200000)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <pugixml.hpp>
#include "common/clock.hpp"
#include "common/log.hpp"
#include "component/component_session.hpp"
#include "mapping/gateway_core.hpp"
#include "mapping/sqlite_registry.hpp"

using namespace sb;
using Clk = std::chrono::steady_clock;

namespace {

// Echoes every message back as an inbound message, synchronously.
class EchoTransport final : public transport::Transport {
 public:
  std::string_view kind() const override { return "loopback"; }
  std::string_view display_name() const override { return "bench"; }
  const transport::AddressCodec& addresses() const override { return codec_; }
  void start(transport::EventSink&) override {}
  void stop() override {}
  void send(transport::Command cmd) override {
    if (auto* m = std::get_if<transport::OutboundMessage>(&cmd))
      pending.push_back(transport::InboundMessage{.user = m->user, .peer = m->peer, .body = m->body});
  }
  std::vector<transport::Event> pending;
 private:
  transport::IdentityCodec codec_;
};

std::string make_input(int n) {
  std::string s =
      "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns='jabber:component:accept' from='bench.localhost' id='abc'><handshake/>";
  for (int i = 0; i < n; ++i) {
    s += "<message from='alice@localhost/bench' to='echo@bench.localhost' type='chat' id='m" + std::to_string(i) +
         "'><body>Hello number " + std::to_string(i) +
         " &amp; some ordinary chat text of typical length</body><request xmlns='urn:xmpp:receipts'/></message>";
  }
  return s;
}

double seconds_since(Clk::time_point t) { return std::chrono::duration<double>(Clk::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200000;
  log::set_level("warn");
  const std::string input = make_input(n);
  const std::size_t chunk = 16384;  // what one socket read brings

  // Ceiling: pugixml parses and serialises each stanza, nothing else.
  double ceiling_s;
  {
    xmpp::StreamFramer framer(512 * 1024);
    std::vector<xmpp::FramerEvent> evs;
    std::size_t out_bytes = 0;
    auto t0 = Clk::now();
    for (std::size_t off = 0; off < input.size(); off += chunk) {
      evs.clear();
      framer.feed(std::string_view(input).substr(off, chunk), evs);
      for (auto& e : evs) {
        if (e.kind != xmpp::FramerEvent::Kind::Element) continue;
        pugi::xml_document d;
        d.load_buffer(e.data.data(), e.data.size());
        struct W : pugi::xml_writer {
          std::string s;
          void write(const void* p, std::size_t k) override { s.append(static_cast<const char*>(p), k); }
        } w;
        d.save(w, "", pugi::format_raw | pugi::format_no_declaration);
        out_bytes += w.s.size();
      }
    }
    ceiling_s = seconds_since(t0);
    if (out_bytes == 0) return 1;
  }

  // switchboard: the whole in-process path.
  double full_s;
  std::size_t out_bytes = 0;
  {
    ManualClock clock;
    std::string err;
    auto reg = mapping::SqliteRegistry::open(":memory:", err);
    reg->put_registration("bench.localhost", mapping::Registration{"alice@localhost", {}, 0});
    EchoTransport transport;
    mapping::GatewayCore core({.domain = "bench.localhost", .allow = {"*@localhost"}, .admins = {}}, transport, *reg, clock);
    xmpp::SessionConfig sc;
    sc.domain = "bench.localhost";
    sc.secret = "x";
    sc.ping_target = "localhost";
    sc.max_queue = static_cast<std::size_t>(n) * 2 + 10;
    sc.max_unproven = sc.max_queue;
    xmpp::ComponentSession session(sc, clock);
    session.on_connected();
    session.take_output();
    auto t0 = Clk::now();
    for (std::size_t off = 0; off < input.size(); off += chunk) {
      session.on_bytes(std::string_view(input).substr(off, chunk));
      for (auto& st : session.take_received()) {
        for (auto& eff : core.on_stanza(st)) {
          if (auto* tt = std::get_if<mapping::ToTransport>(&eff)) transport.send(std::move(tt->command));
          else if (auto* ss = std::get_if<mapping::SendStanza>(&eff)) session.send(std::move(ss->stanza));
          else if (auto* sx = std::get_if<mapping::SendXml>(&eff)) session.send_xml(std::move(sx->xml));
        }
        for (auto& ev : transport.pending)
          for (auto& eff : core.on_event(std::move(ev))) {
            if (auto* ss = std::get_if<mapping::SendStanza>(&eff)) session.send(std::move(ss->stanza));
            else if (auto* sx = std::get_if<mapping::SendXml>(&eff)) session.send_xml(std::move(sx->xml));
          }
        transport.pending.clear();
      }
      out_bytes += session.take_output().size();  // one write per read, as the link batches
    }
    full_s = seconds_since(t0);
  }

  std::printf("\nswitchboard in-process stanza path, %d messages in + %d echoes out\n\n", n, n);
  std::printf("| path | messages/s | us per message | ratio to ceiling |\n");
  std::printf("|---|---:|---:|---:|\n");
  std::printf("| ceiling: framer + pugixml parse + serialise | %.0f | %.2f | 1.00 |\n", n / ceiling_s, ceiling_s * 1e6 / n);
  std::printf("| switchboard: framer, parse, route, transport, route back, serialise | %.0f | %.2f | %.2f |\n", n / full_s,
              full_s * 1e6 / n, ceiling_s / full_s);
  std::printf("\noutput bytes: %zu\n", out_bytes);
  return out_bytes > 0 ? 0 : 1;
}
