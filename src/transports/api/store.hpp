// What transports may persist, without knowing the registry behind it (the
// mapping registry implements this; tests may use an in-memory one).
// Called on the io thread only. Writes are durable when the call returns unless
// noted; batch where the hot path needs it (SPEC §6: no fsync per message).
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
  virtual std::vector<QueuedItem> peek(std::string_view domain, std::string_view queue, std::size_t limit) = 0;
  virtual void ack(std::string_view domain, std::string_view queue, std::int64_t id) = 0;  // remove
  // Removes many in one transaction (batched acknowledgements off the hot path).
  virtual void ack_many(std::string_view domain, std::string_view queue, const std::vector<std::int64_t>& ids) = 0;
  virtual void bump_attempts(std::string_view domain, std::string_view queue, std::int64_t id) = 0;
  virtual std::size_t queue_size(std::string_view domain, std::string_view queue) = 0;
};

}  // namespace sb::transport
