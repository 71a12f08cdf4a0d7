#!/usr/bin/python3
"""A working local demo: Prosody on loopback with demo accounts, switchboard
connected to it, and how to log in with any XMPP client. Ctrl-C stops it all.

Reuses the end-to-end harness (tests/e2e/harness) so the demo and the tests start
servers the same way. Prefers the standard ports (5222 for clients, 5347 for
components) so a client needs no port setting; falls back to free ones.
"""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import util  # noqa: E402
from harness.mosquitto import Mosquitto  # noqa: E402
from harness.prosody import ProsodyServer  # noqa: E402
from harness.servers import GW_DOMAIN, MQTT_DOMAIN, PASSWORD  # noqa: E402
from harness.switchboard import Switchboard  # noqa: E402

DEVICE = "thermostat"

WORK = os.path.join(ROOT, ".demo")


def pick(preferred):
    return preferred if not util.port_open(preferred) else util.free_port()


def main():
    os.environ.setdefault("SWITCHBOARD_BIN", os.path.join(ROOT, "build", "switchboard"))
    os.makedirs(WORK, exist_ok=True)
    prosody = ProsodyServer(os.path.join(WORK, "prosody"))
    prosody.c2s_port = pick(5222)
    prosody.component_port = pick(5347)
    prosody._write_config()
    prosody.start()
    for user in ("alice", "bob", "admin"):
        prosody.register(user, PASSWORD)
    broker = Mosquitto(os.path.join(WORK, "mosquitto"), port=pick(1883))
    broker.start()
    device = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "demo_device.py"), "--host", "127.0.0.1",
                               "--port", str(broker.port), "--id", DEVICE],
                              stdout=open(os.path.join(WORK, "device.log"), "w"), stderr=subprocess.STDOUT)
    sb = Switchboard(os.path.join(WORK, "switchboard"), prosody, log_level="info",
                     loopback={"emit_interval_ms": 500},
                     mqtt={"broker": broker.url, "client_id": "switchboard-demo"},
                     mqtt_devices=[{"name": "Demo thermostat", "jid": "{id}", "state": "home/{id}/state",
                                    "command": "home/{id}/set", "availability": "home/{id}/status",
                                    "format": "json", "body": "{/temperature} °C, {/humidity} % humidity, {/state}",
                                    "subscribers": ["alice@localhost"], "qos": 1}])
    try:
        sb.start()
    except Exception:
        print(util.tail(sb.log_path), file=sys.stderr)
        device.kill()
        broker.stop()
        prosody.stop()
        raise
    print(f"""
switchboard demo is running (logs: {sb.log_path}, {prosody.log_path})

  XMPP server     Prosody on 127.0.0.1:{prosody.c2s_port} (no TLS; plain login allowed on loopback)
  accounts        alice@localhost, bob@localhost, admin@localhost   password: {PASSWORD}
  gateways        {MQTT_DOMAIN}  (MQTT: mosquitto on 127.0.0.1:{broker.port}, one simulated device)
                  {GW_DOMAIN}  (the loopback test transport: echo, counter)
  health          http://127.0.0.1:{sb.http_port}/healthz     metrics: http://127.0.0.1:{sb.http_port}/metrics

Log in with any XMPP client (Gajim, Dino, Profanity, Conversations on this machine) as
alice@localhost, server 127.0.0.1 port {prosody.c2s_port}, and allow unencrypted connections. Then:
  - Register with {MQTT_DOMAIN} (service discovery, or any client's "register" action; no fields needed).
    alice is configured as a subscriber of {DEVICE}@{MQTT_DOMAIN}: its readings arrive every few seconds.
    Add {DEVICE}@{MQTT_DOMAIN} to your roster to see it online; send it "on", "off" or "toggle".
    The ad-hoc command "devices" on {MQTT_DOMAIN} lists the devices with their last state.
  - Service discovery on {GW_DOMAIN}: the gateway, its features and commands; register there.
  - Chat with echo@{GW_DOMAIN}: everything you send comes back.
  - Send "5" to counter@{GW_DOMAIN}: it counts to five, one message every half second.
  - Send "down" / "up" to backend@{GW_DOMAIN}: the gateway's presence follows.
  - As admin@localhost: ad-hoc commands on {GW_DOMAIN} list users and show statistics.
For example with profanity:  profanity -a alice   (after '/account add alice', '/account set alice jid alice@localhost',
  '/account set alice server 127.0.0.1', '/account set alice port {prosody.c2s_port}', '/account set alice tls allow')

Ctrl-C stops everything.""", flush=True)
    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop["now"] and sb.alive() and prosody.alive():
            time.sleep(0.5)
    finally:
        print("\nstopping...", flush=True)
        sb.cleanup()
        device.terminate()
        try:
            device.wait(5)
        except subprocess.TimeoutExpired:
            device.kill()
        broker.stop()
        prosody.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
