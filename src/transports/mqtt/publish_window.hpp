// MqttClient's queue in front of Paho (issue 3, SPEC §6; DELIVERY.md "Outbound
// publishes"). Paho C 1.3 counts every publish waiting in its command queue -- not
// yet written by its send thread -- against create_options.maxBufferedMessages
// (default 100) whether connected or not, and refuses the next one with
// MQTTASYNC_MAX_BUFFERED_MESSAGES (-12). And while its send thread is blocked (MQTT 5
// Receive Maximum reached, a partial socket write) a PUBACK does not wake it: it
// sleeps up to a second. So MqttClient hands Paho at most `limit` publishes that
// have not completed (limit below maxBufferedMessages, and at most the broker's
// Receive Maximum), and keeps the rest here, oldest first, until a completion frees
// a slot. Any number of publishes can be queued; none is refused for room.
// Pure: no Paho, no threads (MqttClient uses it on the io thread only).
#pragma once
#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

namespace sb::transport::mqtt {

template <class T>
class PublishWindow {
 public:
  explicit PublishWindow(std::size_t limit) : limit_(std::max<std::size_t>(1, limit)) {}

  void push(T item) { waiting_.push_back(std::move(item)); }

  // What may be handed to Paho now, oldest first; each counts as outstanding until
  // its completed().
  std::vector<T> take() {
    std::vector<T> out;
    while (outstanding_ < limit_ && !waiting_.empty()) {
      out.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
      ++outstanding_;
    }
    return out;
  }

  // A publish handed out by take() completed (acknowledged or failed).
  void completed() {
    if (outstanding_ > 0) --outstanding_;
  }

  // The link went down: everything not yet handed to Paho, oldest first (Paho only
  // publishes while connected; the caller holds these itself).
  std::vector<T> take_waiting() {
    std::vector<T> out(std::make_move_iterator(waiting_.begin()), std::make_move_iterator(waiting_.end()));
    waiting_.clear();
    return out;
  }

  // E.g. the broker's MQTT 5 Receive Maximum; takes effect at the next take().
  void set_limit(std::size_t limit) { limit_ = std::max<std::size_t>(1, limit); }

  std::size_t limit() const { return limit_; }
  std::size_t outstanding() const { return outstanding_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  std::size_t limit_;
  std::size_t outstanding_ = 0;
  std::deque<T> waiting_;
};

}  // namespace sb::transport::mqtt
