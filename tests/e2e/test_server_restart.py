"""SPEC §10 "nothing accepted is lost ... not on a restart of the XMPP server":
the server is killed with -9 while the loopback counter is streaming to the user,
restarted on the same ports and data, and every produced message arrives."""
import collections
import time

import pytest

from harness.servers import GW_DOMAIN
from harness.xep import register

COUNTER = f"counter@{GW_DOMAIN}"
N = 2000


def counter_bodies(messages):
    return [m for m in messages if m.bare_from == COUNTER and m.type == "chat" and m.body and m.body.isdigit()]


@pytest.mark.timeout(300)
def test_server_kill9_mid_stream_loses_nothing(server, switchboard_factory, connect):
    server.checkpoint()  # the accounts must survive the kill
    # Short keepalive so the re-sent, unproven tail is proven quickly after the restart.
    sb = switchboard_factory(loopback={"emit_interval_ms": 2}, xmpp={"keepalive_seconds": 5}).start()
    alice = connect("alice")
    assert register(alice, GW_DOMAIN, nick="alice1").get("type") == "result"

    alice.send_message(COUNTER, str(N))
    alice.wait(lambda ms, _: len(counter_bodies(ms)) >= 100, timeout=30, what="the first 100 counter messages")
    server.kill()
    alice.disconnect()
    before = counter_bodies(alice.snapshot()[0])
    assert len(before) < N, "the stream ended before the kill; nothing was tested"

    server.start()
    sb.wait_healthy(timeout=90)  # the component reconnects by itself
    alice2 = connect("alice")    # offline storage holds what came while alice was away

    expected = {str(i) for i in range(1, N + 1)}

    def complete(ms, _ps):
        return expected <= {m.body for m in before + counter_bodies(ms)}
    try:
        alice2.wait(complete, timeout=150, what=f"all {N} counter messages")
    finally:
        after = counter_bodies(alice2.snapshot()[0])
        got = {m.body for m in before + after}
        print(f"[{server.name}] before kill: {len(before)}, after: {len(after)}, "
              f"missing: {len(expected - got)}, e.g. {sorted(expected - got, key=int)[:20]}")

    everything = before + after
    assert {m.body for m in everything} == expected
    # Duplicates only as re-sends of the same stanza: same XEP-0359 origin-id.
    by_body = collections.defaultdict(list)
    for m in everything:
        by_body[m.body].append(m)
    dups = {b: ms for b, ms in by_body.items() if len(ms) > 1}
    for body, copies in dups.items():
        ids = {m.origin_id for m in copies}
        assert None not in ids and len(ids) == 1, f"body {body} arrived {len(copies)}x with origin-ids {ids}"
    print(f"[{server.name}] duplicates (same origin-id): {sum(len(c) - 1 for c in dups.values())}")
    assert sb.alive()


@pytest.mark.timeout(300)
def test_stanzas_held_while_the_server_is_down_survive_a_switchboard_restart(server, switchboard_factory, connect):
    """SPEC §1 "persist the rest" and §10: messages produced while the XMPP server
    is down wait in switchboard; a graceful stop spools them to the registry; the
    next start sends them once the server is back."""
    server.checkpoint()
    n = 60
    sb = switchboard_factory(loopback={"emit_interval_ms": 25}, xmpp={"keepalive_seconds": 5}).start()
    alice = connect("alice")
    assert register(alice, GW_DOMAIN).get("type") == "result"
    alice.send_message(COUNTER, str(n))
    alice.wait(lambda ms, _: len(counter_bodies(ms)) >= 5, timeout=30, what="the first counter messages")
    server.kill()
    alice.disconnect()
    before = counter_bodies(alice.snapshot()[0])
    assert len(before) < n, "the stream ended before the kill; nothing was tested"
    # Let the counter finish into the queue of the disconnected link, then stop.
    sb.wait_log(r"disconnected", timeout=20)
    time.sleep(n * 0.025 + 1.0)
    rc, elapsed = sb.terminate()
    assert rc == 0 and elapsed < 5.0, (rc, elapsed)
    assert "spooled" in sb.log(), "the held stanzas should have been spooled to the registry"

    server.start()
    sb.start()
    alice2 = connect("alice")
    expected = {str(i) for i in range(1, n + 1)}
    alice2.wait(lambda ms, _: expected <= {m.body for m in before + counter_bodies(ms)}, timeout=90,
                what=f"all {n} counter messages after both restarts")
    # Once proven delivered, the spool is emptied: a further restart re-sends nothing.
    sb.wait_log(r"re-sending \d+ stanzas spooled", timeout=5)
    count = len(counter_bodies(alice2.snapshot()[0]))
    time.sleep(6)  # past one keepalive: the re-sent stanzas get proven and leave the spool
    sb.restart()
    time.sleep(2)
    assert len(counter_bodies(alice2.snapshot()[0])) == count, "a proven stanza was sent again"
