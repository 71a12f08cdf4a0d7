"""Fixtures for the end-to-end tests: a real Prosody and a real ejabberd (every
test that takes `server` runs against both), the built switchboard binary, and
synchronous slixmpp clients. See README.md."""
import os
import shutil
import signal
import tempfile

import pytest

from harness import util
from harness.client import Client, shutdown as shutdown_clients
from harness.ejabberd import EjabberdServer
from harness.irc_client import IrcClient
from harness.mosquitto import Mosquitto
from harness.mqtt_client import MqttClient
from harness.ngircd import Ngircd
from harness.prosody import ProsodyServer
from harness.servers import ACCOUNTS, PASSWORD
from harness.switchboard import Switchboard, binary, snapshot_binary

_bin_dir = None
DEFAULT_TIMEOUT = int(os.environ.get("SB_E2E_TIMEOUT", "120"))


# -- per-test time limit (pytest-timeout is not installed on this system) ------
@pytest.fixture(autouse=True)
def _time_limit(request):
    marker = request.node.get_closest_marker("timeout")
    seconds = int(marker.args[0]) if marker else DEFAULT_TIMEOUT

    def expired(signum, frame):
        raise TimeoutError(f"test exceeded its {seconds}s time limit")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# -- log tails on failure --------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        for name, path in list(util.ACTIVE_LOGS.items()):
            report.sections.append((f"tail of {name} log ({path})", util.tail(path)))


# -- XMPP servers ----------------------------------------------------------------
def make_server(kind, tmp_path_factory):
    if kind == "prosody":
        srv = ProsodyServer(tmp_path_factory.mktemp("prosody"))
        for user in ACCOUNTS:
            srv.register(user, PASSWORD)  # offline: prosodyctl writes the account files
        srv.start()
    else:
        srv = EjabberdServer()
        srv.start()
        for user in ACCOUNTS:
            srv.register(user, PASSWORD)
    return srv


@pytest.fixture(scope="module", params=["prosody", "ejabberd"])
def server(request, tmp_path_factory):
    """A running XMPP server with accounts alice, bob, admin (password "password")
    and the component domain harness.servers.GW_DOMAIN declared. One per module
    and kind; a test that crashes it must leave it running again."""
    srv = make_server(request.param, tmp_path_factory)
    yield srv
    srv.cleanup()
    util.unregister_log(srv.name)


# -- switchboard -------------------------------------------------------------------
@pytest.fixture
def switchboard_factory(server, tmp_path):
    """Makes Switchboard instances wired to `server`; stops every one at teardown."""
    if not os.access(binary(), os.X_OK):
        pytest.skip(f"switchboard binary not built: {binary()} (set SWITCHBOARD_BIN)")
    made = []

    def make(**kwargs):
        sb = Switchboard(tmp_path / f"sb{len(made)}", server, **kwargs)
        made.append(sb)
        return sb
    yield make
    for sb in made:
        sb.cleanup()


@pytest.fixture
def switchboard(switchboard_factory):
    """A running switchboard with one [[loopback]] component on GW_DOMAIN, healthy."""
    return switchboard_factory().start()


# -- MQTT broker -------------------------------------------------------------------
@pytest.fixture
def mosquitto(tmp_path):
    """A running mosquitto on a free loopback port (fresh persistence per test);
    stopped at teardown."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.cleanup()


@pytest.fixture
def mqtt_clients(mosquitto):
    """mqtt_clients(client_id=None, clean_session=True) -> a connected MqttClient; all
    disconnected at teardown."""
    made = []

    def make(**kwargs):
        c = MqttClient(mosquitto.port, **kwargs)
        made.append(c)
        return c.connect()
    yield make
    for c in made:
        c.disconnect()


# -- IRC server ----------------------------------------------------------------------
@pytest.fixture
def ngircd(tmp_path):
    """A running ngIRCd on a free loopback port (harness/ngircd.py), fresh per test;
    stopped at teardown."""
    srv = Ngircd(tmp_path / "ngircd").start()
    yield srv
    srv.cleanup()


@pytest.fixture
def irc_clients():
    """irc_clients(port, nick) -> a registered IrcClient (harness/irc_client.py); all
    closed at teardown."""
    made = []

    def make(port, nick, **kwargs):
        c = IrcClient(port, nick, **kwargs)
        made.append(c)
        return c.connect()
    yield make
    for c in made:
        c.close()


# -- clients -----------------------------------------------------------------------
@pytest.fixture
def connect(server):
    """connect("alice") -> a logged-in Client for alice@localhost; disconnected at teardown."""
    clients = []

    def make(user, **kwargs):
        c = Client(server.jid(user), PASSWORD, server.c2s_port).connect(**kwargs)
        clients.append(c)
        return c
    yield make
    for c in clients:
        c.disconnect()


def pytest_collection_modifyitems(config, items):
    # Skip before any server starts, not inside the fixture after it has.
    global _bin_dir
    _bin_dir = tempfile.mkdtemp(prefix="sb-e2e-bin-")
    snapshot_binary(_bin_dir)
    if os.access(binary(), os.X_OK):
        return
    if os.environ.get("SB_E2E_REQUIRE_BINARY"):
        # scripts/test.sh: a missing binary is a failed build, never a skip.
        pytest.exit(f"switchboard binary not built: {binary()}", returncode=1)
    skip = pytest.mark.skip(reason=f"switchboard binary not built: {binary()} (set SWITCHBOARD_BIN)")
    for item in items:
        if "switchboard_factory" in getattr(item, "fixturenames", ()) or "needs_switchboard" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    shutdown_clients()
    # A last guard: no server or switchboard we started may outlive the run.
    for obj in list(util.LIVE_PROCESSES):
        util.kill_group(obj)
    if _bin_dir:
        shutil.rmtree(_bin_dir, ignore_errors=True)
