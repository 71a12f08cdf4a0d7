"""The IRC parts of the harness alone, without switchboard: ngIRCd starts from the
harness config and comes back on the same port after kill -9, the raw IRC client
records what the server relays (including what the no-injection tests look for:
ngIRCd does split a line at a lone LF, so a smuggled command WOULD show up), the
operator account can kick and get +F, both XMPP servers accept the irc.localhost
component, and scripts/demo_ircbot.py behaves as the demo needs."""
import hashlib
import os
import re
import socket
import time

import pytest

from harness import util
from harness.ngircd import OPER_NAME, OPER_PASSWORD
from harness.servers import IRC_DOMAIN, IRC_SECRET

DEMO_BOT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo_ircbot.py")


def test_ngircd_config_is_what_the_tests_rely_on(ngircd):
    rc, out = ngircd.configtest()
    assert rc == 0, out
    for expected in ("MaxConnectionsIP = 0", "MaxNickLength = 30", "PAM = no", "DNS = no",
                     f"Ports = {ngircd.port}", "Listen = 127.0.0.1"):
        assert expected in out, f"{expected!r} not in ngircd --configtest output:\n{out}"
    assert re.search(r"MaxJoins = (0|-1)\b", out), out  # 0 (unlimited) is shown as -1


def test_clients_talk_and_the_recorder_sees_every_line(ngircd, irc_clients):
    op = irc_clients(ngircd.port, "harness_op")
    other = irc_clients(ngircd.port, "harness_other_with_a_long_nick")  # 30 characters: MaxNickLength
    assert other.nick == "harness_other_with_a_long_nick"
    op.join("#harness")
    op.topic("#harness", "the topic")
    t0 = time.monotonic()
    other.join("#harness")
    assert other.wait(lambda ln: ln.command == "332").param(2) == "the topic"
    assert op.names("#harness") == {"harness_op": "@", "harness_other_with_a_long_nick": ""}

    op.privmsg("#harness", "hello there")
    op.action("#harness", "waves")
    got = other.wait_privmsg("#harness", lambda t: t == "hello there", frm="harness_op")
    assert got.ts >= t0 and got.raw.endswith(b"hello there")
    other.wait_privmsg("#harness", lambda t: t == "\x01ACTION waves\x01", frm="harness_op")
    # Bytes pass untouched: latin-1 and mIRC colours reach the other client as sent.
    op.privmsg("#harness", b"caf\xe9 \x0304red\x03")
    raw = other.wait(lambda ln: ln.command == "PRIVMSG" and b"caf" in ln.raw).raw
    assert raw.endswith(b":caf\xe9 \x0304red\x03"), raw
    other.privmsg("harness_op", "private")
    op.wait_privmsg("harness_op", lambda t: t == "private", frm="harness_other_with_a_long_nick")

    other.change_nick("harness_renamed")
    op.wait(lambda ln: ln.command == "NICK" and ln.param(0) == "harness_renamed")
    assert other.whois("harness_renamed") == {"#harness"}
    assert other.whois("nobody_here") is None
    assert "#harness" in op.channels()


def test_a_lone_lf_starts_a_second_command_at_ngircd(ngircd, irc_clients):
    """Why the no-injection tests can fail: ngIRCd (not built STRICT_RFC) ends a
    line at a lone CR or LF too, so "PRIVMSG ...\\nJOIN #evil" joins #evil."""
    a = irc_clients(ngircd.port, "harness_inj")
    watcher = irc_clients(ngircd.port, "harness_watch")
    a.join("#inj")
    watcher.join("#inj")
    a.send(b"PRIVMSG #inj :innocent\nJOIN #evil_harness")
    watcher.wait_privmsg("#inj", lambda t: t == "innocent")
    util.wait_for(lambda: "#evil_harness" in watcher.channels(), 5, interval=0.2, what="#evil_harness to exist")
    assert "#evil_harness" in a.whois("harness_inj")


def test_oper_can_kick_and_gets_flood_exemption(ngircd, irc_clients):
    op = irc_clients(ngircd.port, "harness_kicker")
    victim = irc_clients(ngircd.port, "harness_victim")
    op.join("#kick")
    victim.join("#kick")
    op.oper(OPER_NAME, OPER_PASSWORD)  # also sets +F
    assert any(ln.command == "MODE" and "F" in ln.param(1) for ln in op.snapshot()), "no +F confirmation"
    op.kick("#kick", "harness_victim", "out you go")
    k = victim.wait(lambda ln: ln.command == "KICK")
    assert k.param(1) == "harness_victim" and k.param(2) == "out you go" and k.nick == "harness_kicker"
    assert "harness_victim" not in op.names("#kick")
    # With +F and flood protection relaxed, 50 lines in one write all arrive quickly.
    victim.join("#kick")
    op.send(b"".join(b"PRIVMSG #kick :burst %d\r\n" % i for i in range(49)) + b"PRIVMSG #kick :burst 49")
    victim.wait_privmsg("#kick", lambda t: t == "burst 49", timeout=10)
    assert victim.privmsgs("#kick") == [f"burst {i}" for i in range(50)]


@pytest.mark.timeout(60)
def test_ngircd_kill9_and_restart_on_the_same_port(ngircd, irc_clients):
    port, pid = ngircd.port, ngircd.pid()
    c = irc_clients(port, "harness_before")
    c.join("#persist")
    ngircd.kill()
    assert not util.port_open(port) and not util.group_members(pid), "ngircd survived kill -9"
    util.wait_for(lambda: c.closed, 5, what="the client to see the connection drop")
    ngircd.start()
    assert ngircd.port == port and ngircd.pid() != pid
    again = irc_clients(port, "harness_before")  # the nick is free again: a fresh server
    again.join("#persist")
    assert again.names("#persist") == {"harness_before": "@"}
    assert "start #2" in ngircd.log()


def test_servers_accept_the_irc_component(server):
    # A complete XEP-0114 handshake as IRC_DOMAIN: the server declares it with this secret.
    with socket.create_connection(("127.0.0.1", server.component_port), timeout=5) as s:
        s.sendall(f"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' "
                  f"to='{IRC_DOMAIN}'>".encode())
        data = b""
        while not re.search(rb"\sid=['\"]([^'\"]+)['\"]", data):
            chunk = s.recv(4096)
            assert chunk, f"server closed the component stream: {data!r}"
            data += chunk
        stream_id = re.search(rb"\sid=['\"]([^'\"]+)['\"]", data).group(1).decode()
        s.sendall(f"<handshake>{hashlib.sha1((stream_id + IRC_SECRET).encode()).hexdigest()}</handshake>".encode())
        data = b""
        while b"handshake" not in data and b"stream:error" not in data:
            chunk = s.recv(4096)
            assert chunk, f"server closed the component stream after the handshake: {data!r}"
            data += chunk
    assert b"<handshake/>" in data or b"<handshake></handshake>" in data, data


@pytest.mark.timeout(60)
def test_demo_ircbot(ngircd, irc_clients, tmp_path):
    log = tmp_path / "demo_ircbot.log"
    proc = util.spawn(["/usr/bin/python3", DEMO_BOT, "--port", str(ngircd.port), "--channel", "#demo",
                       "--interval", "0.5"], log)
    try:
        watcher = irc_clients(ngircd.port, "harness_guest")
        util.wait_for(lambda: "#demo" in watcher.channels(), 10, interval=0.2, what="the bot to create #demo")
        watcher.join("#demo")
        topic = watcher.wait(lambda ln: ln.command == "332", what="the topic")
        assert "switchboard demo" in topic.param(2)
        assert watcher.names("#demo").get("demobot") == "@", "the bot should be the channel's operator"
        watcher.wait_privmsg("#demo", lambda t: t == "welcome, harness_guest!", frm="demobot")
        watcher.wait_privmsg("#demo", lambda t: re.match(r"\[\d+\] ", t), frm="demobot")  # small talk
        watcher.privmsg("#demo", "demobot: ping")
        watcher.wait_privmsg("#demo", lambda t: t == "harness_guest: pong", frm="demobot")
        watcher.privmsg("demobot", "hi bot")
        watcher.wait_privmsg("harness_guest", lambda t: t == "you said: hi bot", frm="demobot")

        # The server goes away and comes back: the bot returns to its channel by itself.
        ngircd.kill()
        ngircd.start()
        watcher2 = irc_clients(ngircd.port, "harness_guest2")
        util.wait_for(lambda: "#demo" in watcher2.channels(), 15, interval=0.3, what="the bot to come back")
    finally:
        util.stop_group(proc, term_timeout=5)
    assert "joined #demo" in log.read_text()
