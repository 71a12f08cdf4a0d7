// What transports may persist, without knowing the registry behind it (the
// mapping registry implements this; tests may use an in-memory one).
// Called on the io thread only, unless the store says thread_safe() (see there).
// Writes are durable when the call returns unless noted; batch where the hot
// path needs it (SPEC §6: no fsync per message).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::transport {

struct QueuedItem {
  std::int64_t id = 0;        // increasing per queue: delivery order
  std::string payload;        // opaque to the store
  std::int64_t enqueued_ms = 0;
  int attempts = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Small key/value state per domain (last device state, cursors).
  virtual void put_state(std::string_view domain, std::string_view key, std::string_view value) = 0;
  virtual std::optional<std::string> get_state(std::string_view domain, std::string_view key) = 0;
  virtual void delete_state(std::string_view domain, std::string_view key) = 0;
  // Many keys in one transaction (batched writes off the hot path).
  virtual void put_states(std::string_view domain, const std::vector<std::pair<std::string, std::string>>& kv) = 0;
  // Every key starting with `prefix`, with its value, in key order.
  virtual std::vector<std::pair<std::string, std::string>> states(std::string_view domain, std::string_view prefix) = 0;
  // Durable FIFO queues, named per domain ("outbox", "inbox", ...).
  // enqueue returns the item's id (> 0), or 0 when it could not be stored: the
  // caller must then treat the item as NOT accepted (answer an error, don't ack).
  virtual std::int64_t enqueue(std::string_view domain, std::string_view queue, std::string_view payload) = 0;
  // enqueue for a per-message hot path (SPEC §6, issue 3): the same contract and
  // the same durability (the item survives kill -9 once this returned), without a
  // database transaction per item — the mapping registry appends it to a journal
  // and moves what is still queued into its table in batches. Default: enqueue.
  virtual std::int64_t enqueue_hot(std::string_view domain, std::string_view queue, std::string_view payload) {
    return enqueue(domain, queue, payload);
  }
  virtual std::vector<QueuedItem> peek(std::string_view domain, std::string_view queue, std::size_t limit) = 0;
  virtual void ack(std::string_view domain, std::string_view queue, std::int64_t id) = 0;  // remove
  // Removes many in one transaction (batched acknowledgements off the hot path).
  virtual void ack_many(std::string_view domain, std::string_view queue, const std::vector<std::int64_t>& ids) = 0;
  virtual void bump_attempts(std::string_view domain, std::string_view queue, std::int64_t id) = 0;
  virtual std::size_t queue_size(std::string_view domain, std::string_view queue) = 0;

  // True when every method above may also be called from other threads than the
  // io thread, concurrently with it (each call is atomic; ids stay increasing per
  // queue in the order the calls took effect). A transport whose library must
  // store an item on its own thread before it returns uses this: the MQTT
  // transport writes an inbound QoS 1 publish on Paho's thread before Paho sends
  // the PUBACK (transports/mqtt/DELIVERY.md). The mapping registry is; a store
  // that is not keeps the io-thread-only contract above.
  virtual bool thread_safe() const { return false; }
};

}  // namespace sb::transport
