// The MQTT transport (SPEC §6): devices as XMPP contacts.
//
// Durability (SPEC §10; DELIVERY.md): an inbound publish is written to the
// durable queue "inbox" before the broker gets its PUBACK, and leaves it once the
// XMPP server has provably read the stanzas made from it (Transport::delivered).
// Leftovers are replayed at start. Commands to devices go through the durable
// queue "outbox" and leave it on the broker's PUBACK; while the broker is down
// they wait there (bounded count and age), and are published in order when it is
// back. Last availability and state are kept as small per-device state, written
// in batches (not a transaction per message).
// Threading: the io thread (MqttClient posts Paho's callbacks to it).
#pragma once
#include "transports/api/factory.hpp"

namespace sb::transport::mqtt {
FactoryEntry factory();
}
