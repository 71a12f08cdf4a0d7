"""SPEC §6 end to end, the broker connection options of the MQTT transport (README
"MQTT"): TLS with `ca_file` (and a client certificate, `cert_file`/`key_file`),
`username`/`password` against a mosquitto `password_file`, and `protocol = "5"`.
Each test runs the built switchboard against a real mosquitto configured for it
and a real Prosody only (these test the broker side; test_mqtt.py covers both XMPP
servers): a device's state reaches the registered user, and the user's command
arrives on the command topic. Certificates are made at test time with
/usr/bin/openssl in the test's temp dir (a CA, a server certificate for
127.0.0.1/localhost, a client certificate)."""
import os
import subprocess

import pytest

from harness import util
from harness.mosquitto import Mosquitto
from harness.mqtt_client import MqttClient
from harness.servers import MQTT_DOMAIN
from harness.xep import register

OPENSSL = "/usr/bin/openssl"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
ROUTE = {"jid": "{id}", "state": "home/{id}/state", "command": "home/{id}/set", "format": "text",
         "subscribers": ["alice@localhost"], "qos": 1}
KITCHEN = f"kitchen@{MQTT_DOMAIN}"
STATE, COMMAND = "home/kitchen/state", "home/kitchen/set"
DEVICE_USER, DEVICE_PASSWORD = "device", "dev-pass"
SB_USER, SB_PASSWORD = "switchboard", "sb-s3cret pass"

# Broker options only: one XMPP server is enough (and keeps these quick).
pytestmark = pytest.mark.parametrize("server", ["prosody"], indirect=True)


# -- certificates and broker setup ---------------------------------------------------------
def _run(*args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{' '.join(args)} failed: {r.stderr}"


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client
    certificate, all signed by the CA (EC P-256: fast to make). Returns the paths."""
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(OPENSSL, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=switchboard e2e test CA",
         "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    leaves = {"server": ("localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
              "client": ("switchboard-e2e-client", "extendedKeyUsage=clientAuth\n")}
    for name, (cn, ext) in leaves.items():
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + ext)
        _run(OPENSSL, "req", "-new", *ec, "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _run(OPENSSL, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)
    return {k: os.path.join(d, k) for k in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


def make_password_file(d):
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "passwd")
    _run(MOSQUITTO_PASSWD, "-b", "-c", path, SB_USER, SB_PASSWORD, cwd=d)
    _run(MOSQUITTO_PASSWD, "-b", path, DEVICE_USER, DEVICE_PASSWORD, cwd=d)
    return path


@pytest.fixture
def broker(tmp_path):
    """broker(tls=None, password_file=None) -> a running Mosquitto; stopped at teardown."""
    made = []

    def make(**kwargs):
        b = Mosquitto(tmp_path / f"mosquitto{len(made)}", **kwargs)
        made.append(b)
        return b.start()
    yield make
    for b in made:
        b.cleanup()


@pytest.fixture
def devices():
    """devices(port, **MqttClient kwargs) -> a connected MqttClient; disconnected at teardown."""
    made = []

    def make(port, **kwargs):
        c = MqttClient(port, **kwargs)
        made.append(c)
        return c.connect()
    yield make
    for c in made:
        c.disconnect()


def gateway(switchboard_factory, broker, start=True, **mqtt_keys):
    keys = {"broker": broker.url, "client_id": "switchboard-e2e-tls", "keepalive_seconds": 5}
    keys.update(mqtt_keys)
    sb = switchboard_factory(with_loopback=False, mqtt=keys, mqtt_devices=[ROUTE])
    rc, out = sb.check_config()
    if "not built into this switchboard" in out and not os.environ.get("SB_E2E_REQUIRE_BINARY"):
        pytest.skip(f"the binary has no MQTT transport: {out.strip()}")
    assert rc == 0, f"--check-config refused the test config: {out}"
    return sb.start(timeout=30) if start else sb


def round_trip(connect, device, watcher, reading):
    """The device publishes a state → alice gets it; alice sends a command → it is on
    the command topic (seen by `watcher`) and her receipt follows the PUBACK."""
    alice = connect("alice")
    reply = register(alice, MQTT_DOMAIN)
    assert reply.get("type") == "result", f"alice could not register on {MQTT_DOMAIN}: {reply}"
    watcher.subscribe(COMMAND, qos=1)
    device.publish(STATE, reading)
    got = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.type == "chat", timeout=15,
                             what="the kitchen's state")
    assert got.body == reading
    mid = alice.send_message(KITCHEN, f"set {reading}", receipt=True, msg_id=f"cmd-{reading}")
    cmd = watcher.wait_message(lambda m: m.topic == COMMAND, timeout=15, what=f"the command on {COMMAND}")
    assert cmd.payload == f"set {reading}".encode() and cmd.qos == 1
    rcpt = alice.wait_message(lambda m: m.bare_from == KITCHEN and m.receipt_for == mid, timeout=15,
                              what="the XEP-0184 receipt")
    assert rcpt.type != "error", rcpt


# == TLS ===================================================================================
def test_tls_with_ca_file(switchboard_factory, broker, devices, connect, tmp_path):
    pki = make_pki(tmp_path / "pki")
    b = broker(tls={"cafile": pki["ca.crt"], "certfile": pki["server.crt"], "keyfile": pki["server.key"]})
    assert b.url.startswith("ssl://")
    sb = gateway(switchboard_factory, b, ca_file=pki["ca.crt"])
    sb.wait_log(r"connected to the MQTT broker ssl://127\.0\.0\.1", timeout=15)
    tls = {"ca_certs": pki["ca.crt"]}
    round_trip(connect, devices(b.port, tls=tls), devices(b.port, tls=tls), "tls-21.5")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"


def test_tls_client_certificate_required(switchboard_factory, broker, devices, connect, tmp_path):
    pki = make_pki(tmp_path / "pki")
    b = broker(tls={"cafile": pki["ca.crt"], "certfile": pki["server.crt"], "keyfile": pki["server.key"],
                    "require_certificate": True})
    sb = gateway(switchboard_factory, b, ca_file=pki["ca.crt"], cert_file=pki["client.crt"],
                 key_file=pki["client.key"])
    tls = {"ca_certs": pki["ca.crt"], "certfile": pki["client.crt"], "keyfile": pki["client.key"]}
    round_trip(connect, devices(b.port, tls=tls), devices(b.port, tls=tls), "cert-19")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"


def test_tls_with_an_unknown_ca_keeps_running_backend_down(switchboard_factory, broker, tmp_path):
    """A broker certificate the configured CA did not sign: never connected, /healthz
    503 with the backend down, switchboard running, and the log points at the TLS
    handshake (Paho itself only says "Failure")."""
    pki, other = make_pki(tmp_path / "pki"), make_pki(tmp_path / "other")
    b = broker(tls={"cafile": pki["ca.crt"], "certfile": pki["server.crt"], "keyfile": pki["server.key"]})
    sb = gateway(switchboard_factory, b, start=False, ca_file=other["ca.crt"])
    sb.start(wait_healthy=False)
    util.wait_for(lambda: (sb.component_health(MQTT_DOMAIN) or {}).get("backend") == "down", 20, interval=0.2,
                  what="/healthz to show the MQTT backend down")
    assert sb.healthz()[0] == 503
    assert sb.alive()
    assert "connected to the MQTT broker" not in sb.log()
    sb.wait_log(r"cannot connect: Failure.*TLS handshake", timeout=15)


# == username / password ====================================================================
def test_username_and_password(switchboard_factory, broker, devices, connect, tmp_path):
    b = broker(password_file=make_password_file(tmp_path / "auth"))
    sb = gateway(switchboard_factory, b, username=SB_USER, password=SB_PASSWORD)
    creds = {"username": DEVICE_USER, "password": DEVICE_PASSWORD}
    round_trip(connect, devices(b.port, **creds), devices(b.port, **creds), "auth-18")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"


def test_wrong_password_keeps_running_backend_down_and_logged(switchboard_factory, broker, tmp_path):
    b = broker(password_file=make_password_file(tmp_path / "auth"))
    sb = gateway(switchboard_factory, b, start=False, username=SB_USER, password="not the password")
    sb.start(wait_healthy=False)
    util.wait_for(lambda: (sb.component_health(MQTT_DOMAIN) or {}).get("backend") == "down", 20, interval=0.2,
                  what="/healthz to show the MQTT backend down")
    # The broker refused the login (its log says so), and switchboard's log says why:
    # Paho reports the CONNACK return code, and 5 is "not authorized" (MQTT 3.1.1 §3.2.2.3).
    util.wait_for(lambda: "not authorised" in b.log(), 15, interval=0.2, what="mosquitto to refuse the login")
    line = sb.wait_log(r"\[mqtt.*(not authorized|bad user name or password)", timeout=15)
    assert sb.healthz()[0] == 503
    health = sb.component_health(MQTT_DOMAIN)
    assert health["backend"] == "down", health
    assert sb.alive(), "switchboard exited on a refused broker login"
    assert "connected to the MQTT broker" not in sb.log(), line


# == MQTT 5 =================================================================================
def test_mqtt5_with_tls_and_password(switchboard_factory, broker, devices, connect, tmp_path):
    pki = make_pki(tmp_path / "pki")
    b = broker(tls={"cafile": pki["ca.crt"], "certfile": pki["server.crt"], "keyfile": pki["server.key"]},
               password_file=make_password_file(tmp_path / "auth"))
    sb = gateway(switchboard_factory, b, protocol="5", ca_file=pki["ca.crt"], username=SB_USER,
                 password=SB_PASSWORD, session_expiry_seconds=600)
    sb.wait_log(r"connected to the MQTT broker", timeout=15)
    # mosquitto logs the protocol of each connection: "... (p5, c0, k5, u'switchboard')".
    util.wait_for(lambda: any("as switchboard-e2e-tls (p5," in ln for ln in b.log().splitlines()), 10,
                  interval=0.2, what="mosquitto to log an MQTT 5 connection from switchboard")
    tls = {"ca_certs": pki["ca.crt"]}
    creds = {"username": DEVICE_USER, "password": DEVICE_PASSWORD, "tls": tls}
    round_trip(connect, devices(b.port, **creds), devices(b.port, **creds), "v5-22")
    assert sb.component_health(MQTT_DOMAIN)["backend"] == "up"
