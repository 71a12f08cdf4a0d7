#!/usr/bin/python3
"""A simulated MQTT device for the demo (Debian's python3-paho-mqtt, /usr/bin/python3).

It announces itself with a retained "online" on home/<id>/status (and leaves a
last will "offline" there, so a crash shows as offline), publishes a JSON reading
such as {"temperature": 21.5, "humidity": 40, "state": "off"} on home/<id>/state
every --interval seconds with QoS 1, and obeys commands on home/<id>/set — the
payload "on"/"off" (or "toggle"), or JSON {"state": "on"} — by publishing its new
state at once.

    /usr/bin/python3 scripts/demo_device.py --host 127.0.0.1 --port 1883 --id thermostat
"""
import argparse
import json
import random
import signal
import sys
import threading

import paho.mqtt.client as paho


def parse_command(payload):
    """'on' / 'off' / 'toggle', plain or as JSON {"state": ...}; None if not understood."""
    text = payload.decode("utf-8", errors="replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = text
    if isinstance(doc, dict):
        doc = doc.get("state")
    if isinstance(doc, bool):
        doc = "on" if doc else "off"
    if isinstance(doc, str) and doc.strip().lower() in ("on", "off", "toggle"):
        return doc.strip().lower()
    return None


class Device:
    def __init__(self, args):
        self.args = args
        self.base = f"home/{args.id}"
        self.state = "off"
        self.temperature = 21.5
        self.humidity = 40
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.c = paho.Client(client_id=f"demo-device-{args.id}", clean_session=True)
        # A crash or a lost connection shows as "offline" to everyone (retained).
        self.c.will_set(f"{self.base}/status", "offline", qos=1, retain=True)
        self.c.reconnect_delay_set(min_delay=1, max_delay=5)
        self.c.on_connect = self.on_connect
        self.c.on_message = self.on_message

    def log(self, text):
        print(f"[{self.args.id}] {text}", flush=True)

    def reading(self):
        with self.lock:
            return json.dumps({"temperature": round(self.temperature, 1), "humidity": self.humidity,
                               "state": self.state})

    def publish_state(self):
        payload = self.reading()
        self.c.publish(f"{self.base}/state", payload, qos=1)
        self.log(f"state {payload}")

    def on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            self.log(f"connection refused: {paho.connack_string(rc)}")
            return
        self.log(f"connected to {self.args.host}:{self.args.port}")
        client.publish(f"{self.base}/status", "online", qos=1, retain=True)
        client.subscribe(f"{self.base}/set", qos=1)
        self.publish_state()

    def on_message(self, client, userdata, msg):
        command = parse_command(msg.payload)
        if command is None:
            self.log(f"ignored command {msg.payload[:80]!r}: expected on, off, toggle or {{\"state\": \"on\"}}")
            return
        with self.lock:
            self.state = ("off" if self.state == "on" else "on") if command == "toggle" else command
        self.log(f"command {command!r}")
        self.publish_state()  # at once: the user sees the effect of the command

    def run(self):
        self.c.connect_async(self.args.host, self.args.port, keepalive=30)
        self.c.loop_start()
        try:
            while not self.stop.wait(self.args.interval):
                if self.c.is_connected():
                    with self.lock:
                        self.temperature += random.choice((-0.1, 0.0, 0.1))
                    self.publish_state()
        finally:
            # A clean goodbye: the last will is only for crashes.
            if self.c.is_connected():
                self.c.publish(f"{self.base}/status", "offline", qos=1, retain=True).wait_for_publish(2)
            self.c.disconnect()
            self.c.loop_stop()


def main(argv=None):
    p = argparse.ArgumentParser(description="A simulated MQTT thermostat for the switchboard demo.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--id", default="thermostat", help="device id: topics home/<id>/state, /set, /status")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between readings")
    args = p.parse_args(argv)
    if "/" in args.id or "+" in args.id or "#" in args.id:
        p.error("--id must be a single topic level (no '/', '+' or '#')")
    dev = Device(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dev.stop.set())
    dev.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
