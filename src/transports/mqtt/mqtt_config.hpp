// The [[mqtt]] block's own keys (SPEC §2, §6); domain, secret and allow are read by
// the app. Every problem is reported through the ConfigReader with the position of
// the offending key or value; parse_mqtt_config() returns nullopt when there was any.
//
//   broker = "tcp://host:port"   tcp:// or mqtt:// (1883), ssl:// or mqtts:// (8883)
//   client_id (required: a fixed id keeps the persistent session), protocol "3.1.1"|"5",
//   username, password | password_file, ca_file, cert_file, key_file (TLS only),
//   keepalive_seconds, session_expiry_seconds (MQTT 5 only, 1..4294967295 = never),
//   max_held_commands, max_held_seconds, and [[mqtt.device]] routes:
//   jid (required), state, command, availability (at least one), online, offline
//   (only with availability), format "text"|"json", body (only with format "json"),
//   command_template (only with command), subscribers (bare JIDs), qos 0..2 (of
//   published commands; subscriptions are always QoS 1), retain, name.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include "common/config_reader.hpp"
#include "transports/mqtt/routes.hpp"

namespace sb::transport::mqtt {

struct BrokerAddress {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  int port = 0;
  std::string uri;  // normalised for Paho: "tcp://host:port" or "ssl://host:port"
};

// nullopt with `error` set when the URL is not scheme://host[:port].
std::optional<BrokerAddress> parse_broker(std::string_view url, std::string& error);

// A bare JID of a user: "local@domain", no resource, no spaces (a light check; the
// core validates JIDs fully).
bool looks_like_bare_jid(std::string_view s);

struct MqttConfig {
  BrokerAddress broker;
  std::string client_id;
  int mqtt_version = 4;  // 4 = MQTT 3.1.1, 5 = MQTT 5 (Paho's MQTTVERSION_3_1_1 / _5)
  std::string username, password;
  std::string ca_file, cert_file, key_file;
  int keepalive_seconds = 30;
  std::uint32_t session_expiry_seconds = 86400;  // MQTT 5 session expiry interval (4294967295: never expires)
  std::size_t max_held_commands = 1000;          // held while the broker is down
  int max_held_seconds = 300;                    // ... and their maximum age
  std::vector<Route> routes;
};

// Reads the block's transport keys and every [[mqtt.device]], then finish()es the
// block (unknown keys are problems). nullopt when a problem was reported.
std::optional<MqttConfig> parse_mqtt_config(ConfigReader& block);

}  // namespace sb::transport::mqtt
