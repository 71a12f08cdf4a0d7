// The core's side of the rooms' archive (room_archive.hpp; README "Room
// archive"): every line a user's legacy connection sees in a room is kept in
// that user's archive and carries its XEP-0359 stanza-id; a joining resource
// gets the history its <history/> asks for (XEP-0045 §7.2.15) after its
// self-presence; XEP-0313 queries page through the archive. Every query is of
// the sender's own archive: the user is always the stanza's `from`, never a
// value from the request, so no user reads another's.
#include <algorithm>
#include <charconv>

#include "common/civil_time.hpp"
#include "component/builders.hpp"
#include "component/message_text.hpp"
#include "component/namespaces.hpp"
#include "component/xml_text.hpp"
#include "mapping/core_state.hpp"

namespace sb::mapping::detail {
namespace {
constexpr std::size_t kMaxHistoryOnJoin = 500;  // whatever a <history maxstanzas/> asks
constexpr std::size_t kMamPage = 50;            // XEP-0313 results per page when the request names no max
constexpr std::size_t kMamPageMax = 250;        // ... and at most (XEP-0059 §2.1: the responder's limit)
constexpr std::size_t kMaxLastLines = 10000;    // "user\nroom" entries remembered for stanza-ids
constexpr std::size_t kMaxJoinsWaiting = 100000;  // joins between their presence and their self-presence
constexpr std::int64_t kJoinHistoryTtlMs = 120'000;  // a join not welcomed by then has failed

std::string key_of(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a).append(1, '\n').append(b);
  return k;
}

// An archive id as a client sends it back; nullopt unless all digits and > 0.
std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0 || s.front() == '+') return std::nullopt;
  return v;
}
}  // namespace

std::string CoreState::archived_id(const transport::InboundMessage& m) {
  if (!archive_ || !m.archive_line || m.user.empty()) return {};
  auto key = key_of(m.user, m.peer);
  auto it = last_line_.find(key);
  if (it != last_line_.end() && it->second.first == m.archive_line) return std::to_string(it->second.second);
  const std::string_view body = m.body.empty() ? std::string_view(m.oob_url) : std::string_view(m.body);
  const auto id = archive_->append(cfg_.domain, m.user, m.peer, m.timestamp_ms.value_or(clock_.unix_ms()),
                                   m.peer_resource, body);
  if (id <= 0) return {};
  if (it != last_line_.end()) {
    it->second = {m.archive_line, id};
  } else {
    if (last_line_.size() >= kMaxLastLines) last_line_.clear();  // only ever needed for the line being fanned out
    last_line_.emplace(std::move(key), std::make_pair(m.archive_line, id));
  }
  return std::to_string(id);
}

void CoreState::want_history(const std::string& full_jid, transport::OutboundPresence& op) {
  if (!archive_ || !op.muc || !op.available) return;
  const std::int64_t now = steady_ms();
  if (history_wanted_.size() >= kMaxJoinsWaiting)
    std::erase_if(history_wanted_, [now](const auto& kv) { return kv.second.expires_ms <= now; });
  // Still full: this join keeps the transport's own replay (what it kept in memory).
  if (history_wanted_.size() >= kMaxJoinsWaiting) return;
  history_wanted_[key_of(full_jid, op.peer)] =
      HistoryWanted{op.history_max, op.history_since_ms, now + kJoinHistoryTtlMs};
  // What the transport kept while the user was away is in the archive too.
  op.history_max = 0;
  op.history_since_ms.reset();
}

void CoreState::send_history(const std::string& full_jid, const std::string& peer, Effects& out) {
  if (!archive_) return;
  auto it = history_wanted_.find(key_of(full_jid, peer));
  // Not a join of ours (a rejoin after a lost connection, a nick change), or one
  // that ended long ago without a welcome.
  if (it == history_wanted_.end()) return;
  const HistoryWanted wanted = it->second;
  history_wanted_.erase(it);
  if (wanted.expires_ms <= steady_ms()) return;
  ArchiveQuery q;
  q.last = true;
  // XEP-0045 §7.2.15: no <history/> limit at all -> the configured number; a
  // `since`/`seconds` alone -> all of that time (at most kMaxHistoryOnJoin).
  const std::size_t unasked = wanted.since_ms ? kMaxHistoryOnJoin : cfg_.history_on_join;
  q.max = std::min(wanted.max.value_or(unasked), kMaxHistoryOnJoin);
  q.start_ms = wanted.since_ms;
  if (q.max == 0) return;
  const auto bare = full_jid.substr(0, full_jid.find('/'));
  const auto room = jid_for(peer);
  for (const auto& line : archive_->query(cfg_.domain, bare, peer, q).lines) {
    const auto from = with_resource(room, line.nick);
    const auto id = next_id();
    const auto stanza_id = std::to_string(line.id);
    const auto stamp = civil::iso8601_ms(line.at_ms);
    xmpp::MessageText t{.from = from, .to = full_jid, .type = "groupchat", .id = id};
    t.body = line.body;
    t.delay_from = room;  // XEP-0045 §7.2.15: the room stamps its history
    t.delay_stamp = stamp;
    t.stanza_id = stanza_id;
    t.stanza_id_by = room;
    out.push_back(SendXml{xmpp::message_text(t)});
  }
}

void CoreState::join_failed(const std::string& full_jid, const std::string& peer) {
  if (!history_wanted_.empty()) history_wanted_.erase(key_of(full_jid, peer));
}

void CoreState::mam(const xmpp::Stanza& s, const xmpp::Jid& from, const std::string& peer, const pugi::xml_node& q,
                    Effects& out) {
  const auto room = jid_for(peer);
  if (s.type() == "get") {
    // XEP-0313 §5.1: the fields this archive can filter on.
    auto reply = xmpp::make_result(s);
    xmpp::DataForm form;
    form.with_form_type(xmpp::ns::mam);
    form.add("with", "jid-single", "A speaker in the room (room@domain/nick)");
    form.add("start", "text-single", "From (XEP-0082 DateTime)");
    form.add("end", "text-single", "Until (XEP-0082 DateTime)");
    form.add("after-id", "text-single");
    form.add("before-id", "text-single");
    xmpp::append_form(xmpp::append(reply.root(), "query", xmpp::ns::mam), form);
    return send(out, std::move(reply));
  }

  const auto bare = from.bare_str();
  ArchiveQuery aq;
  bool nothing = false;  // a `with` that is not this room: an empty result
  // An id the client sends back must be one of this archive's (XEP-0313 §6.3).
  auto id_in_archive = [&](std::string_view text) -> std::optional<std::int64_t> {
    auto id = parse_id(text);
    if (id && archive_->holds(cfg_.domain, bare, peer, *id)) return id;
    return std::nullopt;
  };
  auto stricter = [](std::optional<std::int64_t>& bound, std::int64_t v, bool lower) {
    bound = !bound ? v : (lower ? std::max(*bound, v) : std::min(*bound, v));
  };
  std::optional<xmpp::DataForm> form = xmpp::find_form(q);
  if (form) {
    // XEP-0313 §4.1.1: a field the server does not know is feature-not-implemented
    // (an `ids` fetch or a full-text search must not get the whole archive instead).
    for (const auto& f : form->fields) {
      if (f.var == "FORM_TYPE" || f.var == "with" || f.var == "start" || f.var == "end" || f.var == "after-id" ||
          f.var == "before-id")
        continue;
      return error(out, s, xmpp::Condition::FeatureNotImplemented, "This archive cannot filter on " + f.var + ".");
    }
    if (const auto ft = form->form_type(); !ft.empty() && ft != xmpp::ns::mam)
      return error(out, s, xmpp::Condition::BadRequest, "Not a XEP-0313 (urn:xmpp:mam:2) form.");
    for (auto [var, into] : {std::pair{"start", &aq.start_ms}, std::pair{"end", &aq.end_ms}}) {
      const auto v = form->value(var);
      if (v.empty()) continue;
      auto t = civil::parse_iso8601_ms(v);
      if (!t) return error(out, s, xmpp::Condition::BadRequest, std::string(var) + " is not a XEP-0082 DateTime.");
      *into = *t;
    }
    if (const auto with = form->value("with"); !with.empty()) {
      auto j = xmpp::Jid::parse(with);
      if (!j || j->bare_str() != room) nothing = true;
      else aq.nick = j->resource();
    }
    for (auto [var, lower] : {std::pair{"after-id", true}, std::pair{"before-id", false}}) {
      const auto v = form->value(var);
      if (v.empty()) continue;
      auto id = id_in_archive(v);
      if (!id) return error(out, s, xmpp::Condition::ItemNotFound, std::string(var) + " is not in this archive.");
      stricter(lower ? aq.after_id : aq.before_id, *id, lower);
    }
  }
  auto rsm = xmpp::parse_rsm(q);
  if (!rsm) return error(out, s, xmpp::Condition::BadRequest, "Malformed result set request (XEP-0059).");
  aq.max = std::min(rsm->max.value_or(kMamPage), kMamPageMax);
  if (rsm->after) {
    auto id = id_in_archive(*rsm->after);
    if (!id) return error(out, s, xmpp::Condition::ItemNotFound, "No such message in this archive.");
    stricter(aq.after_id, *id, true);
  }
  if (rsm->before) {
    aq.last = true;  // <before/> alone: the last page (XEP-0059 §2.5)
    if (!rsm->before->empty()) {
      auto id = id_in_archive(*rsm->before);
      if (!id) return error(out, s, xmpp::Condition::ItemNotFound, "No such message in this archive.");
      stricter(aq.before_id, *id, false);
    }
  }

  ArchivePage page;
  if (!nothing) page = archive_->query(cfg_.domain, bare, peer, aq);
  const std::string queryid = q.attribute("queryid").value();
  for (const auto& line : page.lines) {
    // XEP-0313 §4.2: each result forwarded (XEP-0297) with its time, before the iq's answer.
    auto msg = xmpp::make_message(room, s.from(), {}, next_id());
    auto result = xmpp::append(msg.root(), "result", xmpp::ns::mam);
    if (!queryid.empty()) result.append_attribute("queryid").set_value(xmpp::sanitize_text(queryid).c_str());
    result.append_attribute("id").set_value(std::to_string(line.id).c_str());
    auto fwd = xmpp::append(result, "forwarded", xmpp::ns::forward);
    xmpp::append(fwd, "delay", xmpp::ns::delay).append_attribute("stamp").set_value(civil::iso8601_ms(line.at_ms).c_str());
    auto inner = xmpp::append(fwd, "message", xmpp::ns::client);
    xmpp::set_text_attr(inner, "from", with_resource(room, line.nick));
    inner.append_attribute("type").set_value("groupchat");
    inner.append_attribute("id").set_value(std::to_string(line.id).c_str());
    xmpp::append_text(inner, "body", line.body);
    send(out, std::move(msg));
  }
  auto reply = xmpp::make_result(s);
  auto fin = xmpp::append(reply.root(), "fin", xmpp::ns::mam);
  if (page.complete) fin.append_attribute("complete").set_value("true");
  auto set = xmpp::append(fin, "set", xmpp::ns::rsm);
  if (!page.lines.empty()) {
    xmpp::append_text(set, "first", std::to_string(page.lines.front().id));
    xmpp::append_text(set, "last", std::to_string(page.lines.back().id));
  }
  // <count/> is of the result set; the form's after-id/before-id narrow that set
  // and the store counts without them: then no count (it is optional, XEP-0059).
  if (!form || (form->value("after-id").empty() && form->value("before-id").empty()))
    xmpp::append_text(set, "count", std::to_string(page.count));
  send(out, std::move(reply));
}

}  // namespace sb::mapping::detail
