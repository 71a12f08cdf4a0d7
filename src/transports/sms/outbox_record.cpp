#include "transports/sms/outbox_record.hpp"

#include <nlohmann/json.hpp>

namespace sb::transport::sms {
namespace {
using nlohmann::json;

json meta_json(const OutboxRecord& r, bool with_body) {
  json j = {{"ref", r.ref},   {"g", r.group},  {"p", r.part},      {"n", r.parts},      {"u", r.user},
            {"f", r.from},    {"t", r.to},     {"o", r.origin},    {"w", r.want},       {"c", r.core_ref},
            {"b", r.boot},    {"at", r.created_ms}};
  if (with_body) j["body"] = r.body;
  return j;
}

bool read_meta(const json& j, OutboxRecord& r) {
  if (!j.is_object()) return false;
  try {
    r.ref = j.at("ref").get<std::string>();
    r.group = j.value("g", r.ref);
    r.part = j.value("p", 1);
    r.parts = j.value("n", 1);
    r.user = j.at("u").get<std::string>();
    r.from = j.at("f").get<std::string>();
    r.to = j.at("t").get<std::string>();
    r.body = j.value("body", "");
    r.origin = j.value("o", "");
    r.want = j.value("w", false);
    r.core_ref = j.value("c", std::uint64_t{0});
    r.boot = j.value("b", "");
    r.created_ms = j.value("at", std::int64_t{0});
  } catch (const json::exception&) {
    return false;
  }
  return !r.ref.empty() && r.part >= 1 && r.part <= r.parts;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

std::string OutboxRecord::to_json() const { return dump(meta_json(*this, true)); }

std::optional<OutboxRecord> OutboxRecord::from_json(std::string_view s) {
  json j = json::parse(s, nullptr, false);
  OutboxRecord r;
  if (!read_meta(j, r)) return std::nullopt;
  return r;
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::Queued: return "queued";
    case Phase::Started: return "started";
    case Phase::Retry: return "retry";
    case Phase::Ambiguous: return "ambiguous";
    case Phase::Accepted: return "accepted";
    case Phase::Done: return "done";
  }
  return "queued";
}

std::string RefState::to_json() const {
  json j = {{"ph", phase_name(phase)}, {"a", attempt}, {"s", started_ms}, {"d", due_ms},
            {"at", at_ms},            {"pid", provider_id}, {"m", meta_json(meta, false)}};
  return dump(j);
}

std::optional<RefState> RefState::from_json(std::string_view s) {
  json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  RefState st;
  try {
    const std::string ph = j.at("ph").get<std::string>();
    if (ph == "queued") st.phase = Phase::Queued;
    else if (ph == "started") st.phase = Phase::Started;
    else if (ph == "retry") st.phase = Phase::Retry;
    else if (ph == "ambiguous") st.phase = Phase::Ambiguous;
    else if (ph == "accepted") st.phase = Phase::Accepted;
    else if (ph == "done") st.phase = Phase::Done;
    else return std::nullopt;
    st.attempt = j.value("a", 0);
    st.started_ms = j.value("s", std::int64_t{0});
    st.due_ms = j.value("d", std::int64_t{0});
    st.at_ms = j.value("at", std::int64_t{0});
    st.provider_id = j.value("pid", "");
  } catch (const json::exception&) {
    return std::nullopt;
  }
  if (!read_meta(j.value("m", json()), st.meta)) return std::nullopt;
  return st;
}

}  // namespace sb::transport::sms
