"""A small synchronous MQTT client for tests (Debian's python3-paho-mqtt 1.6, so
/usr/bin/python3): publish with QoS 1 and wait for the PUBACK, subscribe and wait
for the SUBACK, collect what arrives. paho's network thread reconnects by itself
(every second) when the broker goes away, with the same client id and session."""
import itertools
import ssl
import threading
import time

import paho.mqtt.client as paho

from .servers import HOST

_ids = itertools.count(1)


class Received:
    def __init__(self, msg):
        self.topic = msg.topic
        self.payload = bytes(msg.payload)
        self.qos = msg.qos
        self.retain = bool(msg.retain)
        self.text = self.payload.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"<mqtt {self.topic} qos={self.qos} retain={self.retain} {self.payload[:60]!r}>"


class MqttClient:
    def __init__(self, port, client_id=None, clean_session=True, host=HOST, will=None, tls=None,
                 username=None, password=None):
        """`will`: (topic, payload, qos, retain) for a last will, or None. `tls`: a dict of
        paho tls_set() arguments (ca_certs, certfile, keyfile) for a TLS broker, or None;
        `username`/`password` for a broker with a password_file."""
        self.addr = (host, port)
        self.client_id = client_id or f"sb-e2e-test-{next(_ids)}"
        self.messages = []
        self.connects = 0
        self._cond = threading.Condition()
        self._suback = {}
        self.c = paho.Client(client_id=self.client_id, clean_session=clean_session,
                             protocol=paho.MQTTv311)
        self.c.reconnect_delay_set(min_delay=1, max_delay=1)
        self.c.max_inflight_messages_set(100)
        if tls:
            # TLS_CLIENT: verifies the certificate and the host name (PROTOCOL_TLS is deprecated).
            self.c.tls_set(**{"tls_version": ssl.PROTOCOL_TLS_CLIENT, **tls})
        if username is not None:
            self.c.username_pw_set(username, password)
        if will:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos, retain)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_disconnect = self._on_disconnect
        self._connected = False

    # -- lifecycle ---------------------------------------------------------
    def connect(self, timeout=10):
        self.c.connect_async(*self.addr, keepalive=10)
        self.c.loop_start()
        self.wait_connected(timeout)
        return self

    def wait_connected(self, timeout=10, after=0):
        """Waits until connected (and, with `after`, until more than `after` connects happened)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._connected and self.connects > after):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"MQTT client {self.client_id} not connected to {self.addr} after {timeout}s")
                self._cond.wait(min(left, 0.2))

    def disconnect(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()

    def _on_connect(self, client, userdata, flags, rc):
        with self._cond:
            if rc == 0:
                self._connected = True
                self.connects += 1
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc):
        with self._cond:
            self._connected = False
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self.messages.append(Received(msg))
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._cond:
            self._suback[mid] = granted_qos
            self._cond.notify_all()

    # -- publishing / subscribing -------------------------------------------
    def publish(self, topic, payload, qos=1, retain=False, timeout=10):
        """Publishes and, for QoS > 0, waits until the broker acknowledged it (PUBACK/PUBCOMP)."""
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        if qos > 0:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise TimeoutError(f"no PUBACK for {topic} within {timeout}s (rc={info.rc})")
        return info

    def publish_nowait(self, topic, payload, qos=1, retain=False):
        return self.c.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic, qos=1, timeout=10):
        """Subscribes and waits for the SUBACK; returns the granted QoS."""
        rc, mid = self.c.subscribe(topic, qos)
        if rc != paho.MQTT_ERR_SUCCESS:
            raise RuntimeError(f"subscribe {topic} failed: {paho.error_string(rc)}")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._suback:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no SUBACK for {topic} within {timeout}s")
                self._cond.wait(min(left, 0.2))
            granted = self._suback.pop(mid)[0]
        if granted == 0x80:
            raise RuntimeError(f"subscription to {topic} refused by the broker")
        return granted

    # -- waiting -----------------------------------------------------------
    def wait(self, pred, timeout=10, what="MQTT messages"):
        """Waits until pred(messages) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = pred(self.messages)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"MQTT {self.client_id}: timed out after {timeout}s waiting for {what}; "
                                       f"last messages {self.messages[-5:]}")
                self._cond.wait(min(left, 0.5))

    def wait_message(self, match, timeout=10, what="an MQTT message"):
        return self.wait(lambda ms: next((m for m in ms if match(m)), None), timeout, what)

    def on_topic(self, topic):
        with self._cond:
            return [m for m in self.messages if m.topic == topic]
