"""SPEC §3 and §9 against the real servers: the XEP-0114 handshake, /healthz,
and a refused handshake (wrong secret) reported with a hint and retried."""
from harness import util
from harness.servers import GW_DOMAIN
from harness.tcp_proxy import CountingProxy


def test_handshake_makes_healthz_ok(switchboard):
    status, doc = switchboard.healthz()
    assert status == 200, doc
    assert doc["status"] == "ok"
    comp = doc["components"][GW_DOMAIN]
    assert comp["authenticated"] is True
    assert comp["kind"] == "loopback"


def test_wrong_secret_is_reported_and_retried(server, switchboard_factory):
    # A counting proxy in front of the server's component port counts the attempts.
    proxy = CountingProxy(server.component_port)
    try:
        sb = switchboard_factory(secret="not-the-secret", xmpp_port=proxy.port).start(wait_healthy=False)
        # SPEC §3: the refusal is logged with its condition and a hint...
        lines = sb.wait_log(r"not-authorized.*check the secret|check the secret.*not-authorized", timeout=20)
        assert all(GW_DOMAIN in line for line in lines), lines
        # ...and the link keeps retrying (backoff from 1 s): a second attempt within 20 s.
        util.wait_for(lambda: proxy.count() >= 2, 20, what="a second connection attempt")
        assert sb.alive(), "switchboard exited after a refused handshake"
        status, doc = sb.healthz()
        assert status == 503, doc
        assert doc["status"] != "ok"
        assert doc["components"][GW_DOMAIN]["authenticated"] is False
    finally:
        proxy.close()
