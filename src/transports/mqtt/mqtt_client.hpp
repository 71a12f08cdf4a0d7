// The Paho edge of the MQTT transport (SPEC §6): a thin wrapper over Paho MQTT
// C++ 1.2 / Paho C 1.3 (MQTTAsync) that never blocks the io thread.
//
// Threading (DESIGN.md "Threads"):
//  - Every public method is called on the io thread and returns at once.
//  - Paho calls that can take Paho's global mutex (publish, subscribe, connect,
//    disconnect) run on a private one-thread worker, never on the io thread:
//    Paho C holds that mutex while it runs messageArrived (which stores the
//    message, see below), so an io thread calling Paho directly would wait for it.
//  - Paho callbacks run on Paho's threads: they copy what they need, hand it to
//    the io executor and return. Hand-offs (inbound messages, publish results,
//    publishes to the worker) are batched: one post per batch, not per message.
//    Handlers and `done` callbacks run on the io thread, except Handlers::persist.
//
// Outbound publishes (issue 3, DELIVERY.md "Outbound publishes"): Paho C refuses a
// publish (-12) once 100 wait in its command queue, even while connected, and its
// send thread, when blocked on the broker's MQTT 5 Receive Maximum, is not woken by
// a PUBACK. So publish() never hands Paho more than a window of publishes that have
// not completed (PublishWindow: below Paho's buffer, at most the broker's Receive
// Maximum); the rest wait, in order, on the io thread. Any number can be published
// at once. Each `done` says how the publish ended (PublishStatus): a refusal by the
// broker is told apart from a lost link and from a lack of room.
//
// Delivery (SPEC §10, see DELIVERY.md): for an inbound QoS 1/2 publish Paho C
// calls messageArrived BEFORE it sends the PUBACK. So messageArrived calls
// Handlers::persist on Paho's thread — it stores the message durably — and only
// then posts it to the io thread and returns; the PUBACK follows. A kill -9
// before persist returned leaves the message un-acked: the broker redelivers it
// from the persistent session. No thread waits for another (issue 3: a per-
// message hand-off between Paho's thread and the io thread was the hot spot).
// QoS 0 messages are not persisted.
//
// Ownership/lifetime: MqttClient owns the Paho client. Paho's callbacks hold only
// a shared state that outlives both; they reach handlers through the io thread,
// which checks that the MqttClient still exists, and call persist under a lock
// that the destructor takes, so persist is never called once the MqttClient is
// gone. Destroying the MqttClient (on the io thread) may block briefly while Paho
// joins its threads: do it at shutdown, after stop().
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include "transports/mqtt/publish_status.hpp"
#include "transports/mqtt/publish_window.hpp"

namespace mqtt { class async_client; class iaction_listener; }

namespace sb::transport::mqtt {

struct ClientOptions {
  std::string broker;      // tcp://host:port, ssl://host:port (mqtt://, mqtts:// accepted)
  std::string client_id;   // fixed: the persistent session is keyed by it
  std::string username, password;
  std::string ca_file, cert_file, key_file;  // TLS: trust store, client cert, client key
  int protocol = 4;        // 4 = MQTT 3.1.1, 5 = MQTT 5
  int keepalive_s = 30;
  // MQTT 5 session expiry interval (a Four Byte Integer, MQTT 5 §3.1.2.11.2): must
  // be > 0 to persist; 0xFFFFFFFF means the session never expires. Sent unchanged.
  std::uint32_t session_expiry_s = 86400;
  int connect_timeout_s = 10;
  int min_retry_s = 1, max_retry_s = 60;     // Paho automatic reconnect backoff
};

// "mqtt://h:p" -> "tcp://h:p", "mqtts://h:p" -> "ssl://h:p"; others unchanged.
std::string normalize_broker_uri(const std::string& uri);

class MqttClient {
 public:
  using Done = std::function<void(PublishStatus status, std::string error)>;
  // At most this many publishes handed to Paho and not completed (fewer when the
  // broker's MQTT 5 Receive Maximum is lower). Paho's own limit on publishes waiting
  // in its queue (create_options.maxBufferedMessages) is set above it.
  static constexpr std::size_t kPahoWindow = 64;
  static constexpr int kPahoMaxBuffered = 2 * int(kPahoWindow);
  struct Handlers {
    std::function<void()> on_connected;  // connected or reconnected (subscriptions re-sent)
    std::function<void(std::string why)> on_disconnected;
    // Runs on a Paho thread for every inbound QoS >= 1 publish, before its PUBACK:
    // stores it durably and returns a token (> 0), or 0 when it could not. Must be
    // thread-safe and must not wait for the io thread (Paho holds its mutex).
    std::function<std::int64_t(const std::string& topic, const std::string& payload)> persist;
    // On the io thread, in arrival order; `stored` is persist's token (0 for QoS 0,
    // or when persist failed or is not set).
    std::function<void(std::string topic, std::string payload, int qos, bool retained, std::int64_t stored)>
        on_message;
  };

  MqttClient(boost::asio::any_io_executor ex, ClientOptions opts, Handlers handlers);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Async connect; Paho's automatic reconnect (min_retry_s..max_retry_s) afterwards.
  // A first connect that fails is retried by us with the same backoff bounds.
  void start();
  // Remembered and (re)sent after every connect: a SUBSCRIBE for a filter the
  // session already holds is harmless (MQTT 3.1.1 §3.8.4: it replaces it).
  void subscribe(std::vector<std::pair<std::string, int>> filters);
  // `done(status, error)` runs on the io thread, never inside publish(): Ok after the
  // broker's PUBACK (QoS 1), PUBCOMP (QoS 2), or once written (QoS 0); NotConnected
  // at once when not connected, and for a publish still queued here when the link
  // drops; otherwise as classify_publish_failure() says. Publishes go out in call
  // order; any number may be queued.
  void publish(std::string topic, std::string payload, int qos, bool retain, Done done);
  bool connected() const;
  // Graceful DISCONNECT keeping the session; idempotent, non-blocking. `done` runs on
  // the io thread once the DISCONNECT went out (or failed): destroy the client after
  // it, so inbound messages already in flight are handled and acked first.
  void stop(std::function<void()> done = {});

  struct Shared;  // state shared with Paho's threads (defined in the .cpp)

 private:
  struct PendingPublish {
    std::string topic, payload;
    int qos;
    bool retain;
    Done done;
  };
  void on_connected_io();
  void on_publish_completed_io();
  void pump_paho();
  void fail_waiting(const std::string& why);
  void on_link_down_io(std::string why);
  void on_connect_failed_io(std::string why);
  void do_connect();
  void send_subscriptions();

  boost::asio::any_io_executor ex_;
  ClientOptions opts_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<::mqtt::iaction_listener> connect_listener_;  // Paho calls it on every (re)connect
  std::unique_ptr<::mqtt::async_client> cli_;
  std::unique_ptr<boost::asio::thread_pool> worker_;  // runs Paho calls, see above
  std::vector<std::pair<std::string, int>> filters_;
  bool started_ = false, stopped_ = false;
  bool link_up_ = false, down_reported_ = false, ever_connected_ = false;
  int connect_attempt_ = 0;
  std::unique_ptr<boost::asio::steady_timer> retry_timer_;
  PublishWindow<PendingPublish> window_{kPahoWindow};  // io thread only
};

}  // namespace sb::transport::mqtt
