"""The MQTT parts of the harness alone, without switchboard: mosquitto keeps a
persistent session across kill -9 and restarts on the same port, the paho helper
publishes/subscribes with acknowledgements, both XMPP servers accept the
mqtt.localhost component, and scripts/demo_device.py behaves as the demo needs."""
import hashlib
import json
import os
import re
import socket

import pytest

from harness import util
from harness.servers import MQTT_DOMAIN, MQTT_SECRET

DEMO_DEVICE = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo_device.py")


def test_mosquitto_session_survives_kill9_and_restart_on_the_same_port(mosquitto, mqtt_clients):
    port, pid = mosquitto.port, mosquitto.pid()
    watcher = mqtt_clients(client_id="harness-watcher", clean_session=False)
    assert watcher.subscribe("home/+/set", qos=1) == 1
    device = mqtt_clients()
    device.publish("home/a/set", "before", qos=1)
    watcher.wait_message(lambda m: m.payload == b"before")
    device.publish("home/a/status", "online", qos=1, retain=True)

    mosquitto.checkpoint()  # the subscription and the retained message are on disk
    mosquitto.kill()
    assert not util.port_open(port) and not util.group_members(pid), "mosquitto survived kill -9"
    mosquitto.start()
    assert mosquitto.port == port

    # The watcher does not subscribe again: only its persisted session routes these.
    watcher.wait_connected(timeout=15, after=1)
    device.wait_connected(timeout=15, after=1)
    for i in range(3):
        device.publish("home/a/set", f"after-{i}", qos=1)
    got = watcher.wait(lambda ms: [m.text for m in ms if m.text.startswith("after-")] if
                       len([m for m in ms if m.text.startswith("after-")]) >= 3 else None, timeout=15,
                       what="3 messages through the restored session")
    assert got == ["after-0", "after-1", "after-2"]

    late = mqtt_clients()
    late.subscribe("home/a/status")
    retained = late.wait_message(lambda m: m.topic == "home/a/status")
    assert retained.retain and retained.payload == b"online"


def test_servers_accept_the_mqtt_component(server):
    # A complete XEP-0114 handshake as MQTT_DOMAIN: the server declares it with this secret.
    with socket.create_connection(("127.0.0.1", server.component_port), timeout=5) as s:
        s.sendall(f"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' "
                  f"to='{MQTT_DOMAIN}'>".encode())
        data = b""
        while not re.search(rb"\sid=['\"]([^'\"]+)['\"]", data):
            chunk = s.recv(4096)
            assert chunk, f"server closed the component stream: {data!r}"
            data += chunk
        stream_id = re.search(rb"\sid=['\"]([^'\"]+)['\"]", data).group(1).decode()
        digest = hashlib.sha1((stream_id + MQTT_SECRET).encode()).hexdigest()
        s.sendall(f"<handshake>{digest}</handshake>".encode())
        data = b""
        while b"handshake" not in data and b"stream:error" not in data:
            chunk = s.recv(4096)
            assert chunk, f"server closed the component stream after the handshake: {data!r}"
            data += chunk
    assert b"<handshake/>" in data or b"<handshake></handshake>" in data, data


@pytest.mark.timeout(60)
def test_demo_device(mosquitto, mqtt_clients, tmp_path):
    watcher = mqtt_clients()
    watcher.subscribe("home/thermo/#", qos=1)
    log = tmp_path / "demo_device.log"
    proc = util.spawn(["/usr/bin/python3",
                       DEMO_DEVICE, "--port", str(mosquitto.port), "--id", "thermo", "--interval", "0.5"], log)
    try:
        online = watcher.wait_message(lambda m: m.topic == "home/thermo/status", timeout=15, what="online")
        assert online.payload == b"online"
        first = watcher.wait_message(lambda m: m.topic == "home/thermo/state", timeout=15, what="a reading")
        doc = json.loads(first.payload)
        assert doc["temperature"] == 21.5 and doc["humidity"] == 40 and first.qos == 1
        # A command is obeyed at once, plain or as JSON.
        for command, expected in (("on", "on"), ('{"state": "off"}', "off")):
            n = len(watcher.on_topic("home/thermo/state"))
            watcher.publish("home/thermo/set", command, qos=1)
            watcher.wait(lambda ms, n=n, e=expected: any(json.loads(m.payload).get("state") == e
                                                         for m in ms[n:] if m.topic == "home/thermo/state"),
                         timeout=5, what=f"state {expected} after {command!r}")
        # Several readings, not one: it keeps publishing.
        watcher.wait(lambda ms: len([m for m in ms if m.topic == "home/thermo/state"]) >= 4, timeout=10)
        # A crash leaves its last will: offline.
        n = len(watcher.on_topic("home/thermo/status"))
        util.kill_group(proc)
        gone = watcher.wait_message(lambda m: m.topic == "home/thermo/status" and m.payload == b"offline",
                                    timeout=30, what="the last will")
        assert len(watcher.on_topic("home/thermo/status")) > n and gone
    finally:
        util.kill_group(proc)
