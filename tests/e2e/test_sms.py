"""SPEC §8 end to end: the SMS transport of the built switchboard against the fake
SMS provider (tests/e2e/harness/fake_sms_provider.py, which speaks Twilio's Messages
API and Telnyx's v2 messages with their real webhook signatures) and a real Prosody
and ejabberd (the `server` fixture). The fake decides per send request what happens
(429, 500 with or without having accepted, hang past the timeout, 4xx) and records
everything, so "a person never gets the same text twice" is counted at the provider.
Skipped, naming the reason, when `--check-config` says [[sms]] is not built in.
test_sms_harness.py proves the fake alone."""
import os
import socket
import threading
import time
import urllib.parse

import pytest

from harness import util
from harness.client import oob_urls
from harness.fake_sms_provider import ACCEPT, FakeSmsProvider, hang, rate_limited, reject, server_error
from harness.servers import SMS_DOMAIN, SMS_SECRET
from harness.switchboard import toml_str, toml_value
from harness.xep import (NS_DATA, NS_REGISTER, disco_info, expect_result, gateway_prompt, gateway_resolve,
                         register)

ALICE_NUM, ALICE_NUM2 = "+15550001111", "+15550003333"   # owned by alice in the config
BOB_NUM = "+15550002222"                                 # owned by bob
POOL_NUM = "+15550004444"                                # no owner: claimable by registration
FRIEND = "+15557654321"                                  # a mobile phone out there
FRIEND_JID = f"{FRIEND}@{SMS_DOMAIN}"
NUMBERS = [(ALICE_NUM, "alice@localhost"), (ALICE_NUM2, "alice@localhost"), (BOB_NUM, "bob@localhost"),
           (POOL_NUM, None)]
# Short timeouts so the ambiguous paths resolve within seconds (the contract's test values).
FAST = {"rate_per_number": 0, "ambiguous_seconds": 2, "request_timeout_seconds": 2}


# -- a TCP forwarder whose link can be cut (the component connection) --------------------------
class CuttableProxy:
    """127.0.0.1:port -> target. cut() closes the listener and every forwarded
    connection (the other side sees the link die, new attempts are refused);
    restore() listens on the same port again."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = util.free_port()
        self.conns, self.lock = set(), threading.Lock()
        self.sock = None
        self.restore()

    def restore(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        self.sock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns |= {c, u}
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        # shutdown() wakes the thread blocked in accept() (close() alone would leave
        # the socket listening until that accept returned).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns, self.conns = self.conns, set()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.cut()


# -- fixtures ----------------------------------------------------------------------------------
def sms_block(provider, fake, public_url, keys, numbers=NUMBERS):
    """The [[sms]] TOML block of the contract, wired to `fake`."""
    webhook = public_url.split(":", 2)[2].split("/", 1)[1]
    lines = ["[[sms]]", f"domain = {toml_str(SMS_DOMAIN)}", f"secret = {toml_str(SMS_SECRET)}",
             'allow = ["*@localhost"]', f"provider = {toml_str(provider)}", f"api_base = {toml_str(fake.url)}",
             f"token = {toml_str(fake.token)}", f"webhook = {toml_str('/' + webhook)}",
             f"public_url = {toml_str(public_url)}"]
    if provider == "twilio":
        lines.append(f"account = {toml_str(fake.account)}")
    else:
        lines.append(f"public_key = {toml_str(fake.public_key)}")
    lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    for number, owner in numbers:
        lines += ["", "  [[sms.numbers]]", f"  number = {toml_str(number)}"]
        if owner:
            lines.append(f"  owner = {toml_str(owner)}")
    return "\n".join(lines)


@pytest.fixture
def sms(switchboard_factory, server):
    """sms(provider="twilio", proxy=False, **keys) -> (switchboard, fake provider): a
    running switchboard with only an [[sms]] block on SMS_DOMAIN (FAST keys, then
    `keys`) wired to a fresh fake provider; with proxy=True the component link goes
    through a CuttableProxy (returned as sb.proxy). Everything stopped at teardown,
    switchboard first (it may still talk to the fake while stopping)."""
    made = []

    def make(provider="twilio", proxy=False, fake_args=None, **keys):
        http_port = util.free_port()
        public_url = f"http://127.0.0.1:{http_port}/sms/{provider}"
        fake = FakeSmsProvider(provider, webhook_url=public_url, **(fake_args or {})).start()
        px = CuttableProxy(server.component_port) if proxy else None
        kw = {"xmpp_port": px.port} if px else {}
        sb = switchboard_factory(with_loopback=False, extra=sms_block(provider, fake, public_url, {**FAST, **keys}),
                                 http_port=http_port, **kw)
        sb.proxy, sb.public_url = px, public_url
        made.append((sb, fake, px))
        rc, out = sb.check_config()
        if "not built into this switchboard" in out and not os.environ.get("SB_E2E_REQUIRE_BINARY"):
            pytest.skip(f"the binary has no SMS transport: {out.strip()}")
        assert rc == 0, f"--check-config refused the test config: {out}"
        sb.start(timeout=30)
        return sb, fake
    yield make
    for sb, fake, px in made:
        sb.cleanup()
        fake.stop()
        if px:
            px.close()


def registered(connect, user, phone=None):
    """A logged-in client of `user`, registered on SMS_DOMAIN: with `phone` (XEP-0077
    field, claims a pool number), else an empty form (the user's numbers are in the config)."""
    c = connect(user)
    reply = register(c, SMS_DOMAIN, **({"phone": phone} if phone else {}))
    assert reply.get("type") == "result", f"{user} could not register on {SMS_DOMAIN}: {reply}"
    return c


def chats_from(client, jid):
    return [m for m in client.snapshot()[0] if m.bare_from == jid and m.type == "chat" and m.body is not None]


def errors(client):
    return [m for m in client.snapshot()[0] if m.type == "error"]


def gateway_round_trip(client):
    """A ping through the gateway: every stanza the client sent before has been processed."""
    assert client.iq(SMS_DOMAIN, "get", "<ping xmlns='urn:xmpp:ping'/>").get("type") == "result"


def form_of(req):
    return dict(req.params)


# == XMPP -> SMS ==================================================================================
def test_send_reaches_twilio_with_the_right_request(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    alice.send_message(FRIEND_JID, "hello friend 👋 <&>")
    [msg] = fake.wait_accepted(1, timeout=15)
    [req] = fake.sends()
    assert req.path == f"/2010-04-01/Accounts/{fake.account}/Messages.json" and req.method == "POST"
    assert req.auth_ok, f"wrong Basic auth: {req.headers.get('Authorization')}"
    assert req.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    f = form_of(req)
    assert (f["To"], f["From"], f["Body"]) == (FRIEND, ALICE_NUM, "hello friend 👋 <&>")
    assert f["StatusCallback"].startswith(sb.public_url + "/status?ref="), f["StatusCallback"]
    assert len(f["StatusCallback"]) > len(sb.public_url + "/status?ref=")
    gateway_round_trip(alice)
    time.sleep(0.5)
    assert len(fake.sends()) == 1 and not errors(alice)


def test_429_then_500_then_accept_is_sent_exactly_once_with_a_lookup_before_resending(sms, connect):
    """429: not received, retry. 500 without accepting: ambiguous — the transport must
    find out (look-up) before it re-sends; the look-up finds nothing, so it re-sends."""
    sb, fake = sms()
    alice = registered(connect, "alice")
    fake.script(rate_limited(), server_error(), ACCEPT)
    mid = alice.send_message(FRIEND_JID, "retry me", receipt=True)
    fake.wait_sends(3, timeout=30)
    [msg] = fake.wait_accepted(1)
    sends = fake.sends()
    assert [r.status for r in sends] == [429, 500, 201]
    lookups = [r for r in fake.lookups() if sends[1].seq < r.seq < sends[2].seq]
    assert lookups, f"re-sent after an ambiguous 500 without asking the provider first: {fake.requests}"
    assert lookups[0].auth_ok and lookups[0].method == "GET"
    assert fake.send_status(msg, "delivered")[0] == 200
    alice.wait_message(lambda m: m.receipt_for == mid and m.bare_from == FRIEND_JID, timeout=15,
                       what="the receipt after the delivery callback")
    time.sleep(1)
    assert fake.bodies() == {"retry me": 1} and len(fake.sends()) == 3
    assert not errors(alice), errors(alice)


def test_accepted_then_500_is_not_sent_again_and_the_callback_resolves_it(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    fake.script(server_error(accept=True))
    mid = alice.send_message(FRIEND_JID, "maybe sent", receipt=True)
    [msg] = fake.wait_accepted(1, timeout=15)
    fake.wait(lambda f: f.sends()[0].status == 500, what="the 500 answered")
    time.sleep(0.3)  # the 500 is processed: the send is now ambiguous at the transport
    status, _ = fake.send_status(msg, "delivered")
    assert status == 200
    alice.wait_message(lambda m: m.receipt_for == mid, timeout=15, what="the receipt after the callback")
    time.sleep(FAST["ambiguous_seconds"] + 1.5)  # past the look-up time: nothing may be re-sent
    assert len(fake.sends()) == 1 and fake.bodies() == {"maybe sent": 1}, fake.requests
    assert not errors(alice), errors(alice)


def test_accepted_then_hang_past_the_timeout_is_resolved_by_lookup_not_resent(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    fake.script(hang(8))  # stored, then no answer for 8 s; request_timeout_seconds = 2
    mid = alice.send_message(FRIEND_JID, "slow provider", receipt=True)
    [msg] = fake.wait_accepted(1, timeout=15)
    lookup = fake.wait(lambda f: f.lookups(), timeout=20, what="a look-up of the ambiguous send")[0]
    assert lookup.auth_ok
    if lookup.kind == "lookup":  # the list form: it must narrow to this conversation
        q = urllib.parse.parse_qs(lookup.query)
        assert q.get("To") == [FRIEND] and q.get("From") == [ALICE_NUM], lookup.query
    time.sleep(1.5)
    assert len(fake.sends()) == 1 and fake.bodies() == {"slow provider": 1}, fake.requests
    assert fake.send_status(msg, "delivered")[0] == 200
    alice.wait_message(lambda m: m.receipt_for == mid, timeout=15, what="the receipt after the look-up")
    assert not errors(alice), errors(alice)


def test_provider_4xx_gives_the_user_an_error_with_the_providers_code_and_text(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    fake.script(reject(400, 21211, "The 'To' number +15557654321 is not a valid phone number."))
    mid = alice.send_message(FRIEND_JID, "will bounce", msg_id="bounce-1")
    err = alice.wait_message(lambda m: m.type == "error" and m.id == mid, timeout=15, what="the error message")
    assert err.bare_from == FRIEND_JID
    assert err.error_text and "21211" in err.error_text and "is not a valid phone number" in err.error_text, err.xml
    time.sleep(1)
    assert len(fake.sends()) == 1, f"a 4xx was retried: {fake.requests}"


@pytest.mark.timeout(150)
def test_kill9_with_100_in_the_outbox_sends_each_exactly_once(sms, connect):
    sb, fake = sms(rate_per_number=0)
    fake.delay = 0.05  # every answer 50 ms after the message was stored
    alice = registered(connect, "alice")
    bodies = [f"bulk-{i:03d}" for i in range(100)]
    for b in bodies:
        alice.send_message(FRIEND_JID, b)
    gateway_round_trip(alice)  # all 100 reached switchboard (and its durable outbox)
    fake.wait(lambda f: len(f.messages) >= 10, timeout=30, what="the first sends")
    sb.kill()
    at_kill = len(fake.accepted())
    assert at_kill < 100, "all 100 were sent before the kill: the test would prove nothing"
    # A request the provider stored but never answered (switchboard died waiting):
    # after the restart only a look-up can tell it was sent.
    unanswered = [r for r in fake.sends() if r.message_id and r.status is None]
    restart_seq = fake.requests[-1].seq
    sb.start(timeout=30)
    fake.wait(lambda f: len(set(f.bodies())) >= 100, timeout=90, what="all 100 bodies at the provider")
    time.sleep(FAST["ambiguous_seconds"] + 2)  # anything still unresolved would be re-sent by now
    counts = fake.bodies()
    twice = {b: n for b, n in counts.items() if n > 1}
    assert not twice, f"sent more than once: {twice} (killed after {at_kill} accepted)"
    assert set(counts) == set(bodies)
    assert [m.body for m in fake.accepted()] == bodies, "the texts reached the phone out of order"
    if unanswered:
        assert [r for r in fake.lookups() if r.seq > restart_seq], "an unanswered send was never looked up"


def test_same_text_twice_with_the_second_unsent_by_a_500_is_still_sent(sms, connect):
    """People send "ok" twice. The first is accepted and delivered; the second gets a
    500 and was NOT accepted: the look-up sees only the first "ok" (same numbers,
    same text, seconds old) and must not take it for the second."""
    sb, fake = sms()
    alice = registered(connect, "alice")
    first = alice.send_message(FRIEND_JID, "ok", receipt=True)
    [m1] = fake.wait_accepted(1, timeout=15)
    assert fake.send_status(m1, "delivered")[0] == 200
    alice.wait_message(lambda m: m.receipt_for == first, timeout=15, what="the first receipt")
    fake.script(server_error())
    alice.send_message(FRIEND_JID, "ok", receipt=True)
    fake.wait(lambda f: f.lookups(), timeout=15, what="the look-up after the 500")
    fake.wait(lambda f: f.bodies()["ok"] >= 2, timeout=15,
              what="the second 'ok' to be sent (the look-up found only the first one, already delivered)")


def test_long_text_is_split_into_parts_in_order(sms, connect):
    sb, fake = sms(max_body=20)
    alice = registered(connect, "alice")
    text = "one two three four five six seven eight nine ten eleven"
    alice.send_message(FRIEND_JID, text)
    fake.wait(lambda f: len(f.messages) >= 3, timeout=15, what="the parts")
    gateway_round_trip(alice)
    time.sleep(0.5)
    parts = [m.body for m in fake.accepted()]
    assert all(len(p) <= 20 for p in parts) and len(parts) >= 3, parts
    assert " ".join(parts).split() == text.split(), parts
    assert not errors(alice)


def test_rate_per_number_paces_the_sends(sms, connect):
    sb, fake = sms(rate_per_number=2)
    alice = registered(connect, "alice")
    for i in range(5):
        alice.send_message(FRIEND_JID, f"paced {i}")
    msgs = fake.wait(lambda f: f.accepted() if len(f.messages) >= 5 else None, timeout=20, what="5 paced sends")
    span = msgs[-1].created - msgs[0].created
    assert span >= 1.0, f"5 messages at 2/s took {span:.2f} s at the provider"
    assert [m.body for m in msgs] == [f"paced {i}" for i in range(5)]


def test_sending_from_another_users_number_is_forbidden(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    mid = alice.send_message(f"{FRIEND_JID}/{BOB_NUM}", "from bob's phone", msg_id="steal-1")
    err = alice.wait_message(lambda m: m.type == "error" and m.id == mid, timeout=15, what="forbidden")
    assert err.condition == "forbidden", err.xml
    # Her own second number, chosen the same way, works.
    alice.send_message(f"{FRIEND_JID}/{ALICE_NUM2}", "from my second phone")
    [msg] = fake.wait_accepted(1, timeout=15)
    assert (msg.frm, msg.body) == (ALICE_NUM2, "from my second phone")
    assert [form_of(r)["From"] for r in fake.sends()] == [ALICE_NUM2], "bob's number was used"


def test_pool_number_is_claimed_by_registration(sms, connect):
    sb, fake = sms()
    bob = registered(connect, "bob", phone=POOL_NUM)
    bob.send_message(f"{FRIEND_JID}/{POOL_NUM}", "from the pool number")
    [msg] = fake.wait_accepted(1, timeout=15)
    assert msg.frm == POOL_NUM
    # Taken now: alice cannot claim it too.
    alice = connect("alice")
    reply = register(alice, SMS_DOMAIN, phone=POOL_NUM)
    assert reply.get("type") == "error", f"alice claimed bob's number: {reply}"
    # Bob's form still offers his number, chosen (it is no longer free, so the
    # transport does not list it): a client submitting the form unchanged keeps it.
    got = expect_result(bob.iq(SMS_DOMAIN, "get", f"<query xmlns='{NS_REGISTER}'/>"))
    field = got.find(f".//{{{NS_DATA}}}field[@var='phone']")
    options = [o.findtext(f"{{{NS_DATA}}}value") for o in field.findall(f"{{{NS_DATA}}}option")]
    assert POOL_NUM in options and field.findtext(f"{{{NS_DATA}}}value") == POOL_NUM, options
    assert register(bob, SMS_DOMAIN, phone=POOL_NUM).get("type") == "result"
    bob.send_message(f"{FRIEND_JID}/{POOL_NUM}", "still mine")
    assert [m.frm for m in fake.wait_accepted(2, timeout=15)] == [POOL_NUM, POOL_NUM]


def test_delivery_callbacks_give_a_receipt_or_an_error(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    ok_id = alice.send_message(FRIEND_JID, "deliver me", receipt=True)
    [ok] = fake.wait_accepted(1, timeout=15)
    assert fake.send_status(ok, "sent")[0] == 200
    gateway_round_trip(alice)
    time.sleep(0.3)
    assert not [m for m in alice.snapshot()[0] if m.receipt_for == ok_id], "a receipt before delivery"
    assert fake.send_status(ok, "delivered")[0] == 200
    rc = alice.wait_message(lambda m: m.receipt_for == ok_id, timeout=15, what="the receipt")
    assert rc.bare_from == FRIEND_JID and rc.type != "error"
    bad_id = alice.send_message(FRIEND_JID, "never arrives", receipt=True, msg_id="never-1")
    bad = fake.wait_accepted(2, timeout=15)[1]
    assert fake.send_status(bad, "undelivered", error_code=30005)[0] == 200
    err = alice.wait_message(lambda m: m.type == "error" and m.id == bad_id, timeout=15,
                             what="the error after 'undelivered'")
    assert "30005" in (err.error_text or ""), err.xml
    # A forged callback (bad signature) changes nothing and is refused.
    third = alice.send_message(FRIEND_JID, "third", receipt=True)
    m3 = fake.wait_accepted(3, timeout=15)[2]
    assert fake.send_status(m3, "delivered", signature="invalid")[0] == 403
    gateway_round_trip(alice)
    time.sleep(0.3)
    assert not [m for m in alice.snapshot()[0] if m.receipt_for == third], "a forged callback made a receipt"


# == SMS -> XMPP ==================================================================================
def test_signed_inbound_webhook_is_delivered_once(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    status, text, sid = fake.send_inbound(FRIEND, ALICE_NUM, "hi alice <3 & more")
    assert status == 200 and text.strip().startswith("<Response"), text
    assert fake.webhooks[-1][3].startswith("text/xml")
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.type == "chat", timeout=15,
                             what="the SMS as a chat message")
    assert got.body == "hi alice <3 & more" and got.to.split("/")[0] == "alice@localhost"
    # The provider retries the same MessageSid: answered 200, delivered once.
    assert fake.send_inbound(FRIEND, ALICE_NUM, "hi alice <3 & more", message_id=sid)[0] == 200
    assert fake.send_inbound(FRIEND, ALICE_NUM, "next one")[0] == 200
    alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.body == "next one", timeout=15)
    assert [m.body for m in chats_from(alice, FRIEND_JID)] == ["hi alice <3 & more", "next one"]


def test_bad_or_missing_signature_is_403_and_nothing_is_delivered(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    for mode in ("invalid", "missing", "tampered", "wrong_url"):
        status, _, _ = fake.send_inbound(FRIEND, ALICE_NUM, f"forged {mode}", signature=mode)
        assert status == 403, f"signature {mode}: {status}"
    assert fake.send_inbound(FRIEND, "+15559990000", "to nobody")[0] == 404, "a number switchboard does not manage"
    assert fake.send_inbound(FRIEND, ALICE_NUM, "genuine")[0] == 200
    alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.body == "genuine", timeout=15)
    time.sleep(0.3)
    assert [m.body for m in alice.snapshot()[0] if m.bare_from == FRIEND_JID] == ["genuine"]


def test_mms_media_become_oob_urls(sms, connect):
    sb, fake = sms()
    alice = registered(connect, "alice")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    assert fake.send_inbound(FRIEND, ALICE_NUM, "", media=[(url, "image/jpeg")])[0] == 200
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.type == "chat", timeout=15)
    assert oob_urls(got) == [url] and got.body == url, got.xml
    assert fake.send_inbound(FRIEND, ALICE_NUM, "look at this", media=[(url + "2", "image/png")])[0] == 200
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.body and "look at this" in m.body, timeout=15)
    assert oob_urls(got) == [url + "2"], got.xml


def test_duplicate_webhook_after_kill9_is_not_delivered_again(sms, connect):
    """Providers retry a webhook they did not see answered, possibly after our restart:
    the retry is answered 200 and makes no new message. (A crash before the XMPP
    server provably read the first delivery may replay it once, as everywhere in
    switchboard (SPEC §3): same origin-id, with a XEP-0203 delay.)"""
    sb, fake = sms()
    alice = registered(connect, "alice")
    _, _, sid = fake.send_inbound(FRIEND, ALICE_NUM, "before the crash")
    alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.body == "before the crash", timeout=15)
    sb.kill()
    sb.start(timeout=30)
    assert fake.send_inbound(FRIEND, ALICE_NUM, "before the crash", message_id=sid)[0] == 200
    assert fake.send_inbound(FRIEND, ALICE_NUM, "after the crash")[0] == 200
    alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.body == "after the crash", timeout=15)
    time.sleep(0.3)
    got = chats_from(alice, FRIEND_JID)
    assert [m.body for m in got if m.body != "before the crash"] == ["after the crash"]
    first = [m for m in got if m.body == "before the crash"]
    assert all(m.origin_id == sid for m in first), [m.xml for m in first]
    assert len(first) == 1 or (len(first) == 2 and "urn:xmpp:delay" in first[1].xml), \
        f"the provider's retry was delivered as a new message: {[m.xml for m in first]}"


@pytest.mark.timeout(120)
def test_webhook_stored_while_the_link_is_down_survives_kill9(sms, connect):
    """The 200 means "stored": a crash before delivery loses nothing."""
    sb, fake = sms(proxy=True)
    alice = registered(connect, "alice")
    sb.proxy.cut()
    util.wait_for(lambda: (sb.component_health(SMS_DOMAIN) or {}).get("authenticated") is False, 15,
                  interval=0.1, what="switchboard to notice its component link is gone")
    assert fake.send_inbound(FRIEND, ALICE_NUM, "stored, then a crash")[0] == 200
    sb.kill()
    sb.proxy.restore()
    sb.start(timeout=30)
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.type == "chat", timeout=30,
                             what="the stored SMS after the restart")
    assert got.body == "stored, then a crash"


@pytest.mark.timeout(120)
def test_webhook_while_the_component_link_is_down_is_delivered_after_reconnect(sms, connect):
    sb, fake = sms(proxy=True)
    alice = registered(connect, "alice")
    sb.proxy.cut()
    util.wait_for(lambda: (sb.component_health(SMS_DOMAIN) or {}).get("authenticated") is False, 15,
                  interval=0.1, what="switchboard to notice its component link is gone")
    status, _, _ = fake.send_inbound(FRIEND, ALICE_NUM, "while you were away")
    assert status == 200, "a webhook must be stored and answered while the link is down"
    sb.proxy.restore()
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.type == "chat", timeout=60,
                             what="the stored SMS after the component reconnected")
    assert got.body == "while you were away"


# == Telnyx ==========================================================================================
def test_telnyx_send_uses_bearer_json_and_the_status_webhook(sms, connect):
    sb, fake = sms("telnyx")
    alice = registered(connect, "alice")
    mid = alice.send_message(FRIEND_JID, "hello via telnyx", receipt=True)
    [msg] = fake.wait_accepted(1, timeout=15)
    [req] = fake.sends()
    assert (req.method, req.path) == ("POST", "/v2/messages")
    assert req.auth_ok, f"wrong Authorization: {req.headers.get('Authorization')}"
    assert req.headers["Content-Type"].startswith("application/json")
    d = req.params
    assert (d["from"], d["to"], d["text"]) == (ALICE_NUM, FRIEND, "hello via telnyx")
    assert d["webhook_url"].startswith(sb.public_url + "/status?ref=") and d["use_profile_webhooks"] is False
    assert fake.send_status(msg, "sent")[0] == 200
    assert fake.send_status(msg, "delivered")[0] == 200
    alice.wait_message(lambda m: m.receipt_for == mid, timeout=15, what="the receipt after message.finalized")


def test_telnyx_accepted_then_500_is_resolved_by_the_status_webhook(sms, connect):
    """Telnyx has no look-up by our reference: the status webhook carrying it resolves
    the ambiguous send; nothing is sent twice."""
    sb, fake = sms("telnyx")
    alice = registered(connect, "alice")
    fake.script(server_error(accept=True))
    mid = alice.send_message(FRIEND_JID, "telnyx maybe", receipt=True)
    [msg] = fake.wait_accepted(1, timeout=15)
    fake.wait(lambda f: f.sends()[0].status == 500, what="the 500 answered")
    time.sleep(0.3)
    assert fake.send_status(msg, "sent")[0] == 200
    assert fake.send_status(msg, "delivered")[0] == 200
    alice.wait_message(lambda m: m.receipt_for == mid, timeout=15, what="the receipt after message.finalized")
    time.sleep(FAST["ambiguous_seconds"] + 1)
    assert len(fake.sends()) == 1 and not errors(alice), (fake.requests, errors(alice))


def test_telnyx_inbound_webhook_signature_is_checked(sms, connect):
    sb, fake = sms("telnyx")
    alice = registered(connect, "alice")
    for mode in ("invalid", "missing", "tampered", "stale"):
        assert fake.send_inbound(FRIEND, ALICE_NUM, f"forged {mode}", signature=mode)[0] == 403, mode
    status, _, _ = fake.send_inbound(FRIEND, ALICE_NUM, "genuine telnyx",
                                     media=[("https://media.telnyx.example/x.jpg", "image/jpeg")])
    assert status == 200
    got = alice.wait_message(lambda m: m.bare_from == FRIEND_JID and m.type == "chat", timeout=15)
    assert "genuine telnyx" in got.body and oob_urls(got) == ["https://media.telnyx.example/x.jpg"]
    time.sleep(0.3)
    assert len([m for m in alice.snapshot()[0] if m.bare_from == FRIEND_JID]) == 1


# == XEP-0100 and disco ==============================================================================
def test_gateway_prompt_turns_a_typed_number_into_a_jid(sms, connect):
    sb, fake = sms()
    alice = connect("alice")
    identities, features, _ = disco_info(alice, SMS_DOMAIN)
    assert ("gateway", "sms") in identities and "jabber:iq:gateway" in features, (identities, features)
    desc, prompt = gateway_prompt(alice, SMS_DOMAIN)
    assert prompt, "no XEP-0100 prompt"
    assert gateway_resolve(alice, SMS_DOMAIN, "+1 555 765 4321")[0] == FRIEND_JID
    assert gateway_resolve(alice, SMS_DOMAIN, "+1 (555) 765-4321")[0] == FRIEND_JID
    jid, reply = gateway_resolve(alice, SMS_DOMAIN, "not a number")
    assert jid is None and reply.get("type") == "error", reply
