#include "component/component_session.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "component/handshake.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"

namespace sb::xmpp {
namespace {

std::string random_hex(std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::random_device rd;
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += digits[rd() % 16];
  return s;
}

// The server's domain as it stamps it and as configured: ASCII case aside, equal.
bool same_domain(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view stream_error_hint(std::string_view condition) {
  if (condition == "not-authorized") return "check the secret: the server refused the handshake";
  if (condition == "conflict") return "another instance is connected as this component";
  if (condition == "host-unknown") return "the server has no such component: check its component configuration";
  if (condition == "improper-addressing" || condition == "invalid-from") return "the domain does not match the server's component";
  if (condition == "system-shutdown") return "the server is shutting down";
  if (condition == "connection-timeout") return "the server timed the stream out";
  return "";
}

ComponentSession::ComponentSession(SessionConfig cfg, const Clock& clock)
    : cfg_(std::move(cfg)), clock_(clock), framer_(cfg_.max_stanza_bytes), origin_prefix_(random_hex(8)), ping_secret_(random_hex(16)), log_(log::get(cfg_.domain)) {
  auto& m = Metrics::global();
  const std::string help = "Stanzas through the component link";
  m_in_ = &m.counter("switchboard_stanzas_total", help, {{"domain", cfg_.domain}, {"direction", "in"}});
  m_out_ = &m.counter("switchboard_stanzas_total", help, {{"domain", cfg_.domain}, {"direction", "out"}});
  m_dropped_ = &m.counter("switchboard_stanzas_dropped_total", "Stanzas dropped because the outbound queue was full",
                          {{"domain", cfg_.domain}});
  m_resent_ = &m.counter("switchboard_stanzas_resent_total", "Stanzas re-sent after a reconnect (not proven delivered)",
                         {{"domain", cfg_.domain}});
}

void ComponentSession::on_connected() {
  framer_.reset();
  out_.clear();
  failure_.reset();
  ping_id_.clear();
  state_ = SessionState::Opening;
  opened_at_ = clock_.now();
  last_write_ = opened_at_;
  // XEP-0114 §3: the stream is opened to the component's domain.
  out_ += "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
          "xmlns:stream='http://etherx.jabber.org/streams' to='";
  out_ += xml_escape(cfg_.domain);
  out_ += "'>";
}

void ComponentSession::on_disconnected() {
  // Everything written but not proven goes back in front of what waits, in order.
  if (!unproven_.empty()) {
    m_resent_->inc(unproven_.size());
    while (!unproven_.empty()) {
      waiting_.push_front(std::move(unproven_.back()));
      unproven_.pop_back();
    }
  }
  ping_id_.clear();
  out_.clear();
  state_ = SessionState::Disconnected;
}

void ComponentSession::on_bytes(std::string_view data) {
  if (state_ == SessionState::Disconnected || failure_) return;
  // One vector kept across reads: no allocation per read once it has grown
  // (handle_event never calls back into on_bytes).
  events_.clear();
  framer_.feed(data, events_);
  for (auto& ev : events_) {
    if (failure_) break;
    handle_event(ev);
  }
  if (state_ == SessionState::Ready && !failure_) write_waiting();
}

void ComponentSession::handle_event(FramerEvent& ev) {
  switch (ev.kind) {
    case FramerEvent::Kind::Error:
      // RFC 6120 §4.9: tell the server why, then close; the link reconnects.
      fail(ev.data, "bad XML from the server: " + ev.data, false, true);
      return;
    case FramerEvent::Kind::StreamClose:
      if (state_ == SessionState::Closing) {
        fail("closed", "stream closed", true, false);
      } else {
        out_ += "</stream:stream>";
        fail("closed", "the server closed the stream", true, false);
      }
      return;
    case FramerEvent::Kind::StreamOpen: {
      if (state_ != SessionState::Opening) {
        fail("not-well-formed", "unexpected second stream header", false, true);
        return;
      }
      auto it = ev.attributes.find("id");
      if (it == ev.attributes.end() || it->second.empty()) {
        fail("invalid-id", "the server's stream header has no id", false, true);
        return;
      }
      // XEP-0114 §3: handshake = hex(SHA-1(stream id + secret)).
      out_ += "<handshake>" + handshake_digest(it->second, cfg_.secret) + "</handshake>";
      state_ = SessionState::Handshaking;
      return;
    }
    case FramerEvent::Kind::Element:
      handle_element(std::move(ev.data));
      return;
  }
}

void ComponentSession::handle_element(std::string&& bytes) {
  if (log_->should_log(spdlog::level::debug))
    log_->debug("recv {}", std::string_view(bytes).substr(0, 2000));
  auto parsed = Stanza::parse_owned(std::move(bytes));
  if (!parsed) {
    fail("not-well-formed", "unparseable element from the server", false, true);
    return;
  }
  Stanza& s = *parsed;
  const auto name = s.name();
  const auto ns = ns_of(s.root());
  if (name == "error" && ns == ns::stream) {
    std::string cond = "undefined-condition";
    std::string text;
    for (auto c : s.root().children()) {
      if (c.type() != pugi::node_element) continue;
      if (local_name(c) == "text") text = c.text().get();
      else cond = std::string(local_name(c));
    }
    std::string msg = "stream error from the server: " + cond;
    if (auto hint = stream_error_hint(cond); !hint.empty()) msg += " (" + std::string(hint) + ")";
    if (!text.empty()) msg += ": " + text;
    fail(cond, msg, true, false);
    return;
  }
  if (state_ == SessionState::Handshaking) {
    if (name == "handshake") {
      state_ = SessionState::Ready;
      authenticated_flag_ = true;
      return;
    }
    log_->warn("ignoring <{}/> received before the handshake completed", name);
    return;
  }
  if (state_ != SessionState::Ready && state_ != SessionState::Closing) return;
  // Answers to our ack pings prove delivery; they are ours, not the core's. Only
  // from the server we pinged (it stamps `from`, so no user can answer for it)
  // and with the id, which holds a random part (SPEC §3: nothing accepted is lost).
  if (name == "iq" && !ping_id_.empty() && s.id() == ping_id_ && (s.type() == "result" || s.type() == "error") &&
      same_domain(s.from(), cfg_.ping_target)) {
    while (!unproven_.empty() && unproven_.front().seq <= ping_covers_) {
      if (unproven_.front().token) proven_.push_back(unproven_.front().token);
      unproven_.pop_front();
    }
    ping_id_.clear();
    return;
  }
  m_in_->inc();
  received_.push_back(std::move(s));
}

void ComponentSession::fail(std::string condition, std::string text, bool by_peer, bool send_stream_error) {
  if (failure_) return;
  if (send_stream_error && state_ != SessionState::Disconnected) {
    out_ += "<stream:error><" + condition + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
  }
  failure_ = SessionFailure{std::move(condition), std::move(text), by_peer};
}

void ComponentSession::enqueue(Entry e) {
  if (waiting_.size() + unproven_.size() >= cfg_.max_queue && !waiting_.empty()) {
    log_->error("outbound queue full ({} stanzas): dropping the oldest waiting stanza", cfg_.max_queue);
    m_dropped_->inc();
    waiting_.pop_front();
  }
  waiting_.push_back(std::move(e));
  if (state_ == SessionState::Ready) write_waiting();
}

void ComponentSession::send(Stanza&& stanza, std::uint64_t token) {
  // XEP-0359: a stable origin-id on messages, so a re-sent copy is recognisable.
  if (stanza.name() == "message" && !stanza.child("origin-id", ns::sid)) {
    auto oid = append(stanza.root(), "origin-id", ns::sid);
    oid.append_attribute("id") = (origin_prefix_ + "-" + std::to_string(next_origin_++)).c_str();
  }
  auto xml = stanza.str();
  if (log_->should_log(spdlog::level::debug))
    log_->debug("send {}", std::string_view(xml).substr(0, 2000));
  enqueue(Entry{next_seq_++, std::move(xml), token});
}

void ComponentSession::send_xml(std::string xml, std::uint64_t token) {
  if (log_->should_log(spdlog::level::debug))
    log_->debug("send {}", std::string_view(xml).substr(0, 2000));
  enqueue(Entry{next_seq_++, std::move(xml), token});
}

void ComponentSession::write_waiting() {
  if (waiting_.empty()) return;
  std::size_t n = 0;
  while (!waiting_.empty() && unproven_.size() < cfg_.max_unproven) {
    out_ += waiting_.front().xml;
    unproven_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    ++n;
  }
  m_out_->inc(n);
}

void ComponentSession::write_ping() {
  ping_id_ = "sb-ack-" + ping_secret_ + "-" + std::to_string(next_ping_++);
  ping_covers_ = unproven_.empty() ? 0 : unproven_.back().seq;
  ping_sent_ = clock_.now();
  if (!unproven_.empty()) {
    last_proof_ping_ = ping_sent_;
    proof_ping_ever_ = true;
  }
  // XEP-0199 §4.2: component-to-server ping; any answer proves the stanzas before it.
  out_ += "<iq type='get' id='" + ping_id_ + "' from='" + xml_escape(cfg_.domain) + "' to='" +
          xml_escape(cfg_.ping_target) + "'><ping xmlns='urn:xmpp:ping'/></iq>";
}

void ComponentSession::on_tick() {
  const auto now = clock_.now();
  if ((state_ == SessionState::Opening || state_ == SessionState::Handshaking) &&
      now - opened_at_ > cfg_.handshake_timeout) {
    fail("connection-timeout", "no handshake answer from the server in time", false, true);
    return;
  }
  if (state_ != SessionState::Ready) return;
  if (!ping_id_.empty() && now - ping_sent_ > cfg_.ping_timeout) {
    fail("connection-timeout", "the server did not answer a ping: the link is dead", false, false);
    return;
  }
  // Stanzas still waiting for a proof that was not due at write time.
  if (ping_id_.empty() && !unproven_.empty() && now - last_proof_ping_ >= cfg_.proof_interval) {
    write_ping();
    return;
  }
  if (now - last_write_ >= cfg_.keepalive) {
    // Whitespace keepalive (RFC 6120 §4.6.1) plus a ping that detects a dead link.
    out_ += ' ';
    if (ping_id_.empty()) write_ping();
  }
}

void ComponentSession::close() {
  if (state_ == SessionState::Ready) {
    write_waiting();
    if (ping_id_.empty() && !unproven_.empty()) write_ping();
  }
  if (state_ != SessionState::Disconnected && state_ != SessionState::Closing) {
    out_ += "</stream:stream>";
    state_ = SessionState::Closing;
  }
}

void ComponentSession::take_output_into(std::string& into) {
  // A proof ping after the drained batch, when one is due (see SessionConfig).
  if (state_ == SessionState::Ready && ping_id_.empty() && !unproven_.empty() &&
      (!proof_ping_ever_ || unproven_.size() >= cfg_.proof_batch ||
       clock_.now() - last_proof_ping_ >= cfg_.proof_interval))
    write_ping();
  if (out_.empty()) return;
  last_write_ = clock_.now();
  if (into.empty()) {
    into.swap(out_);  // out_ takes over into's spare capacity
  } else {
    into += out_;
  }
  if (out_.capacity() > kKeepBufferBytes) std::string().swap(out_);
  else out_.clear();
}

std::string ComponentSession::take_output() {
  std::string s;
  take_output_into(s);
  return s;
}

std::vector<Stanza> ComponentSession::take_received() {
  std::vector<Stanza> v;
  v.swap(received_);
  return v;
}

std::vector<std::uint64_t> ComponentSession::take_proven() {
  std::vector<std::uint64_t> v;
  v.swap(proven_);
  return v;
}

std::optional<SessionFailure> ComponentSession::take_failure() {
  auto f = std::move(failure_);
  failure_.reset();
  return f;
}

bool ComponentSession::take_authenticated() { return std::exchange(authenticated_flag_, false); }

std::vector<std::pair<std::string, std::uint64_t>> ComponentSession::undelivered() const {
  std::vector<std::pair<std::string, std::uint64_t>> v;
  for (auto& e : unproven_) v.emplace_back(e.xml, e.token);
  for (auto& e : waiting_) v.emplace_back(e.xml, e.token);
  return v;
}

}  // namespace sb::xmpp
