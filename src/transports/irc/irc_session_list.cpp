// IrcSession: the server's channel list as disco#items (see irc_session.hpp and
// irc_channel_list.hpp).
#include "transports/irc/irc_session.hpp"
#include "transports/irc/irc_text.hpp"

namespace sb::transport::irc {

SessionOutput IrcSession::list_channels(std::uint64_t ref, std::int64_t now_ms) {
  SessionOutput out;
  if (listed_at_ms_ >= 0 && now_ms - listed_at_ms_ < kListFreshMs) {
    answer_list(ref, out);
    return out;
  }
  auto refuse = [&](std::string text) {
    out.events.emplace_back(failed_list(ref, Failure::Unavailable, std::move(text)));
    return out;
  };
  if (!list_waiters_.empty()) {
    // A LIST is on its way: this request gets the same answer.
    if (list_waiters_.size() >= kMaxListWaiters) return refuse("Too many channel list requests waiting.");
    list_waiters_.push_back(ref);
    return out;
  }
  Queued q;
  q.lines.push_back(OutLine{IrcMessage{{}, {}, "LIST", {}}, {}, false});
  q.is_raw = true;  // no reflection, no outcome: the answer is the ItemList
  if (auto why = send_when_registered(std::move(q), out)) return refuse(std::move(*why));
  list_waiters_.push_back(ref);
  list_asked_ms_ = now_ms;
  list_grace_rearms_ = 0;
  listing_ = ChannelListing();
  private_activity(out);  // a connection opened for this closes after the grace period
  return out;
}

bool IrcSession::on_list_numeric(int code, const IrcMessage& m, SessionOutput& out) {
  // Only while our LIST is answered: a user's own raw "LIST" shows as server text.
  if (list_waiters_.empty()) return false;
  switch (code) {
    case 321: return true;  // RPL_LISTSTART
    case 322:               // RPL_LIST <me> <channel> <visible> :<topic>
      listing_.add(m.param(1), m.param(2), m.param(3));
      return true;
    case 323:  // RPL_LISTEND
    case 416:  // ERR_TOOMANYMATCHES <me> LIST :Output too large: what came is the answer
      if (code == 416 && m.param(1) != "LIST") return false;
      finish_list(out);
      return true;
    default:
      // RPL_TRYAGAIN (263), ERR_UNKNOWNCOMMAND (421) ... <me> LIST :<text>
      if (m.param(1) != "LIST" || (code != 263 && (code < 400 || code >= 600))) return false;
      fail_list(Failure::Unavailable, "The IRC server says: " + irc_to_xmpp_text(m.param(2)), out);
      return true;
  }
}

void IrcSession::finish_list(SessionOutput& out) {
  listed_ = listing_.take_items(cfg_.server);
  listed_at_ms_ = list_asked_ms_;
  auto waiters = std::move(list_waiters_);
  list_waiters_.clear();
  for (auto ref : waiters) answer_list(ref, out);
}

void IrcSession::expire_list(std::int64_t now_ms, SessionOutput& out) {
  if (!list_waiters_.empty() && now_ms - list_asked_ms_ >= kListTimeoutMs) finish_list(out);
  if (list_waiters_.empty() && listed_at_ms_ >= 0 && now_ms - listed_at_ms_ >= kListFreshMs) {
    listed_.clear();
    listed_.shrink_to_fit();
    listed_at_ms_ = -1;
  }
}

void IrcSession::answer_list(std::uint64_t ref, SessionOutput& out) const {
  ItemList l;
  l.ref = ref;
  l.items = listed_;
  out.events.emplace_back(std::move(l));
}

void IrcSession::fail_list(Failure f, const std::string& text, SessionOutput& out) {
  for (auto ref : list_waiters_) out.events.emplace_back(failed_list(ref, f, text));
  list_waiters_.clear();
  listing_ = ChannelListing();
}

}  // namespace sb::transport::irc
