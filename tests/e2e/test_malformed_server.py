"""SPEC §3: bad XML from the server side ends the stream with the right stream
error, and switchboard reconnects; it never crashes. A fake XEP-0114 server plays
the misbehaving side, so these run once, not per real server."""
import pytest

from harness import util
from harness.fake_component_server import FakeComponentServer
from harness.servers import GW_DOMAIN
from harness.switchboard import Switchboard

CASES = {
    "not-well-formed": b"<message><<>",
    "restricted-xml-doctype": b"<!DOCTYPE x>",
    "restricted-xml-pi": b"<?evil instruction?>",
    "restricted-xml-entity": b"<!ENTITY boom 'x'>",
    "policy-violation": b"<message to='x@gw.localhost'><body>" + b"a" * 20000 + b"</body></message>",
}


@pytest.mark.needs_switchboard
@pytest.mark.parametrize("case", list(CASES))
def test_bad_xml_from_server_gives_stream_error_and_reconnect(case, tmp_path):
    condition = case.split("-doctype")[0].split("-pi")[0].split("-entity")[0]
    fake = FakeComponentServer(CASES[case], GW_DOMAIN)
    sb = Switchboard(tmp_path / "sb", secret="anything", xmpp_port=fake.port,
                     xmpp={"max_stanza_bytes": 4096})
    try:
        sb.start(wait_healthy=False)
        sb.wait_log(condition, timeout=15)
        # The stream error goes to the server too (RFC 6120 §4.9), then the link closes.
        util.wait_for(lambda: condition.encode() in fake.received(0), 10,
                      what=f"<{condition}/> stream error sent to the server")
        util.wait_for(lambda: fake.connection_count() >= 2, 15, what="a second connection (reconnect)")
        assert sb.alive(), "switchboard died on bad XML from the server"
    finally:
        sb.cleanup()
        fake.close()
