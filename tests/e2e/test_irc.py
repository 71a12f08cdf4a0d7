"""SPEC §7 end to end: the IRC transport of the built switchboard between a REAL
ngIRCd and a real Prosody and ejabberd (the `server` fixture), with slixmpp
clients on the XMPP side and raw-socket IRC clients (harness/irc_client.py) on the
IRC side. The IRC clients are also the recorder of what ngIRCd really relayed:
the no-injection tests look there for a second command.

Addresses are Biboumi's: room "#chan%127.0.0.1@irc.localhost", occupant
".../nick", person "nick%127.0.0.1@irc.localhost", server "127.0.0.1@irc.localhost".
One ngIRCd serves the module (penalties off, so timings are the gateway's); the
test that kills it has its own. Channel and nick names are unique per test and
server kind, so nothing leaks from one test into the next. The tests are skipped,
naming the reason, while `--check-config` rejects [[irc]] (transport not built);
test_irc_harness.py proves the harness parts alone."""
import itertools
import os
import time
import xml.etree.ElementTree as ET

import pytest

from harness import util
from harness.client import record_order
from harness.ngircd import Ngircd
from harness.servers import IRC_DOMAIN, IRC_SECRET
from harness.switchboard import toml_str, toml_value
from harness.xep import (NS_DATA, NS_DISCO_ITEMS, NS_PING, NS_REGISTER, disco_info, disco_items, execute_command,
                         expect_result, register, muc_join, muc_leave, muc_send, muc_subject, muc_user,
                         resource_of)

NS_RSM = "http://jabber.org/protocol/rsm"
IRC_HOST = "127.0.0.1"          # the server's name in addresses (the [irc.servers."127.0.0.1"] table)
SERVER_JID = f"{IRC_HOST}@{IRC_DOMAIN}"
WAIT = 15                       # seconds: every bounded wait on the gateway
_seq = itertools.count(1)


def room(chan):
    return f"{chan}%{IRC_HOST}@{IRC_DOMAIN}"


def person(nick):
    return f"{nick}%{IRC_HOST}@{IRC_DOMAIN}"


def same(a, b):
    return a.lower() == b.lower()


def irc_block(port, allow=("*@localhost",), **keys):
    """The [[irc]] block (SPEC §2/§7) for an ngIRCd on `port`. Test defaults: flood
    control off, a 2 s grace period, reconnect backoff capped at 2 s."""
    conf = {"realname": "switchboard user", "grace_seconds": 2, "flood_burst": 5, "flood_per_second": 0,
            "reconnect_max_seconds": 2}
    conf.update(keys)
    lines = ["[[irc]]", f"domain = {toml_str(IRC_DOMAIN)}", f"secret = {toml_str(IRC_SECRET)}",
             f"allow = {toml_value(list(allow))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in conf.items()]
    lines += [f'  [irc.servers."{IRC_HOST}"]', f"  host = {toml_str(IRC_HOST)}", f"  port = {port}", "  tls = false"]
    return "\n".join(lines) + "\n"


# -- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def irc_server(tmp_path_factory):
    """One ngIRCd for the module, penalties off (MaxPenaltyTime = 0): the flood test
    then measures switchboard's token bucket, not ngIRCd's."""
    srv = Ngircd(tmp_path_factory.mktemp("ngircd"), max_penalty_time=0).start()
    yield srv
    srv.cleanup()


@pytest.fixture
def gateway(switchboard_factory, irc_server):
    """gateway(ngircd=None, allow=..., **irc_keys) -> a running switchboard with only
    an [[irc]] block on IRC_DOMAIN, wired to `ngircd` (default: the module's)."""
    def make(ngircd=None, allow=("*@localhost",), start=True, **keys):
        srv = ngircd or irc_server
        sb = switchboard_factory(domain=IRC_DOMAIN, with_loopback=False, extra=irc_block(srv.port, allow, **keys))
        rc, out = sb.check_config()
        if "not built into this switchboard" in out and not os.environ.get("SB_E2E_REQUIRE_BINARY"):
            pytest.skip(f"the binary has no IRC transport: {out.strip()}")
        assert rc == 0, f"--check-config refused the test config: {out}"
        return sb.start(timeout=30) if start else sb
    return make


@pytest.fixture
def names(server):
    """names("join") -> a unique short name for this test and server kind ("join_p7")."""
    def make(base):
        return f"{base}_{server.name[0]}{next(_seq)}"
    return make


@pytest.fixture
def irc(irc_server, irc_clients):
    """irc(nick) -> a registered raw IRC client on the module's ngIRCd."""
    return lambda nick, **kw: irc_clients(irc_server.port, nick, **kw)


@pytest.fixture
def xmpp(connect):
    """xmpp("alice") -> a logged-in client that also records stanzas in arrival order."""
    return lambda user="alice": record_order(connect(user))


# -- XMPP-side helpers ---------------------------------------------------------------
def from_room(rec, chan):
    return same(rec.bare_from, room(chan))


def codes(rec):
    m = muc_user(rec) if rec.kind == "presence" else None
    return m.codes if m else set()


def join(c, chan, nick, timeout=WAIT):
    """XEP-0045 join; waits for the self-presence (status 110) or an error presence.
    Returns the index in c.ordered where the join started and the self-presence."""
    r = room(chan)
    start = len(c.ordered)
    muc_join(c, r, nick)

    def done(_m, _p):
        for rec in c.ordered[start:]:
            if rec.kind == "presence" and from_room(rec, chan) and (rec.type == "error" or 110 in codes(rec)):
                return rec
        return None
    selfp = c.wait(done, timeout, what=f"the self-presence (110) from {r}/{nick}")
    assert selfp.type != "error", f"join of {r} as {nick} refused: {selfp.condition} {selfp.error_text}"
    return start, selfp


def wait_ordered(c, pred, start=0, timeout=WAIT, what="stanza"):
    """The first record in c.ordered[start:] with pred(rec)."""
    return c.wait(lambda _m, _p: next((r for r in c.ordered[start:] if pred(r)), None), timeout, what)


def groupchats(c, chan, frm_nick=None, start=0):
    return [r for r in c.ordered[start:] if r.kind == "message" and r.type == "groupchat" and from_room(r, chan)
            and r.body is not None and (frm_nick is None or same(resource_of(r.frm), frm_nick))]


def wait_groupchat(c, chan, body, frm_nick=None, start=0, timeout=WAIT):
    return wait_ordered(c, lambda r: r.kind == "message" and r.type == "groupchat" and from_room(r, chan) and
                        r.body == body and (frm_nick is None or same(resource_of(r.frm), frm_nick)),
                        start, timeout, f"groupchat {body[:60]!r} from {chan}/{frm_nick or '*'}")


def wait_occupant(c, chan, nick, available=True, start=0, timeout=WAIT, code=None):
    def ok(r):
        return (r.kind == "presence" and from_room(r, chan) and same(resource_of(r.frm), nick) and
                (r.type == "available") == available and r.type != "error" and (code is None or code in codes(r)))
    return wait_ordered(c, ok, start, timeout,
                        f"{'available' if available else 'unavailable'} {code or ''} from {chan}/{nick}")


def irc_lines_from(rec_client, nick, since=0):
    """Every line ngIRCd relayed to the recorder whose source is `nick`."""
    return [ln for ln in rec_client.snapshot(since) if same(ln.nick, nick)]


# == disco, registration, allow ===========================================================
def test_disco_identity_and_registration_fields(gateway, xmpp):
    gateway()
    alice = xmpp()
    identities, features, _ = disco_info(alice, IRC_DOMAIN)
    assert ("gateway", "irc") in identities, identities
    assert NS_REGISTER in features, features
    reply = alice.iq(IRC_DOMAIN, "get", f"<query xmlns='{NS_REGISTER}'/>")
    assert reply.get("type") == "result", ET.tostring(reply, encoding="unicode")
    x = reply.find(f"{{{NS_REGISTER}}}query/{{{NS_DATA}}}x")
    assert x is not None, "the registration form (XEP-0004) is missing"
    fields = {f.get("var") for f in x.findall(f"{{{NS_DATA}}}field")}
    assert {"nick", "password"} <= fields, fields


def test_forbidden_for_a_jid_not_in_allow(gateway, xmpp, irc, names):
    gateway(allow=["bob@localhost"])
    chan, nick = "#" + names("forbid"), names("alice")
    watcher = irc(names("w"))
    watcher.join(chan)
    alice = xmpp()
    muc_join(alice, room(chan), nick)
    err = wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and r.type == "error",
                       what="an error presence for the join")
    assert err.condition == "forbidden", err.xml
    muc_send(alice, room(chan), "let me in")
    err = wait_ordered(alice, lambda r: r.kind == "message" and r.type == "error", what="an error message")
    assert err.condition == "forbidden", err.xml
    assert watcher.whois(nick) is None, "an IRC connection was opened for a JID not in allow"
    assert nick not in watcher.names(chan)


# == join =================================================================================
def test_join_lists_occupants_with_roles_then_self_then_subject(gateway, xmpp, irc, names):
    gateway()
    chan = "#" + names("join")
    op, voiced, plain, nick = irc(names("op")), irc(names("voice")), irc(names("plain")), names("alice")
    op.join(chan)
    op.topic(chan, "Welcome to the join test")
    voiced.join(chan)
    plain.join(chan)
    op.mode(chan, "+v", voiced.nick)
    alice = xmpp()
    start, selfp = join(alice, chan, nick)
    subj = wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and muc_subject(r) is not None,
                        start, what="the subject")
    assert muc_subject(subj) == "Welcome to the join test"
    assert subj.body in (None, ""), f"the subject message has a body: {subj.xml}"

    seq = alice.ordered[start:]
    i_self, i_subj = seq.index(selfp), seq.index(subj)
    occupants = {resource_of(r.frm): muc_user(r) for r in seq[:i_self]
                 if r.kind == "presence" and from_room(r, chan) and r.type == "available"}
    for who in (op.nick, voiced.nick, plain.nick):
        assert who in occupants, f"{who} missing from the occupants before the self-presence: {list(occupants)}"
    assert occupants[op.nick].role == "moderator", occupants[op.nick]
    assert occupants[voiced.nick].role == "participant", occupants[voiced.nick]
    assert occupants[voiced.nick].affiliation in ("member", "none"), occupants[voiced.nick]
    assert occupants[plain.nick].role == "participant", occupants[plain.nick]
    assert same(resource_of(selfp.frm), nick) and 110 in codes(selfp), selfp.xml
    assert muc_user(selfp).role in ("participant", "moderator"), selfp.xml
    assert i_subj > i_self, "the subject must come after the self-presence (XEP-0045 §7.2.16)"
    early = [r for r in seq[:i_subj] if r.kind == "message" and from_room(r, chan) and r.body]
    assert not early, f"room messages with a body came before the subject: {early}"

    # The IRC side sees the XMPP user join, under the nick asked for.
    op.wait(lambda ln: ln.command == "JOIN" and same(ln.nick, nick) and same(ln.param(0), chan))
    assert op.names(chan).get(nick) == ""


# == messages ==============================================================================
def test_groupchat_both_ways_with_reflection_me_and_notice(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("msg"), names("alice")
    bob = irc(names("bob"))
    bob.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)

    m = bob.mark()
    muc_send(alice, room(chan), "hello irc")
    bob.wait_privmsg(chan, lambda t: t == "hello irc", frm=nick, since=m)
    wait_groupchat(alice, chan, "hello irc", frm_nick=nick, start=start)  # the reflection

    muc_send(alice, room(chan), "/me dances")
    bob.wait_privmsg(chan, lambda t: t == "\x01ACTION dances\x01", frm=nick, since=m)
    wait_groupchat(alice, chan, "/me dances", frm_nick=nick, start=start)

    bob.privmsg(chan, "hello xmpp")
    wait_groupchat(alice, chan, "hello xmpp", frm_nick=bob.nick, start=start)
    bob.action(chan, "waves")
    wait_groupchat(alice, chan, "/me waves", frm_nick=bob.nick, start=start)
    bob.notice(chan, "a notice")
    wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and r.body and "a notice" in r.body,
                 start, what="the NOTICE")
    sent = [ln for ln in irc_lines_from(bob, nick, m) if ln.command == "PRIVMSG"]
    assert [ln.param(1) for ln in sent] == ["hello irc", "\x01ACTION dances\x01"], sent
    mine = [r.body for r in groupchats(alice, chan, nick, start)]
    assert mine == ["hello irc", "/me dances"], f"reflections (each once, in order): {mine}"


def test_long_and_multiline_messages_arrive_complete_and_in_order(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("long"), names("alice")
    bob = irc(names("bob"))
    bob.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)

    # 2000 bytes, no spaces, with 2- and 3-byte characters: the split must cut on
    # character boundaries and lose nothing.
    unit = "0123456789abcdé€-"
    long_body = (unit * 200)
    while len(long_body.encode()) > 2000:
        long_body = long_body[:-1]
    long_body = long_body + "x" * (2000 - len(long_body.encode()))
    assert len(long_body.encode()) == 2000
    m = bob.mark()
    muc_send(alice, room(chan), long_body)

    def got_all():
        texts = bob.privmsgs(chan, frm=nick, since=m)
        return texts if "".join(texts) == long_body else None
    try:
        chunks = util.wait_for(got_all, WAIT, interval=0.1, what="the 2000-byte message on IRC")
    except TimeoutError:
        raise AssertionError(f"IRC got {bob.privmsgs(chan, frm=nick, since=m)!r}, expected the 2000 bytes joined")
    assert len(chunks) >= 4, f"2000 bytes cannot fit in {len(chunks)} IRC line(s)"
    for ln in irc_lines_from(bob, nick, m):
        assert len(ln.raw) + 2 <= 512, f"a relayed line is {len(ln.raw) + 2} bytes: {ln.raw[:80]!r}..."
        assert "\ufffd" not in ln.text, f"a chunk was cut inside a UTF-8 character: {ln.raw[-20:]!r}"
    wait_groupchat(alice, chan, long_body, frm_nick=nick, start=start)  # reflected whole

    m = bob.mark()
    five = "\n".join(f"line {i} of five" for i in range(1, 6))
    t0 = time.monotonic()
    muc_send(alice, room(chan), five)
    bob.wait_privmsg(chan, lambda t: t == "line 5 of five", frm=nick, since=m)
    assert bob.privmsgs(chan, frm=nick, since=m) == [f"line {i} of five" for i in range(1, 6)]
    arrived = [ln.ts for ln in irc_lines_from(bob, nick, m)]
    assert arrived[-1] - t0 < 3.0, "flood control is off in this test: 5 lines should not take seconds"

    # IRC -> XMPP: a near-maximal line and a burst of five, in order.
    big = "z" * 400 + " ünïcödé end"
    bob.privmsg(chan, big)
    for i in range(1, 6):
        bob.privmsg(chan, f"irc line {i}")
    wait_groupchat(alice, chan, "irc line 5", frm_nick=bob.nick, start=start)
    from_bob = [r.body for r in groupchats(alice, chan, bob.nick, start)]
    assert from_bob == [big] + [f"irc line {i}" for i in range(1, 6)], from_bob


def test_latin1_and_mirc_colours_arrive_as_clean_utf8(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("enc"), names("alice")
    bob = irc(names("bob"))
    bob.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    bob.privmsg(chan, b"caf\xe9 na\xefve \x02bold\x02 \x0304,01red\x03 \x1funder\x1f \x1ditalic\x1d\x0f!")
    wait_groupchat(alice, chan, "café naïve bold red under italic!", frm_nick=bob.nick, start=start)
    bob.privmsg(chan, "日本語 ✓ utf-8 stays")
    wait_groupchat(alice, chan, "日本語 ✓ utf-8 stays", frm_nick=bob.nick, start=start)
    bob.privmsg(nick, b"priv\xe9 \x0312blue")
    wait_ordered(alice, lambda r: r.kind == "message" and same(r.bare_from, person(bob.nick)) and r.body == "privé blue",
                 start, what="the private latin-1 message, decoded and stripped")


def test_private_messages_both_ways(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("pm"), names("alice")
    carol = irc(names("carol"))
    carol.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    carol.privmsg(nick, "psst, private")
    got = wait_ordered(alice, lambda r: r.kind == "message" and r.body == "psst, private", start,
                       what="the private message")
    assert same(got.bare_from, person(carol.nick)) and got.type == "chat", got.xml
    m = carol.mark()
    alice.send_message(person(carol.nick), "hi back")
    carol.wait_privmsg(carol.nick, lambda t: t == "hi back", frm=nick, since=m)
    alice.send_message(person(carol.nick), "/me whispers")
    carol.wait_privmsg(carol.nick, lambda t: t == "\x01ACTION whispers\x01", frm=nick, since=m)
    carol.action(nick, "nods")
    wait_ordered(alice, lambda r: r.kind == "message" and same(r.bare_from, person(carol.nick)) and
                 r.body == "/me nods", start, what="the private /me")


def test_raw_line_to_the_server_jid(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("raw"), names("alice")
    watcher = irc(names("w"))
    watcher.join(chan)
    alice = xmpp()
    join(alice, chan, nick)
    m = watcher.mark()
    alice.send_message(SERVER_JID, f"PRIVMSG {chan} :raw hello")
    watcher.wait_privmsg(chan, lambda t: t == "raw hello", frm=nick, since=m)
    alice.send_message(SERVER_JID, f"TOPIC {chan} :raw topic")
    watcher.wait(lambda ln: ln.command == "TOPIC" and same(ln.nick, nick) and ln.param(1) == "raw topic", since=m)


# == XEP-0045 §8 moderation ===================================================================
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"


def moderate(c, chan, nick, role=None, affiliation=None, reason=None):
    """An occupant's muc#admin request; "result" or the error condition."""
    attrs = f" nick='{nick}'" + (f" role='{role}'" if role else "") + \
        (f" affiliation='{affiliation}'" if affiliation else "")
    inner = f"<reason>{reason}</reason>" if reason else ""
    reply = c.iq(room(chan), "set", f"<query xmlns='{NS_MUC_ADMIN}'><item{attrs}>{inner}</item></query>")
    if reply.get("type") == "result":
        return "result"
    cond = [e.tag.split("}")[1] for e in reply.find("{jabber:client}error") if "xmpp-stanzas" in e.tag]
    return cond[0] if cond else ET.tostring(reply, encoding="unicode")


def test_moderation_kick_and_roles_from_xmpp(gateway, xmpp, irc, names):
    """XEP-0045 §8 from an XMPP client, as Biboumi offers: an operator kicks (role
    none -> KICK with the reason, 307 seen in the room) and makes someone a
    moderator (-> MODE +ov); the iq is answered once ngIRCd relayed it. Without
    channel-operator status ngIRCd refuses, and the client gets forbidden."""
    gateway()
    chan, nick = "#" + names("mod"), names("alice")
    alice = xmpp()
    start, _ = join(alice, chan, nick)  # first in the channel: ngIRCd makes her operator
    bob, carol = irc(names("b")), irc(names("c"))
    bob.join(chan)
    carol.join(chan)
    wait_occupant(alice, chan, carol.nick, start=start)

    m = bob.mark()
    assert moderate(alice, chan, bob.nick, role="none", reason="off topic") == "result"
    kick = bob.wait(lambda ln: ln.command == "KICK" and same(ln.nick, nick), since=m, what="the KICK")
    assert same(kick.param(1), bob.nick) and kick.param(2) == "off topic", kick
    gone = wait_occupant(alice, chan, bob.nick, available=False, start=start, code=307)
    assert muc_user(gone).reason == "off topic", gone.xml
    assert not any(same(n, bob.nick) for n in carol.names(chan))

    m = carol.mark()
    mark = len(alice.ordered)
    assert moderate(alice, chan, carol.nick, role="moderator") == "result"
    carol.wait(lambda ln: ln.command == "MODE" and same(ln.nick, nick) and ln.param(1) == "+ov", since=m,
               what="MODE +ov")
    promoted = wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and
                            same(resource_of(r.frm), carol.nick) and muc_user(r) and
                            muc_user(r).role == "moderator", mark, what="carol as moderator")
    assert muc_user(promoted).affiliation == "admin", promoted.xml

    # Not an operator of this channel (an IRC user made it): ngIRCd says no.
    other = "#" + names("modno")
    dave = irc(names("d"))
    dave.join(other)
    join(alice, other, nick)
    assert moderate(alice, other, dave.nick, role="none") == "forbidden"
    assert any(same(n, dave.nick) for n in dave.names(other)), "kicked although alice is no operator there"


def test_invitations_both_ways(gateway, xmpp, irc, names):
    """As Biboumi: an occupant's XEP-0045 mediated invitation of nick%server becomes
    an IRC INVITE; an IRC user's INVITE of the XMPP user arrives as a XEP-0249
    invitation naming the room's JID, which the client can join at once."""
    gateway()
    chan, nick = "#" + names("inv"), names("alice")
    alice = xmpp()
    join(alice, chan, nick)
    bob = irc(names("b"))
    m = bob.mark()
    alice.send_raw(f"<message to='{room(chan)}'><x xmlns='http://jabber.org/protocol/muc#user'>"
                   f"<invite to='{person(bob.nick)}'><reason>come</reason></invite></x></message>")
    got = bob.wait(lambda ln: ln.command == "INVITE" and same(ln.nick, nick), since=m, what="the INVITE")
    assert same(got.param(0), bob.nick) and same(got.param(1), chan), got

    other = "#" + names("invback")
    bob.join(other)
    mark = len(alice.ordered)
    bob.send(f"INVITE {nick} {other}")
    inv = wait_ordered(alice, lambda r: r.kind == "message" and "jabber:x:conference" in r.xml, mark,
                       what="a XEP-0249 invitation")
    x = ET.fromstring(inv.xml).find("{jabber:x:conference}x")
    assert same(x.get("jid"), room(other)), inv.xml
    assert same(inv.bare_from, person(bob.nick)), inv.frm
    join(alice, other, nick)  # the invitation's JID is a room one can join
    assert any(same(n, nick) for n in bob.names(other))


# == staying in channels while offline ========================================================
def test_stay_setting_keeps_the_channel_and_gives_back_what_was_said(gateway, xmpp, irc, names):
    """With the per-server setting "stay" on, leaving (e.g. the phone going offline)
    keeps alice's nick in the channel, AWAY, instead of PART; what the channel says
    meanwhile comes back when she rejoins: in order, from its speakers, with
    XEP-0203 delays, after her self-presence and before the subject."""
    gateway()
    chan, nick = "#" + names("stay"), names("alice")
    alice = xmpp()
    register(alice, IRC_DOMAIN)
    done = execute_command(alice, IRC_DOMAIN, "settings", {f"{IRC_HOST}/stay": "1"})
    assert done.get("type") == "result", ET.tostring(done, encoding="unicode")
    bob = irc(names("b"))
    bob.join(chan)
    join(alice, chan, nick)
    m = bob.mark()
    muc_leave(alice, room(chan), nick)
    time.sleep(3)  # past the 2 s grace period: nothing may close
    assert any(same(n, nick) for n in bob.names(chan)), "alice PARTed although she asked to stay"
    assert not [ln for ln in bob.snapshot(m) if ln.command == "PART" and same(ln.nick, nick)]
    bob.privmsg(chan, "while you were out")
    bob.privmsg(chan, "and this too")
    time.sleep(0.5)
    start, selfp = join(alice, chan, nick)
    kept = wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and r.body == "and this too",
                        start, what="the messages said while away")
    said = [r for r in groupchats(alice, chan, start=start) if r.body in ("while you were out", "and this too")]
    assert [r.body for r in said] == ["while you were out", "and this too"], [r.body for r in said]
    assert all(same(resource_of(r.frm), bob.nick) and "urn:xmpp:delay" in r.xml for r in said), said[0].xml
    # The subject comes after them (it may still be on its way when the last kept line is read).
    subject = wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and muc_subject(r) is not None,
                           start, what="the room's subject")
    order = alice.ordered[start:]
    assert order.index(selfp) < order.index(said[0]) and order.index(kept) < order.index(subject)


# == the rooms' archive: history on join, XEP-0313, stanza-ids ===============================
NS_MAM, NS_FORWARD, NS_SID, NS_DELAY = "urn:xmpp:mam:2", "urn:xmpp:forward:0", "urn:xmpp:sid:0", "urn:xmpp:delay"
NS_CLIENT = "jabber:client"


def stanza_id(rec):
    """(id, by) of a received message's XEP-0359 <stanza-id/>, or None."""
    sid = ET.fromstring(rec.xml).find(f"{{{NS_SID}}}stanza-id")
    return (sid.get("id"), sid.get("by")) if sid is not None else None


def mam_query(c, chan, set_xml="", form_fields=None):
    """A XEP-0313 query of the room's archive: ([(result id, speaker nick, body, stamp)], fin element or the
    error condition)."""
    qid = f"q{next(_seq)}"
    form = ""
    if form_fields:
        fields = "".join(f"<field var='{k}'><value>{v}</value></field>" for k, v in form_fields.items())
        form = (f"<x xmlns='{NS_DATA}' type='submit'><field var='FORM_TYPE' type='hidden'><value>{NS_MAM}</value>"
                f"</field>{fields}</x>")
    rsm = f"<set xmlns='{NS_RSM}'>{set_xml}</set>" if set_xml else ""
    start = len(c.ordered)
    reply = c.iq(room(chan), "set", f"<query xmlns='{NS_MAM}' queryid='{qid}'>{form}{rsm}</query>")
    if reply.get("type") != "result":
        cond = [e.tag.split("}")[1] for e in reply.find(f"{{{NS_CLIENT}}}error") if "xmpp-stanzas" in e.tag]
        return [], cond[0] if cond else ET.tostring(reply, encoding="unicode")
    results = []
    # XEP-0313 §4.2: every result arrives before the iq's answer.
    for r in c.ordered[start:]:
        el = ET.fromstring(r.xml) if r.kind == "message" else None
        res = el.find(f"{{{NS_MAM}}}result") if el is not None else None
        if res is None or res.get("queryid") != qid:
            continue
        fwd = res.find(f"{{{NS_FORWARD}}}forwarded")
        inner = fwd.find(f"{{{NS_CLIENT}}}message")
        assert same(r.frm, room(chan)) and inner.get("type") == "groupchat", r.xml
        results.append((res.get("id"), resource_of(inner.get("from")), inner.find(f"{{{NS_CLIENT}}}body").text,
                        fwd.find(f"{{{NS_DELAY}}}delay").get("stamp")))
    return results, reply.find(f"{{{NS_MAM}}}fin")


def test_room_archive_history_on_join_and_mam_survive_a_restart(gateway, xmpp, irc, names):
    """As Biboumi's history, and beyond it: what alice's connection sees in a channel
    (the IRC users' lines and her own) is kept in HER archive of it. Live lines carry
    a XEP-0359 stanza-id by the room; rejoining gives the newest lines her
    <history maxstanzas/> asks for, after the self-presence and before the subject,
    with delays from the room; XEP-0313 pages through it (RSM after/before) with the
    same ids, also after switchboard was killed with -9. Another user's query of the
    same room sees none of it and cannot page from alice's ids."""
    sb = gateway()
    chan, nick = "#" + names("arch"), names("alice")
    alice = xmpp()
    _, features, _ = disco_info(alice, room(chan))
    assert NS_MAM in features and NS_SID in features, features
    bob = irc(names("b"))
    bob.join(chan)
    start, _ = join(alice, chan, nick)
    for line in ("one", "two", "three"):
        bob.privmsg(chan, line)
    wait_groupchat(alice, chan, "three", frm_nick=bob.nick, start=start)
    muc_send(alice, room(chan), "mine")
    wait_groupchat(alice, chan, "mine", frm_nick=nick, start=start)
    live = {r.body: stanza_id(r) for r in groupchats(alice, chan, start=start)}
    assert all(live[b] and same(live[b][1], room(chan)) for b in ("one", "two", "three", "mine")), live
    ids = [live[b][0] for b in ("one", "two", "three", "mine")]
    assert len(set(ids)) == 4, ids

    # Rejoin asking for two: the newest two, between the self-presence and the subject.
    muc_leave(alice, room(chan), nick)
    wait_occupant(alice, chan, nick, available=False, start=start)
    start = len(alice.ordered)
    muc_join(alice, room(chan), nick, history_stanzas=2)
    subject = wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and
                           muc_subject(r) is not None, start, what="the subject after the rejoin")
    order = alice.ordered[start:]
    selfp = next(r for r in order if r.kind == "presence" and 110 in codes(r))
    history = [r for r in order[order.index(selfp):order.index(subject)] if r.kind == "message" and r.body]
    assert [r.body for r in history] == ["three", "mine"], [r.body for r in history]
    assert [stanza_id(r)[0] for r in history] == ids[2:]
    delays = [ET.fromstring(r.xml).find(f"{{{NS_DELAY}}}delay") for r in history]
    assert all(d is not None and same(d.get("from"), room(chan)) for d in delays), history[0].xml

    # XEP-0313: two pages of two, forward, with the live ids; then the last page backwards.
    page1, fin1 = mam_query(alice, chan, "<max>2</max>")
    assert [(b, same(n, bob.nick)) for _, n, b, _ in page1] == [("one", True), ("two", True)], page1
    assert [i for i, *_ in page1] == ids[:2] and fin1.get("complete") != "true"
    page2, fin2 = mam_query(alice, chan, f"<max>2</max><after>{page1[-1][0]}</after>")
    assert [b for _, _, b, _ in page2] == ["three", "mine"] and fin2.get("complete") == "true", page2
    last, _ = mam_query(alice, chan, "<max>1</max><before/>")
    assert [b for _, _, b, _ in last] == ["mine"], last
    only_bob, _ = mam_query(alice, chan, form_fields={"with": f"{room(chan)}/{bob.nick}"})
    assert [b for _, _, b, _ in only_bob] == ["one", "two", "three"], only_bob

    # Another user: her own (empty) archive of the same room, and alice's ids are not hers.
    other = xmpp("bob")  # the XMPP user bob@, not the IRC user
    theirs, fin = mam_query(other, chan)
    assert theirs == [] and fin.get("complete") == "true", theirs
    assert mam_query(other, chan, f"<after>{ids[0]}</after>")[1] == "item-not-found"

    # kill -9 after the archive's half-second write: all of it is still there.
    time.sleep(1.0)
    sb.kill()
    sb.start()
    again, _ = mam_query(alice, chan)
    assert [(i, b) for i, _, b, _ in again] == list(zip(ids, ["one", "two", "three", "mine"])), again


def test_room_archive_off_when_archive_days_is_zero(gateway, xmpp, irc, names):
    """archive_days = 0: no archive at all — rooms do not advertise XEP-0313, a query
    is service-unavailable, live lines carry no stanza-id."""
    gateway(archive_days=0)
    chan, nick = "#" + names("noarch"), names("alice")
    alice = xmpp()
    _, features, _ = disco_info(alice, room(chan))
    assert NS_MAM not in features, features
    bob = irc(names("b"))
    bob.join(chan)
    start, _ = join(alice, chan, nick)
    bob.privmsg(chan, "not kept")
    rec = wait_groupchat(alice, chan, "not kept", frm_nick=bob.nick, start=start)
    assert stanza_id(rec) is None, rec.xml
    assert mam_query(alice, chan)[1] == "service-unavailable"


# == XEP-0410 self-ping ======================================================================
def self_ping(c, chan, nick):
    """The outcome of a ping to one's own occupant JID: "result" or the error condition."""
    reply = c.iq(f"{room(chan)}/{nick}", "get", f"<ping xmlns='{NS_PING}'/>")
    if reply.get("type") == "result":
        return "result"
    cond = [e.tag.split("}")[1] for e in reply.find("{jabber:client}error") if "xmpp-stanzas" in e.tag]
    return cond[0] if cond else ET.tostring(reply, encoding="unicode")


def test_self_ping_says_whether_the_client_is_still_joined(gateway, xmpp, irc, names):
    """XEP-0410: a client that pings its own occupant JID learns whether it is still
    in the room: yes while joined; not-acceptable after it left and after the
    gateway restarted (kill -9: no 332 was ever sent), so it knows to join again
    instead of sitting in a dead room. Pinging another occupant is not answered
    for them (service-unavailable: IRC users get no iqs)."""
    sb = gateway()
    chan, nick = "#" + names("sping"), names("alice")
    other = irc(names("o"))
    other.join(chan)
    alice = xmpp()
    _, features, _ = disco_info(alice, room(chan))
    assert "http://jabber.org/protocol/muc#self-ping-optimization" in features, features
    assert self_ping(alice, chan, nick) == "not-acceptable"  # not joined yet
    start, _ = join(alice, chan, nick)
    assert self_ping(alice, chan, nick) == "result"
    assert self_ping(alice, chan, nick.upper()) == "result"  # IRC nicks ignore case
    assert self_ping(alice, chan, other.nick) == "service-unavailable"

    sb.kill()
    sb.start()
    assert self_ping(alice, chan, nick) == "not-acceptable"
    join(alice, chan, nick)  # and joining again works
    assert self_ping(alice, chan, nick) == "result"
    muc_leave(alice, room(chan), nick)
    util.wait_for(lambda: self_ping(alice, chan, nick) == "not-acceptable", WAIT, interval=0.2,
                  what="not-acceptable after leaving")


# == channel list: disco#items of the server ===============================================
def rsm_items(c, jid, set_xml):
    """disco#items of `jid` with a XEP-0059 <set/>: ([item jids], {first, last, count, index})."""
    reply = expect_result(c.iq(jid, "get", f"<query xmlns='{NS_DISCO_ITEMS}'><set xmlns='{NS_RSM}'>{set_xml}"
                                           f"</set></query>"))
    q = reply.find(f"{{{NS_DISCO_ITEMS}}}query")
    jids = [i.get("jid") for i in q.findall(f"{{{NS_DISCO_ITEMS}}}item")]
    rs = q.find(f"{{{NS_RSM}}}set")
    assert rs is not None, "no <set/> in the answer to a result set request"
    first = rs.find(f"{{{NS_RSM}}}first")
    return jids, {"first": first.text if first is not None else None,
                  "index": int(first.get("index")) if first is not None else None,
                  "last": getattr(rs.find(f"{{{NS_RSM}}}last"), "text", None),
                  "count": int(rs.find(f"{{{NS_RSM}}}count").text)}


def test_disco_items_of_the_server_lists_its_channels_paged_with_rsm(gateway, xmpp, irc, names):
    """SPEC §4 (disco#items of IRC servers), as Biboumi: the server JID's items are
    its channels, fetched with LIST over the user's own connection (which the grace
    period closes again), the larger first, named with users and topic (formatting
    stripped); XEP-0059 pages them."""
    gateway()
    big, small = "#" + names("lbig"), "#" + names("lsmall")
    a, b = irc(names("la")), irc(names("lb"))
    a.join(big)
    b.join(big)
    a.topic(big, "the \x02big\x02 one")
    a.join(small)
    alice = xmpp()
    _, features, _ = disco_info(alice, SERVER_JID)
    assert NS_DISCO_ITEMS in features, features

    items = disco_items(alice, SERVER_JID)
    names_of = {j: n for j, _, n in items}
    assert names_of.get(room(big)) == f"{big} (2 users): the big one", items
    assert names_of.get(room(small)) == f"{small} (1 user)", items
    order = [j for j, _, _ in items]
    assert order.index(room(big)) < order.index(room(small)), order
    assert a.whois("alice") is not None, "the list did not come over alice's own IRC connection"

    # XEP-0059: one item per page, the second page after the first, the count of all.
    page1, rs1 = rsm_items(alice, SERVER_JID, "<max>1</max>")
    assert page1 == order[:1] and rs1["first"] == order[0] and rs1["index"] == 0 and rs1["count"] == len(order), rs1
    page2, rs2 = rsm_items(alice, SERVER_JID, f"<max>1</max><after>{rs1['last']}</after>")
    assert page2 == order[1:2] and rs2["index"] == 1, (page2, rs2)
    last, _ = rsm_items(alice, SERVER_JID, "<max>1</max><before/>")
    assert last == order[-1:], last
    gone = alice.iq(SERVER_JID, "get", f"<query xmlns='{NS_DISCO_ITEMS}'><set xmlns='{NS_RSM}'><max>1</max>"
                                       f"<after>#nosuch%{IRC_HOST}@{IRC_DOMAIN}</after></set></query>")
    assert gone.get("type") == "error" and "item-not-found" in ET.tostring(gone, encoding="unicode"), \
        ET.tostring(gone, encoding="unicode")

    # Nothing joined: the connection opened for the list quits after the grace period (2 s).
    util.wait_for(lambda: a.whois("alice") is None, WAIT, interval=0.5, what="alice's list-only connection to quit")



def test_fixed_server_lists_channels_as_the_domains_items(gateway, xmpp, irc, names):
    gateway(fixed_server=IRC_HOST)
    chan = "#" + names("lfix")
    irc(names("lf")).join(chan)
    alice = xmpp()
    items = disco_items(alice, IRC_DOMAIN)
    assert (f"{chan}@{IRC_DOMAIN}", None, f"{chan} (1 user)") in items, items


# == presence: nick, kick, part, quit, mode, subject ==========================================
def test_nick_change_kick_part_and_quit(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("pres"), names("alice")
    op, renamer, kicked, parter, quitter = (irc(names(n)) for n in ("op", "ren", "kick", "part", "quit"))
    for c in (op, renamer, kicked, parter, quitter):
        c.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)

    old = renamer.nick
    new = names("renamed")
    renamer.change_nick(new)
    gone = wait_occupant(alice, chan, old, available=False, start=start, code=303)
    assert muc_user(gone).nick == new, f"303 without the new nick: {gone.xml}"
    back = wait_occupant(alice, chan, new, start=alice.ordered.index(gone))
    assert back.type == "available"

    op.kick(chan, kicked.nick, "behave")
    k = wait_occupant(alice, chan, kicked.nick, available=False, start=start, code=307)
    assert "behave" in ((muc_user(k).reason or "") + (k.status or "")), f"kick reason lost: {k.xml}"
    assert 110 not in codes(k)

    parter.part(chan, "gone fishing")
    p = wait_occupant(alice, chan, parter.nick, available=False, start=start)
    assert "gone fishing" in ((p.status or "") + (muc_user(p).reason or "")), f"part reason lost: {p.xml}"
    quitter.quit("bye all")
    q = wait_occupant(alice, chan, quitter.nick, available=False, start=start)
    assert "bye all" in ((q.status or "") + (muc_user(q).reason or "")), f"quit reason lost: {q.xml}"

    # MODE +o on the XMPP user -> her role becomes moderator.
    op.mode(chan, "+o", nick)
    wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and same(resource_of(r.frm), nick)
                 and r.type == "available" and (muc_user(r) and muc_user(r).role == "moderator"), start,
                 what="the self-presence with role moderator after MODE +o")

    # The op kicks the XMPP user: unavailable with 307 and 110.
    op.kick(chan, nick, "out")
    me = wait_occupant(alice, chan, nick, available=False, start=start, code=307)
    assert 110 in codes(me), f"the kicked user's own presence lacks 110: {me.xml}"
    assert "out" in ((muc_user(me).reason or "") + (me.status or "")), me.xml


def test_subject_both_ways(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("subj"), names("alice")
    op = irc(names("op"))
    op.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    op.topic(chan, "topic from irc")
    s = wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and
                     muc_subject(r) == "topic from irc", start, what="the new subject")
    assert s.type == "groupchat"
    m = op.mark()
    muc_send(alice, room(chan), subject="topic from xmpp")
    op.wait(lambda ln: ln.command == "TOPIC" and same(ln.nick, nick) and ln.param(1) == "topic from xmpp", since=m)
    wait_ordered(alice, lambda r: r.kind == "message" and from_room(r, chan) and muc_subject(r) == "topic from xmpp",
                 start, what="the subject change echoed to the XMPP user")


def test_nick_collision_is_conflict(gateway, xmpp, irc, names):
    gateway()
    chan = "#" + names("coll")
    taken = irc(names("taken"))
    taken.join(chan)
    alice = xmpp()
    start = len(alice.ordered)
    muc_join(alice, room(chan), taken.nick)
    err = wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and r.type == "error", start,
                       what="an error presence for the taken nick")
    assert err.condition == "conflict", err.xml
    assert list(taken.names(chan)) == [taken.nick], "someone joined with the taken nick"
    # Another nick works at once.
    join(alice, chan, names("alice"))


def test_password_protected_channel_takes_the_muc_password_as_its_key(gateway, xmpp, irc, names):
    """XEP-0045 §7.2.6 <password/> -> JOIN #chan key on a +k channel; none or a wrong
    one -> <not-authorized/>."""
    gateway()
    chan, nick = "#" + names("key"), names("alice")
    op = irc(names("keyop"))
    op.join(chan)
    op.mode(chan, "+k", "s3cret")
    alice = xmpp()

    def refused(password):
        start = len(alice.ordered)
        muc_join(alice, room(chan), nick, password=password)
        return wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and
                            (r.type == "error" or 110 in codes(r)), start,
                            what=f"the answer to a join with password {password!r}")

    for password in (None, "wrong"):
        err = refused(password)
        assert err.type == "error" and err.condition == "not-authorized", err.xml
    assert not [n for n in op.names(chan) if same(n, nick)], "joined without the key"
    ok = refused("s3cret")
    assert ok.type != "error" and 110 in codes(ok), ok.xml
    op.wait(lambda ln: ln.command == "JOIN" and same(ln.nick, nick), WAIT, what=f"{nick} joining {chan}")


def test_two_resources_share_one_irc_connection(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("res"), names("alice")
    bob = irc(names("bob"))
    bob.join(chan)
    m0 = bob.mark()
    a1, a2 = xmpp(), xmpp()
    assert a1.xmpp.boundjid.full != a2.xmpp.boundjid.full
    s1, _ = join(a1, chan, nick)
    s2, _ = join(a2, chan, nick)  # the second resource gets the room too
    wait_occupant(a2, chan, bob.nick, start=s2)
    joins = [ln for ln in irc_lines_from(bob, nick, m0) if ln.command == "JOIN"]
    assert len(joins) == 1, f"two resources must share one IRC connection, saw {joins}"

    bob.privmsg(chan, "to both")
    wait_groupchat(a1, chan, "to both", frm_nick=bob.nick, start=s1)
    wait_groupchat(a2, chan, "to both", frm_nick=bob.nick, start=s2)
    m = bob.mark()
    muc_send(a1, room(chan), "from resource one")
    bob.wait_privmsg(chan, lambda t: t == "from resource one", frm=nick, since=m)
    wait_groupchat(a1, chan, "from resource one", frm_nick=nick, start=s1)
    wait_groupchat(a2, chan, "from resource one", frm_nick=nick, start=s2)
    assert bob.privmsgs(chan, frm=nick, since=m) == ["from resource one"], "sent to IRC more than once"

    # One resource leaves: the other stays, and so does the nick on IRC.
    muc_leave(a2, room(chan), nick)
    wait_occupant(a2, chan, nick, available=False, start=s2, code=110)
    time.sleep(1.0)
    assert not [ln for ln in irc_lines_from(bob, nick, m0) if ln.command in ("PART", "QUIT")], \
        "the IRC user left while another resource is still in the room"
    bob.privmsg(chan, "still there?")
    wait_groupchat(a1, chan, "still there?", frm_nick=bob.nick, start=s1)


def test_leaving_the_last_room_parts_then_quits_after_the_grace_period(gateway, xmpp, irc, names):
    gateway(grace_seconds=2)
    chan, nick = "#" + names("grace"), names("alice")
    watcher = irc(names("w"))
    watcher.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    m = watcher.mark()
    t0 = time.monotonic()
    muc_leave(alice, room(chan), nick, status="see you")
    me = wait_occupant(alice, chan, nick, available=False, start=start, code=110)
    assert me.type == "unavailable"
    part = watcher.wait(lambda ln: ln.command == "PART" and same(ln.nick, nick), since=m)
    assert part.param(0).lower() == chan.lower()
    assert watcher.whois(nick) is not None, "the connection closed before the grace period"
    util.wait_for(lambda: watcher.whois(nick) is None, 10, interval=0.3,
                  what=f"{nick} to quit IRC after the 2 s grace period")
    assert time.monotonic() - t0 >= 1.5, "quit before the grace period was over"


def test_leaving_and_joining_again_at_once_stays_joined(gateway, xmpp, irc, names):
    """A client that leaves and joins back at once (a "rejoin" in Gajim or
    Conversations) is in the room again: the IRC server's echo of the old PART comes
    after the new JOIN was sent, and it ends nothing. Before the fix it read as the
    server parting us: the rejoin got an unavailable presence and IRC quit."""
    gateway(grace_seconds=1)
    chan, nick = "#" + names("rejoin"), names("alice")
    bob = irc(names("b"))
    bob.join(chan)
    alice = xmpp()
    join(alice, chan, nick)
    for _ in range(3):
        start = len(alice.ordered)
        muc_leave(alice, room(chan), nick)
        muc_join(alice, room(chan), nick)
        wait_ordered(alice, lambda r: r.kind == "presence" and from_room(r, chan) and 110 in codes(r)
                     and r.type not in ("unavailable", "error"), start, what="the self-presence of the rejoin")
    time.sleep(1.5)  # past the grace period: a lost join would have quit IRC by now
    assert not [r for r in alice.ordered[start:] if r.kind == "presence" and from_room(r, chan)
                and r.type == "unavailable" and same(resource_of(r.frm), nick)][1:], "the rejoin was ended"
    bob.privmsg(chan, "still here?")
    wait_groupchat(alice, chan, "still here?", frm_nick=bob.nick, start=start)
    assert self_ping(alice, chan, nick) == "result"


# == flood control ===========================================================================
def test_flood_control_paces_outgoing_lines(gateway, xmpp, irc, names):
    gateway(flood_burst=1, flood_per_second=2)
    chan, nick = "#" + names("flood"), names("alice")
    watcher = irc(names("w"))
    watcher.join(chan)
    alice = xmpp()
    join(alice, chan, nick)
    time.sleep(1.0)  # let the bucket refill after the JOIN
    m = watcher.mark()
    for i in range(6):
        muc_send(alice, room(chan), f"flood {i}")
    watcher.wait_privmsg(chan, lambda t: t == "flood 5", frm=nick, since=m, timeout=20)
    lines = [ln for ln in irc_lines_from(watcher, nick, m) if ln.command == "PRIVMSG"]
    assert [ln.param(1) for ln in lines] == [f"flood {i}" for i in range(6)]
    span = lines[-1].ts - lines[0].ts
    # burst 1, then 2 lines/s: 5 intervals of 0.5 s; ngIRCd's own penalties are off here.
    assert 2.0 <= span <= 6.0, f"6 lines spread over {span:.2f}s, expected about 2.5 s"


# == no injection (SPEC §7) ==================================================================
def test_crlf_injection_never_starts_a_second_irc_command(gateway, xmpp, irc, names):
    gateway()
    chan, nick = "#" + names("inj"), names("alice")
    evil = "#" + names("evil")
    watcher = irc(names("w"))
    watcher.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    # The XMPP self-presence can overtake the JOIN on its way to the watcher: wait for it,
    # so that everything after the mark is what the messages below caused.
    watcher.wait(lambda ln: ln.command == "JOIN" and same(ln.nick, nick))
    m = watcher.mark()

    # body: CR LF, a lone CR (kept by XML only as a character reference) and a lone LF
    muc_send(alice, room(chan), raw_body=f"one&#13;&#10;JOIN {evil}&#13;&#10;QUIT :pwned")
    muc_send(alice, room(chan), raw_body=f"two&#13;JOIN {evil}")
    muc_send(alice, room(chan), raw_body=f"three&#10;PART {chan} :pwned")
    # subject
    muc_send(alice, room(chan), subject=f"legit\r\nJOIN {evil}")
    # raw line to the server JID
    alice.send_message(SERVER_JID, f"PRIVMSG {chan} :raw\r\nJOIN {evil}\nQUIT :pwned")
    # a nick with a line break or spaces, from a second user (a fresh connection)
    bob = xmpp("bob")
    muc_join(bob, room(chan), None, raw_nick=f"bob JOIN {evil}")
    bob.wait(lambda _m, _p: any(r.type == "error" and from_room(r, chan) for r in bob.ordered),
             what="an error presence for the nick with spaces")
    # From another client: a server may bounce a JID with a line break itself (ejabberd
    # does, and slixmpp then drops that connection on the bounce's malformed 'from').
    bob_lf = xmpp("bob")
    muc_join(bob_lf, room(chan), None, raw_nick=f"bob&#10;JOIN {evil}")
    muc_send(alice, room(chan), "end marker")
    watcher.wait_privmsg(chan, lambda t: t == "end marker", frm=nick, since=m)
    time.sleep(1.0)  # anything smuggled would have arrived by now

    for ln in watcher.snapshot(m):
        assert ln.command not in ("QUIT", "PART") or not same(ln.nick, nick), f"injected: {ln.text!r}"
        if same(ln.nick, nick):
            assert ln.command in ("PRIVMSG", "TOPIC"), f"an unexpected command from {nick}: {ln.text!r}"
        assert evil.lower() not in ln.text.lower() or ln.command in ("PRIVMSG", "TOPIC"), ln.text
    texts = watcher.privmsgs(chan, frm=nick, since=m)
    # Each line break splits the body into lines of text (SPEC §7 multi-line), never commands;
    # the raw line (stripped of its breaks, or refused) may add one more PRIVMSG before the marker.
    assert texts[:7] == ["one", f"JOIN {evil}", "QUIT :pwned", "two", f"JOIN {evil}", "three",
                         f"PART {chan} :pwned"], texts
    assert texts[-1] == "end marker" and len(texts) in (8, 9), texts
    assert evil not in watcher.channels(), f"{evil} was created: a command was injected"
    assert watcher.whois(nick) == {chan}, f"{nick} is no longer only in {chan}: {watcher.whois(nick)}"
    topics = [ln for ln in watcher.snapshot(m) if ln.command == "TOPIC"]
    assert len(topics) == 1 and "\n" not in topics[0].param(1), topics
    # the bad nicks were refused, never half-applied on IRC
    assert all(not ln.nick.lower().startswith("bob") for ln in watcher.snapshot(m) if ln.command == "JOIN"), \
        "a JOIN under a mangled version of the bad nick"


# == the IRC server dies =========================================================================
@pytest.mark.timeout(120)
def test_ngircd_kill9_and_restart_rejoins(gateway, xmpp, ngircd, irc_clients, names):
    gateway(ngircd=ngircd, reconnect_max_seconds=2)
    chan, nick = "#" + names("kill"), names("alice")
    stay = irc_clients(ngircd.port, names("stay"))
    stay.join(chan)
    alice = xmpp()
    start, _ = join(alice, chan, nick)
    wait_occupant(alice, chan, stay.nick, start=start)

    mark = len(alice.ordered)
    ngircd.kill()
    wait_occupant(alice, chan, stay.nick, available=False, start=mark)
    notice = wait_ordered(alice, lambda r: r.kind == "message" and r.type == "groupchat" and from_room(r, chan)
                          and r.body, mark, what="a groupchat notice about the lost connection")
    assert notice.body.strip(), notice.xml

    ngircd.start()  # same port
    t0 = time.monotonic()
    back = irc_clients(ngircd.port, names("back"))
    back.join(chan)
    util.wait_for(lambda: nick in back.names(chan), 20, interval=0.5,
                  what=f"{nick} to be back in {chan} after the IRC server restarted")
    rejoin_s = time.monotonic() - t0
    assert rejoin_s < 15, f"rejoined after {rejoin_s:.1f}s"
    wait_occupant(alice, chan, back.nick, start=mark)  # occupant presences come again
    m = back.mark()
    muc_send(alice, room(chan), "after the restart")
    back.wait_privmsg(chan, lambda t: t == "after the restart", frm=nick, since=m)
    back.privmsg(chan, "welcome back")
    wait_groupchat(alice, chan, "welcome back", frm_nick=back.nick, start=mark)
