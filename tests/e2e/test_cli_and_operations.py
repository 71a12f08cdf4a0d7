"""SPEC §1, §5, §9 and §4 domain presence, as an operator sees them: the command
line, config problems with their line, the single-instance lock, /metrics with
real counters, and the domain's presence following the backend."""
import os
import subprocess
import urllib.request

import pytest

from harness.servers import GW_DOMAIN
from harness.switchboard import binary
from harness.xep import register, registration

pytestmark = pytest.mark.needs_switchboard


def run_cli(*args, timeout=20):
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout)


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("switchboard "), r
    r = run_cli("--help")
    assert r.returncode == 0 and "--check-config" in r.stdout, r
    r = run_cli("--no-such-option")
    assert r.returncode == 2 and "--no-such-option" in r.stderr, r


def test_check_config_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[xmpp]\n'
        'host = "127.0.0.1"\n'
        'prot = 5347\n'                       # line 3: unknown key (typo of port)
        '\n'
        '[[loopback]]\n'
        'domain = "gw.localhost"\n'
        'secret = 987654321\n'                # line 7: wrong type
    )
    r = run_cli("--check-config", str(bad))
    assert r.returncode == 2, r
    assert f"{bad}:3:1:" in r.stderr and "prot" in r.stderr, r.stderr
    assert "did you mean 'port'" in r.stderr, r.stderr
    assert f"{bad}:7:" in r.stderr and "secret" in r.stderr, r.stderr
    assert "987654321" not in r.stderr, "a secret's value must never be printed"
    assert "Traceback" not in r.stderr and "terminate called" not in r.stderr

    good = tmp_path / "good.toml"
    good.write_text('[[loopback]]\ndomain = "gw.localhost"\nsecret = "s"\nallow = ["*@localhost"]\n')
    r = run_cli("--check-config", str(good))
    assert r.returncode == 0, r


def test_running_with_a_bad_config_exits_2_with_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[xmpp]\nport = "not a number"\n[[loopback]]\ndomain = "gw.localhost"\nsecret = "s"\n')
    r = run_cli("--config", str(bad))
    assert r.returncode == 2, r
    assert f"{bad}:2:" in r.stderr and "port" in r.stderr, r.stderr


def test_a_second_instance_on_the_same_registry_is_refused(switchboard):
    r = run_cli("--config", switchboard.config_path)
    assert r.returncode == 1, r
    assert "another switchboard instance" in r.stderr, r.stderr
    assert switchboard.alive(), "the first instance must keep running"


def scrape(switchboard):
    with urllib.request.urlopen(f"http://127.0.0.1:{switchboard.http_port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return text, values


def metric(values, name, **labels):
    """The value of the series `name` whose labels include `labels` (0 if absent)."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    for key, value in values.items():
        if key.split("{", 1)[0] == name and all(w in key for w in want):
            return value
    return 0.0


def test_metrics_count_what_went_through(switchboard, connect):
    alice = connect("alice")
    assert register(alice, GW_DOMAIN).get("type") == "result"
    alice.send_message(f"echo@{GW_DOMAIN}", "count me")
    alice.wait_message(lambda m: m.bare_from == f"echo@{GW_DOMAIN}" and m.body == "count me")
    alice.send_message(f"nobody@{GW_DOMAIN}", "hello?")
    alice.wait_message(lambda m: m.bare_from == f"nobody@{GW_DOMAIN}" and m.type == "error")
    text, values = scrape(switchboard)
    assert "# TYPE switchboard_stanzas_total counter" in text
    # The registration iq and two messages in; results, echo and the error out.
    assert metric(values, "switchboard_stanzas_total", domain=GW_DOMAIN, direction="in") >= 3, text
    assert metric(values, "switchboard_stanzas_total", domain=GW_DOMAIN, direction="out") >= 3, text
    assert metric(values, "switchboard_messages_bridged_total", domain=GW_DOMAIN, transport="loopback",
                  direction="to_legacy") >= 2, text
    assert metric(values, "switchboard_messages_bridged_total", domain=GW_DOMAIN, transport="loopback",
                  direction="to_xmpp") >= 1, text
    assert metric(values, "switchboard_errors_total", domain=GW_DOMAIN, source="stanza") >= 1, text
    assert metric(values, "switchboard_errors_total", domain=GW_DOMAIN, source="transport") >= 1, text
    assert metric(values, "switchboard_processing_seconds_count", domain=GW_DOMAIN) >= 3, text
    assert metric(values, "switchboard_reconnects_total", domain=GW_DOMAIN) >= 1, text


def test_domain_presence_follows_the_backend(switchboard, connect):
    alice = connect("alice")
    assert register(alice, GW_DOMAIN).get("type") == "result"
    # Registration asks alice to subscribe (XEP-0100); her client accepts and
    # subscribes back, after which she sees the gateway's presence.
    alice.wait_presence(lambda p: p.bare_from == GW_DOMAIN and p.type == "available", timeout=15,
                        what="the gateway's available presence")
    alice.send_message(f"backend@{GW_DOMAIN}", "down")
    down = alice.wait_presence(lambda p: p.bare_from == GW_DOMAIN and p.type == "unavailable", timeout=10,
                               what="the gateway going unavailable")
    assert down.status and "switched off" in down.status, down.xml
    status, doc = switchboard.healthz()
    assert status == 503 and doc["components"][GW_DOMAIN]["backend"] == "down", doc
    alice.send_message(f"backend@{GW_DOMAIN}", "up")
    alice.wait_presence(lambda p: p.bare_from == GW_DOMAIN and p.type == "available"
                        and alice.presences.index(p) > alice.presences.index(down), timeout=10,
                        what="the gateway available again")
    switchboard.wait_healthy(timeout=10)


def test_registration_survives_kill_9(switchboard, connect):
    """SPEC §5: the registry survives kill -9 (and the instance lock dies with the process)."""
    alice = connect("alice")
    assert register(alice, GW_DOMAIN, nick="survivor").get("type") == "result"
    switchboard.kill()
    switchboard.start()
    registered, values = registration(alice, GW_DOMAIN)
    assert registered and values.get("nick") == "survivor", values
