#include "transports/irc/irc_cap.hpp"

#include <algorithm>
#include "common/base64.hpp"

namespace sb::transport::irc {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool is_wanted(std::string_view name) {
  const auto& w = wanted_caps();
  return std::find(w.begin(), w.end(), name) != w.end();
}

// Calls f(name, value) for each "name[=value]" of a space-separated capability list.
template <class F>
void for_each_cap(std::string_view list, F f) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && list[i] == ' ') ++i;
    std::size_t end = list.find(' ', i);
    if (end == std::string_view::npos) end = list.size();
    std::string_view tok = list.substr(i, end - i);
    i = end;
    if (tok.empty()) continue;
    auto eq = tok.find('=');
    f(tok.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : tok.substr(eq + 1));
  }
}

// "sasl=PLAIN,EXTERNAL": PLAIN among the mechanisms? CAP 3.1 servers send no value.
bool offers_plain(std::string_view value) {
  if (value.empty()) return true;
  std::size_t i = 0;
  while (i <= value.size()) {
    std::size_t end = value.find(',', i);
    if (end == std::string_view::npos) end = value.size();
    if (upper(value.substr(i, end - i)) == "PLAIN") return true;
    i = end + 1;
  }
  return false;
}

// A CAP reply's capability list, and whether more lines of it follow
// ("CAP * LS * :..." — the '*' before the list, CAP 302 multi-line replies).
std::pair<std::string_view, bool> cap_list(const IrcMessage& m) {
  if (m.params.size() >= 4 && m.params[2] == "*") return {m.params[3], true};
  return {m.param(2), false};
}

}  // namespace

const std::vector<std::string_view>& wanted_caps() {
  static const std::vector<std::string_view> caps = {"multi-prefix", "sasl",         "server-time",
                                                     "echo-message", "away-notify", "message-tags"};
  return caps;
}

std::vector<std::string> sasl_plain_lines(std::string_view user, std::string_view password) {
  std::string payload;
  payload.reserve(user.size() + password.size() + 2);
  payload.push_back('\0');  // authzid: empty, i.e. the same as authcid
  payload.append(user);
  payload.push_back('\0');
  payload.append(password);
  const std::string encoded = base64_encode(payload);
  std::vector<std::string> lines;
  // IRCv3 SASL: at most 400 bytes per AUTHENTICATE; a chunk of exactly 400 means
  // "more follows", so an exact multiple ends with "AUTHENTICATE +".
  constexpr std::size_t kChunk = 400;
  for (std::size_t i = 0; i < encoded.size(); i += kChunk)
    lines.push_back(std::string("AUTHENTICATE ").append(encoded.substr(i, kChunk)));
  if (encoded.size() % kChunk == 0) lines.emplace_back("AUTHENTICATE +");
  return lines;
}

CapNegotiator::CapNegotiator(std::string sasl_user, std::string sasl_password)
    : user_(std::move(sasl_user)), password_(std::move(sasl_password)) {}

std::vector<std::string> CapNegotiator::on_message(const IrcMessage& m) {
  if (state_ == State::Failed) return {};
  const std::string& cmd = m.command;
  if (cmd == "CAP") return on_cap(m);
  if (cmd == "AUTHENTICATE" || (cmd.size() == 3 && cmd[0] == '9' && cmd >= "900" && cmd <= "908")) return on_sasl(m);
  if (cmd == "001") {
    // Registration is complete: a server without CAP never answered CAP LS.
    state_ = State::Done;
    return {};
  }
  if ((cmd == "421" || cmd == "451") && upper(m.param(1)) == "CAP" && state_ == State::Listing) {
    // "Unknown command CAP" (or "not registered"): no CAP here; NICK/USER carry on.
    state_ = State::Done;
    return {};
  }
  if (cmd == "410" && (state_ == State::Listing || state_ == State::Requesting)) return end();  // invalid CAP command
  return {};
}

std::vector<std::string> CapNegotiator::on_cap(const IrcMessage& m) {
  const std::string sub = upper(m.param(1));
  auto [list, more] = cap_list(m);
  if (sub == "LS") {
    if (state_ != State::Listing) return {};
    for_each_cap(list, [&](std::string_view name, std::string_view value) {
      if (!is_wanted(name)) return;
      offered_.insert(std::string(name));
      if (name == "sasl") sasl_plain_offered_ = offers_plain(value);
    });
    if (more) return {};
    std::string req;
    for (auto w : wanted_caps()) {
      if (!offered_.count(std::string(w))) continue;
      if (w == "sasl" && (password_.empty() || !sasl_plain_offered_)) continue;
      if (!req.empty()) req += ' ';
      req += w;
      requested_.insert(std::string(w));
    }
    sasl_unavailable_ = !password_.empty() && !requested_.count("sasl");
    if (req.empty()) return end();
    state_ = State::Requesting;
    return {std::string("CAP REQ :").append(req)};
  }
  if (sub == "ACK") {
    for_each_cap(list, [&](std::string_view name, std::string_view) {
      if (!name.empty() && name.front() == '-') caps_.erase(std::string(name.substr(1)));
      else if (is_wanted(name)) caps_.insert(std::string(name));
    });
    if (state_ == State::Requesting && !more) return after_ack();
    return {};
  }
  if (sub == "NAK") {
    // The whole request is refused (IRCv3: all or nothing): go on without.
    if (state_ == State::Requesting && !more) return end();
    return {};
  }
  if (sub == "NEW" && state_ == State::Done) {
    std::string req;
    for_each_cap(list, [&](std::string_view name, std::string_view) {
      // SASL is only useful before registration.
      if (!is_wanted(name) || name == "sasl" || caps_.count(std::string(name))) return;
      if (!req.empty()) req += ' ';
      req += name;
    });
    if (req.empty()) return {};
    return {std::string("CAP REQ :").append(req)};
  }
  if (sub == "DEL") {
    for_each_cap(list, [&](std::string_view name, std::string_view) { caps_.erase(std::string(name)); });
  }
  return {};
}

std::vector<std::string> CapNegotiator::after_ack() {
  if (caps_.count("sasl") && !password_.empty()) {
    state_ = State::Authenticating;
    sasl_sent_ = true;
    return {"AUTHENTICATE PLAIN"};
  }
  return end();
}

std::vector<std::string> CapNegotiator::on_sasl(const IrcMessage& m) {
  const std::string& cmd = m.command;
  if (cmd == "900") authenticated_ = true;  // RPL_LOGGEDIN; 903 follows
  if (state_ != State::Authenticating) return {};
  if (cmd == "AUTHENTICATE") {
    if (m.param(0) != "+" || !sasl_sent_) return {};
    sasl_sent_ = false;
    return sasl_plain_lines(user_, password_);
  }
  if (cmd == "903" || cmd == "907") {  // success, or already authenticated
    authenticated_ = true;
    return end();
  }
  if (cmd == "902" || cmd == "904" || cmd == "905" || cmd == "906") {
    std::string text = m.params.size() >= 2 ? m.params.back() : std::string();
    std::string why = std::string("SASL login as '").append(user_).append("' failed (").append(cmd);
    if (!text.empty()) why.append(": ").append(text);
    why += ")";
    fail(std::move(why));
  }
  return {};  // 908 (mechanisms) comes before a 904
}

std::vector<std::string> CapNegotiator::end() {
  state_ = State::Done;
  return {"CAP END"};
}

void CapNegotiator::fail(std::string why) {
  state_ = State::Failed;
  failure_ = std::move(why);
}

}  // namespace sb::transport::irc
