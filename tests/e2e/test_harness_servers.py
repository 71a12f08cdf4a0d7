"""Proves the harness itself, without switchboard: each real server starts on
free loopback ports, has the accounts, carries a message between two users,
comes back after kill -9 with its data, and leaves no process behind."""
import socket

import pytest

from harness import util
from harness.client import Client
from harness.servers import GW_DOMAIN, PASSWORD


def test_message_between_two_accounts(server, connect):
    alice, bob = connect("alice"), connect("bob")
    alice.send_message(server.jid("bob"), "hello & <bob> 👋")
    got = bob.wait_message(lambda m: m.bare_from == server.jid("alice"))
    assert got.body == "hello & <bob> 👋"
    assert got.type == "chat"


def test_wrong_password_is_refused(server):
    c = Client(server.jid("alice"), "not-the-password", server.c2s_port)
    with pytest.raises(RuntimeError, match="failed"):
        c.connect(timeout=15)
    c.disconnect()


def test_component_port_speaks_xep0114(server):
    # The component listener answers a jabber:component:accept stream header with
    # its own header carrying a stream id (what switchboard hashes with the secret).
    with socket.create_connection(("127.0.0.1", server.component_port), timeout=5) as s:
        s.sendall(f"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' "
                  f"to='{GW_DOMAIN}'>".encode())
        data = b""
        while b"id=" not in data:
            chunk = s.recv(4096)
            assert chunk, f"server closed the component stream: {data!r}"
            data += chunk
    assert b"jabber:component:accept" in data


@pytest.mark.timeout(180)
def test_kill9_and_restart_keeps_accounts_and_offline_messages(server, connect):
    server.checkpoint()
    alice = connect("alice")
    bob = connect("bob")
    pgid = server.pid()
    server.kill()
    assert not util.group_members(pgid), "a server process survived kill -9"
    server.start()
    alice.disconnect()
    bob.disconnect()
    # Same ports, same data: the accounts still log in; offline storage is on.
    bob2 = connect("bob")
    bob2.disconnect()
    alice2 = connect("alice")
    alice2.send_message(server.jid("bob"), "while you were away")
    # A ping answered after the message proves the server has stored it.
    assert alice2.iq("localhost", "get", "<ping xmlns='urn:xmpp:ping'/>").get("type") == "result"
    bob3 = connect("bob")
    got = bob3.wait_message(lambda m: m.body == "while you were away", timeout=15)
    assert got.bare_from == server.jid("alice")
