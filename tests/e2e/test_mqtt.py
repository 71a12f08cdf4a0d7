"""SPEC §6 end to end: the MQTT transport of the built switchboard against a REAL
mosquitto (fresh per test) and a real Prosody and ejabberd (the `server` fixture),
with paho-mqtt test clients playing the devices. They need a binary with the MQTT
transport built in and are skipped, naming the reason, when `--check-config`
rejects [[mqtt]]. test_mqtt_harness.py proves the harness parts alone."""
import base64
import collections
import json
import os
import re
import threading
import time

import pytest

from harness import util
from harness.mosquitto import Mosquitto
from harness.mqtt_client import MqttClient
from harness.servers import MQTT_DOMAIN
from harness.xep import disco_info, disco_items, execute_command, register

ROUTE = {"jid": "{id}", "state": "home/{id}/state", "command": "home/{id}/set", "availability": "home/{id}/status",
         "format": "json", "body": "{/temperature} °C", "subscribers": ["alice@localhost"], "qos": 1}
KITCHEN = f"kitchen@{MQTT_DOMAIN}"
STATE, COMMAND, STATUS = "home/kitchen/state", "home/kitchen/set", "home/kitchen/status"
NS_ROSTER = "jabber:iq:roster"
CLIENT_ID = "switchboard-e2e"  # fixed: a persistent session (SPEC §6)


# -- fixtures ------------------------------------------------------------------------
@pytest.fixture
def gateway(switchboard_factory, mosquitto):
    """gateway(**overrides) -> a running switchboard with only an [[mqtt]] block on
    MQTT_DOMAIN, wired to `mosquitto`, with the ROUTE device route."""
    def make(mqtt_allow=None, route=None, start=True, **mqtt_keys):
        keys = {"broker": mosquitto.url, "client_id": CLIENT_ID, "keepalive_seconds": 5}
        keys.update(mqtt_keys)
        sb = switchboard_factory(with_loopback=False, mqtt=keys, mqtt_devices=[route or ROUTE],
                                 mqtt_allow=mqtt_allow)
        rc, out = sb.check_config()
        if "not built into this switchboard" in out and not os.environ.get("SB_E2E_REQUIRE_BINARY"):
            # Only outside scripts/test.sh: there, a binary without MQTT is a failure.
            pytest.skip(f"the binary has no MQTT transport: {out.strip()}")
        assert rc == 0, f"--check-config refused the test config: {out}"
        return sb.start(timeout=30) if start else sb
    return make


def registered(connect, user):
    """A logged-in client of `user`, registered on the MQTT domain with an empty form."""
    c = connect(user)
    reply = register(c, MQTT_DOMAIN)
    assert reply.get("type") == "result", f"{user} could not register on {MQTT_DOMAIN}: {reply}"
    return c


def subscribe_to(client, jid, timeout=15):
    """Presence subscribe to `jid`; waits until the user's server shows it approved:
    a `subscribed` presence (ejabberd forwards it) or the user's roster item with
    subscription to/both (Prosody only updates the roster)."""
    client.send_presence(jid, "subscribe")

    def approved():
        if any(p.bare_from == jid and p.type == "subscribed" for p in client.snapshot()[1]):
            return True
        reply = client.iq(None, "get", f"<query xmlns='{NS_ROSTER}'/>")
        return any(item.get("jid") == jid and item.get("subscription") in ("to", "both")
                   for item in reply.iter(f"{{{NS_ROSTER}}}item"))
    util.wait_for(approved, timeout, interval=0.2, what=f"{client.jid}'s subscription to {jid} to be approved")


def chats_from(client, jid):
    return [m for m in client.snapshot()[0] if m.bare_from == jid and m.type == "chat" and m.body is not None]


def presences_from(client, jid):
    return [p for p in client.snapshot()[1] if p.bare_from == jid]


def reading(temperature, **extra):
    return json.dumps({"temperature": temperature, "humidity": 40, **extra})


# == MQTT -> XMPP ==========================================================================
def test_disco_identity_is_gateway_mqtt(gateway, connect):
    gateway()
    identities, features, _ = disco_info(connect("alice"), MQTT_DOMAIN)
    assert ("gateway", "mqtt") in identities, identities
    assert "jabber:iq:register" in features


def test_state_reaches_config_and_roster_subscribers(gateway, mqtt_clients, connect):
    gateway()
    alice, bob = registered(connect, "alice"), registered(connect, "bob")
    device = mqtt_clients()
    device.publish(STATE, reading(21.5))
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15,
                             what="the kitchen's reading")
    assert got.body == "21.5 °C"
    assert got.to.split("/")[0] == "alice@localhost"

    # bob is allowed and registered but not a config subscriber: he subscribes to
    # the device's presence (adds it to his roster) and gets what follows.
    subscribe_to(bob, KITCHEN)
    device.publish(STATE, reading(22.5))
    assert bob.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15).body == "22.5 °C"
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "22.5 °C", timeout=15)
    assert "21.5 °C" not in [m.body for m in chats_from(bob, KITCHEN)], "bob got a reading from before he subscribed"


def test_devices_command_lists_devices_with_their_last_state(gateway, mqtt_clients, connect):
    """Issue 3 §6: an ad-hoc command lists the devices with their last state; disco#items too."""
    gateway()
    alice = registered(connect, "alice")
    device = mqtt_clients()
    device.publish("home/kitchen/status", "online")
    device.publish(STATE, reading(19.5))
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "19.5 °C", timeout=15)
    reply = execute_command(alice, MQTT_DOMAIN, "devices")
    assert reply.get("type") == "result", reply
    fields = {f.get("label"): f.findtext("{jabber:x:data}value") for f in reply.iter("{jabber:x:data}field")}
    assert fields.get("kitchen") == "online, last state: 19.5 °C", fields
    assert KITCHEN in [jid for jid, _node, _name in disco_items(alice, MQTT_DOMAIN)], "disco#items lists the device"


# == XMPP -> MQTT ==========================================================================
def test_command_is_published_and_receipt_follows(gateway, mqtt_clients, connect):
    gateway()
    alice = registered(connect, "alice")
    watcher = mqtt_clients()
    watcher.subscribe(COMMAND, qos=1)
    mqtt_clients().publish(STATE, reading(20))  # the device is now known
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "20 °C", timeout=15)

    mid = alice.send_message(KITCHEN, "on", receipt=True, msg_id="cmd-on-1")
    got = watcher.wait_message(lambda m: m.topic == COMMAND, timeout=15, what="the command on home/kitchen/set")
    assert got.payload == b"on" and got.qos == 1 and not got.retain
    rcpt = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.receipt_for == mid, timeout=15,
                              what="the XEP-0184 receipt")
    assert rcpt.type != "error"
    assert not [m for m in alice.snapshot()[0] if m.type == "error"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_thousand_pipelined_commands_are_published_once_in_order_with_receipts(gateway, mqtt_clients, connect,
                                                                                  protocol):
    """Issue 3: a client sends 1000 commands back to back without waiting. Each reaches
    the command topic exactly once, in order, promptly while the broker is up, and
    each gets its XEP-0184 receipt. (Paho C refuses a publish with error -12 when
    100 publishes wait in its command queue, even while connected: a command that
    hit that must not wait for a reconnect that never comes.)"""
    n = 1000
    gateway(**({"protocol": "5"} if protocol == "5" else {}))
    alice = registered(connect, "alice")
    watcher = mqtt_clients()
    watcher.subscribe(COMMAND, qos=1)
    mqtt_clients().publish(STATE, reading(20))  # the device is now known
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "20 °C", timeout=15)

    ids = [f"burst-{i}" for i in range(n)]
    wanted = set(ids)
    # One write: all 1000 stanzas are on the wire before the first PUBACK can come back.
    alice.send_raw("".join(f"<message to='{KITCHEN}' type='chat' id='{mid}'><body>{mid}</body>"
                           f"<request xmlns='urn:xmpp:receipts'/></message>" for mid in ids))
    start = time.monotonic()

    def published(ms):
        got = [m.text for m in ms if m.topic == COMMAND]
        return got if len(got) >= n else None
    try:
        got = watcher.wait(published, timeout=60, what=f"the {n} commands on {COMMAND}")
    except TimeoutError:
        got = [m.text for m in watcher.on_topic(COMMAND)]
        got_set = set(got)
        pytest.fail(f"only {len(got)} of {n} commands were published within 60 s "
                    f"(first missing: {next((i for i in ids if i not in got_set), None)})")
    elapsed = time.monotonic() - start

    def receipts(ms, _ps=None):
        return {m.receipt_for for m in ms if m.bare_from == KITCHEN and m.receipt_for in wanted}
    try:
        alice.wait(lambda ms, _ps: len(receipts(ms)) >= n, timeout=max(5.0, 60 - elapsed),
                   what=f"{n} receipts")
    except TimeoutError:
        pytest.fail(f"{len(receipts(alice.snapshot()[0]))} of {n} receipts within 60 s")
    time.sleep(1.0)  # anything duplicated would be on its way by now
    got = [m.text for m in watcher.on_topic(COMMAND)]
    assert len(got) == n, f"{len(got) - n} commands were published more than once"
    assert got == ids, f"out of order from index {next(i for i, (a, b) in enumerate(zip(got, ids)) if a != b)}"
    errors = [m for m in alice.snapshot()[0] if m.type == "error"]
    assert not errors, f"{len(errors)} commands were refused, e.g. {errors[:3]}"
    rcpt = [m.receipt_for for m in alice.snapshot()[0] if m.receipt_for in wanted]
    assert len(rcpt) == n, f"{len(rcpt) - n} receipts came twice"
    print(f"{n} commands published in {elapsed:.1f} s")


@pytest.mark.timeout(120)
def test_command_the_broker_refuses_gets_an_error_and_is_not_retried(gateway, connect, tmp_path):
    """A failure that is not a disconnection must not leave a command waiting or
    retried for ever. Over MQTT 5 a broker says why it refused a publish (PUBACK
    reason 0x87 "not authorized", MQTT 5 §3.4.2.1): the sender gets a `forbidden`
    error at once, no receipt, and the next command (allowed) still goes out."""
    broker = Mosquitto(tmp_path / "acl-mosquitto")
    acl = tmp_path / "acl-mosquitto" / "acl"
    # Anonymous clients: readings in, commands only on the living room's topic.
    acl.write_text("topic readwrite home/+/state\ntopic read home/+/set\ntopic write home/living/set\n")
    with open(broker.config_path, "a") as f:
        f.write(f"acl_file {acl}\n")
    broker.start()
    device = watcher = None
    try:
        sb = gateway(broker=broker.url, protocol="5")
        alice = registered(connect, "alice")
        device = MqttClient(broker.port).connect()
        watcher = MqttClient(broker.port).connect()
        watcher.subscribe("home/+/set", qos=1)
        for room, t in (("kitchen", 20), ("living", 21)):
            device.publish(f"home/{room}/state", reading(t))
            alice.wait_message(lambda m, room=room, t=t: m.bare_from == f"{room}@{MQTT_DOMAIN}" and
                               m.body == f"{t} °C", timeout=15)

        mid = alice.send_message(KITCHEN, "on", receipt=True, msg_id="refused-1")
        err = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "error", timeout=15,
                                 what="an error for the refused command")
        assert err.id == mid and err.condition == "forbidden", err.xml
        assert "not authorized" in (err.error_text or ""), err.xml

        living = f"living@{MQTT_DOMAIN}"
        ok = alice.send_message(living, "on", receipt=True, msg_id="allowed-1")
        watcher.wait_message(lambda m: m.topic == "home/living/set" and m.payload == b"on", timeout=15)
        alice.wait_message(lambda m: m.receipt_for == ok, timeout=15, what="the receipt of the allowed command")

        time.sleep(2)  # a command retried for ever would show by now (first retry: 200 ms)
        assert not [m for m in alice.snapshot()[0] if m.receipt_for == mid], "a receipt for a refused command"
        assert not [m for m in watcher.on_topic(COMMAND)], "the broker published a refused command"
        retries = re.findall(r".*(?:not confirmed|will retry|retrying).*", sb.log())
        assert not retries, f"the refused command was retried: {retries[:3]}"
    finally:
        for c in (device, watcher):
            if c:
                c.disconnect()
        broker.cleanup()


# == availability and its persistence =======================================================
@pytest.mark.timeout(180)
def test_availability_becomes_presence_and_survives_restart(gateway, mqtt_clients, connect):
    sb = gateway()
    alice, bob = registered(connect, "alice"), registered(connect, "bob")
    device = mqtt_clients()
    device.publish(STATUS, "online")  # not retained: after a restart only switchboard's memory knows it
    alice.wait_presence(lambda p: p.bare_from == KITCHEN and p.type == "available", timeout=15,
                        what="available from the device")
    device.publish(STATUS, "offline")
    alice.wait_presence(lambda p: p.bare_from == KITCHEN and p.type == "unavailable", timeout=15,
                        what="unavailable from the device")

    subscribe_to(bob, KITCHEN)
    device.publish(STATUS, "online")
    bob.wait_presence(lambda p: p.bare_from == KITCHEN and p.type == "available", timeout=15,
                      what="available to the roster subscriber")

    # Restart; bob logs in again: his server probes the device (subscription "to"),
    # and switchboard answers from its persisted last state.
    sb.restart()
    bob.disconnect()
    bob2 = connect("bob")
    p = bob2.wait_presence(lambda p: p.bare_from == KITCHEN and p.type in ("available", "unavailable"),
                           timeout=20, what="the device's presence after restart (online last)")
    assert p.type == "available", p

    device.publish(STATUS, "offline")
    bob2.wait_presence(lambda p: p.bare_from == KITCHEN and p.type == "unavailable", timeout=15)
    sb.restart()
    bob2.disconnect()
    bob3 = connect("bob")
    # An explicit probe too (what a server sends at login), answered the same way.
    bob3.send_raw(f"<presence type='probe' to='{KITCHEN}'/>")
    p = bob3.wait_presence(lambda p: p.bare_from == KITCHEN and p.type in ("available", "unavailable"),
                           timeout=20, what="the device's presence after restart (offline last)")
    assert p.type == "unavailable", p


def test_retained_messages_seed_the_device_at_start(gateway, mqtt_clients, connect):
    sb = gateway()
    alice = registered(connect, "alice")
    assert sb.terminate()[0] == 0
    # A new client id: no session at the broker queues anything for it, so what
    # follows can only arrive as retained messages at subscription.
    with open(sb.config_path) as f:
        cfg = f.read()
    assert f'client_id = "{CLIENT_ID}"' in cfg
    with open(sb.config_path, "w") as f:
        f.write(cfg.replace(f'client_id = "{CLIENT_ID}"', 'client_id = "switchboard-e2e-fresh"'))
    device = mqtt_clients()
    device.publish(STATUS, "online", retain=True)
    device.publish(STATE, reading(16.5), retain=True)
    sb.start(timeout=30)
    alice.wait_presence(lambda p: p.bare_from == KITCHEN and p.type == "available", timeout=15,
                        what="available from the retained status")
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15)
    assert got.body == "16.5 °C"


# == broker down: commands held ==============================================================
@pytest.mark.timeout(180)
def test_commands_held_while_broker_is_down_are_published_in_order(gateway, mosquitto, mqtt_clients, connect):
    sb = gateway()
    alice = registered(connect, "alice")
    watcher = mqtt_clients(client_id="e2e-command-watcher", clean_session=False)
    watcher.subscribe(COMMAND, qos=1)
    mqtt_clients().publish(STATE, reading(19))
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "19 °C", timeout=15)
    mosquitto.checkpoint()  # the watcher's session is on disk, so it survives the kill

    mosquitto.kill()
    util.wait_for(lambda: (sb.component_health(MQTT_DOMAIN) or {}).get("backend") == "down", 30, interval=0.2,
                  what="switchboard to notice the broker is gone")
    ids = []
    for i in range(5):
        ids.append(alice.send_message(KITCHEN, f"cmd-{i}", receipt=True, msg_id=f"held-{i}"))
    # A ping round trip through the gateway: the five commands were processed.
    assert alice.iq(MQTT_DOMAIN, "get", "<ping xmlns='urn:xmpp:ping'/>").get("type") == "result"
    msgs = alice.snapshot()[0]
    assert not [m for m in msgs if m.type == "error"], f"a held command was refused: {msgs[-5:]}"
    assert not [m for m in msgs if m.receipt_for in ids], "a receipt came before the broker had the command"

    mosquitto.start()
    got = watcher.wait(lambda ms: [m.text for m in ms if m.topic == COMMAND]
                       if len([m for m in ms if m.topic == COMMAND]) >= 5 else None,
                       timeout=90, what="the 5 held commands after the broker restart")
    assert got == [f"cmd-{i}" for i in range(5)], got
    for mid in ids:
        rc = alice.wait_message(lambda m, mid=mid: m.receipt_for == mid, timeout=30, what=f"receipt for {mid}")
        assert rc.bare_from == KITCHEN and rc.type != "error"
    sb.wait_healthy(timeout=30)


@pytest.mark.timeout(180)
def test_held_commands_survive_kill9_of_switchboard(gateway, mosquitto, mqtt_clients, connect):
    """"held durably": commands accepted while the broker is down outlive a crash of switchboard."""
    sb = gateway()
    alice = registered(connect, "alice")
    watcher = mqtt_clients(client_id="e2e-command-watcher-2", clean_session=False)
    watcher.subscribe(COMMAND, qos=1)
    mqtt_clients().publish(STATE, reading(15))
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "15 °C", timeout=15)
    mosquitto.checkpoint()
    mosquitto.kill()
    util.wait_for(lambda: (sb.component_health(MQTT_DOMAIN) or {}).get("backend") == "down", 30, interval=0.2,
                  what="switchboard to notice the broker is gone")
    ids = [alice.send_message(KITCHEN, f"crash-{i}", receipt=True, msg_id=f"crash-{i}") for i in range(3)]
    sb.wait_log(r"holding a command", count=3, timeout=15)
    sb.kill()
    sb.start(wait_healthy=False)
    sb.wait_log(r"authenticated to", count=2, timeout=30)  # the second start is on the XMPP server
    mosquitto.start()
    sb.wait_healthy(timeout=90)
    got = watcher.wait(lambda ms: [m.text for m in ms if m.topic == COMMAND]
                       if len([m for m in ms if m.topic == COMMAND]) >= 3 else None,
                       timeout=60, what="the 3 held commands after the crash and the broker restart")
    assert got[:3] == [f"crash-{i}" for i in range(3)], got
    for mid in ids:
        alice.wait_message(lambda m, mid=mid: m.receipt_for == mid, timeout=30, what=f"receipt for {mid}")


@pytest.mark.timeout(120)
def test_commands_past_the_hold_bound_get_an_error(gateway, mosquitto, mqtt_clients, connect):
    sb = gateway(max_held_commands=2)
    alice = registered(connect, "alice")
    mqtt_clients().publish(STATE, reading(17))
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "17 °C", timeout=15)
    mosquitto.stop()
    util.wait_for(lambda: (sb.component_health(MQTT_DOMAIN) or {}).get("backend") == "down", 30, interval=0.2,
                  what="switchboard to notice the broker is gone")
    for i in range(3):
        alice.send_message(KITCHEN, f"cmd-{i}", msg_id=f"bound-{i}")
    err = alice.wait_message(lambda m: m.type == "error", timeout=15, what="an error for the third command")
    assert err.bare_from == KITCHEN and err.condition == "recipient-unavailable", err
    assert err.id == "bound-2", f"the error should answer the command that did not fit: {err.xml}"
    assert err.error_text, "the error should say why, in words"


# == kill -9 of switchboard during a QoS 1 stream ============================================
@pytest.mark.timeout(300)
def test_switchboard_kill9_during_qos1_stream_loses_nothing(gateway, mqtt_clients, connect, server):
    n = 200
    sb = gateway()
    alice = registered(connect, "alice")
    device = mqtt_clients()
    expected = {f"{i} °C" for i in range(1, n + 1)}

    def readings(ms, _ps=None):
        return [m for m in ms if m.bare_from == KITCHEN and m.type == "chat" and m.body in expected]

    failures = []

    def publish_all():
        try:
            for i in range(1, n + 1):
                device.publish(STATE, json.dumps({"temperature": i}), qos=1, timeout=30)
                time.sleep(0.02)
        except Exception as e:  # reported by the main thread
            failures.append(e)
    t = threading.Thread(target=publish_all, daemon=True)
    t.start()
    alice.wait(lambda ms, _: len(readings(ms)) >= 50, timeout=60, what="the first 50 readings")
    sb.kill()
    before = readings(alice.snapshot()[0])
    t.join(60)
    assert not t.is_alive() and not failures, f"the device could not publish: {failures}"
    assert len(before) < n, "every reading arrived before the kill; nothing was tested"

    sb.start(timeout=30)
    try:
        alice.wait(lambda ms, _: expected <= {m.body for m in readings(ms)}, timeout=120,
                   what=f"all {n} readings after the restart")
    finally:
        everything = readings(alice.snapshot()[0])
        got = {m.body for m in everything}
        print(f"[{server.name}] before kill: {len(before)}, total received: {len(everything)}, "
              f"missing: {sorted(expected - got, key=lambda b: int(b.split()[0]))[:20]}")
    by_body = collections.defaultdict(list)
    for m in everything:
        by_body[m.body].append(m)
    dups = {b: ms for b, ms in by_body.items() if len(ms) > 1}
    for body, copies in dups.items():
        oids = {m.origin_id for m in copies}
        assert None not in oids and len(oids) == 1, f"{body} arrived {len(copies)}x with origin-ids {oids}"
    print(f"[{server.name}] duplicates (same origin-id): {sum(len(c) - 1 for c in dups.values())}")


# == errors and bad input ====================================================================
def test_unauthorised_user_and_unknown_device(gateway, mqtt_clients, connect):
    gateway(mqtt_allow=["alice@localhost", "admin@localhost"])
    watcher = mqtt_clients()
    watcher.subscribe(COMMAND, qos=1)
    alice = registered(connect, "alice")
    mqtt_clients().publish(STATE, reading(18))
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "18 °C", timeout=15)

    bob = connect("bob")
    bob.send_message(KITCHEN, "from-bob")
    err = bob.wait_message(lambda m: m.bare_from == KITCHEN, timeout=15, what="a reply to bob")
    assert err.type == "error" and err.condition == "forbidden", err

    alice.send_message(f"nothing@{MQTT_DOMAIN}", "on")
    err = alice.wait_message(lambda m: m.bare_from == f"nothing@{MQTT_DOMAIN}", timeout=15, what="a reply")
    assert err.type == "error" and err.condition == "item-not-found", err

    alice.send_message(KITCHEN, "from-alice")
    watcher.wait_message(lambda m: m.payload == b"from-alice", timeout=15)
    assert [m.text for m in watcher.on_topic(COMMAND)] == ["from-alice"], "bob's command reached the device"


def test_invalid_json_is_delivered_raw_and_logged(gateway, mqtt_clients, connect):
    sb = gateway()
    alice = registered(connect, "alice")
    mqtt_clients().publish(STATE, b'{"temperature": 21.5,,, not json')
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15)
    assert got.body == '{"temperature": 21.5,,, not json'
    sb.wait_log(r"delivered raw", timeout=10)


def test_binary_payload_is_encoded(gateway, mqtt_clients, connect):
    gateway()
    alice = registered(connect, "alice")
    payload = bytes(range(256))
    mqtt_clients().publish(STATE, payload)
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15)
    assert got.body.startswith("[binary payload"), got.body[:100]
    assert "256" in got.body
    b64 = re.search(r"base64:\s*([A-Za-z0-9+/=]+)", got.body)
    assert b64 and base64.b64decode(b64.group(1)) == payload, "the user cannot recover the bytes"


@pytest.mark.timeout(120)
def test_one_mebibyte_payload_is_truncated_and_the_process_survives(gateway, mqtt_clients, connect):
    sb = gateway()
    alice = registered(connect, "alice")
    device = mqtt_clients()
    device.publish(STATE, b"x" * (1 << 20), timeout=30)
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=30)
    assert got.body.startswith("xxxx")
    assert len(got.body.encode()) < 70 * 1024, f"body of {len(got.body)} chars"
    assert "truncat" in got.body.lower(), got.body[-200:]
    assert sb.alive() and sb.healthz()[0] == 200
    device.publish(STATE, reading(23.5))  # and it still works
    alice.wait_message(lambda m: m.bare_from == KITCHEN and m.body == "23.5 °C", timeout=15)


# == the domain's presence follows the broker ================================================
@pytest.mark.timeout(180)
def test_broker_down_makes_the_domain_unavailable(gateway, mosquitto, connect):
    sb = gateway()
    alice = registered(connect, "alice")
    subscribe_to(alice, MQTT_DOMAIN)
    alice.wait_presence(lambda p: p.bare_from == MQTT_DOMAIN and p.type == "available", timeout=15,
                        what="the domain available")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"

    mosquitto.stop()
    util.wait_for(lambda: sb.healthz()[0] == 503, 30, interval=0.2, what="/healthz 503")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "down"
    n = len(alice.snapshot()[1])
    alice.wait(lambda _ms, ps: any(p.bare_from == MQTT_DOMAIN and p.type == "unavailable" for p in ps),
               timeout=15, what="the domain unavailable")

    mosquitto.start()
    sb.wait_healthy(timeout=90)
    alice.wait(lambda _ms, ps: any(p.bare_from == MQTT_DOMAIN and p.type == "available" for p in ps[n:]),
               timeout=15, what="the domain available again")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"
