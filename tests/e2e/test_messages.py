"""Messages through the loopback transport (tests/fixtures/loopback) and the
stanza errors a user sees (SPEC §4), plus the goodbye on SIGTERM (SPEC §1)."""
from harness.servers import GW_DOMAIN
from harness.xep import register

ECHO = f"echo@{GW_DOMAIN}"


def registered(connect, user="alice"):
    c = connect(user)
    reply = register(c, GW_DOMAIN, nick=f"{user}1")
    assert reply.get("type") == "result", reply
    return c


def test_echo_is_byte_exact(switchboard, connect):
    alice = registered(connect)
    body = "5 & 6 < 7 > 4 'single' \"double\" 😀 ünïcödé ☃\ttab"
    alice.send_message(ECHO, body)
    got = alice.wait_message(lambda m: m.bare_from == ECHO and m.type != "error", what="the echo")
    assert got.body == body
    assert got.type == "chat"
    assert got.to.split("/")[0] == "alice@localhost"


def test_echo_with_receipt_request(switchboard, connect):
    alice = registered(connect)
    mid = alice.send_message(ECHO, "receipt please", receipt=True, msg_id="rcpt-1")
    alice.wait_message(lambda m: m.bare_from == ECHO and m.body == "receipt please")
    got = alice.wait_message(lambda m: m.bare_from == ECHO and m.receipt_for == mid, what="XEP-0184 receipt")
    assert got.type != "error"


def test_unknown_contact_is_item_not_found(switchboard, connect):
    alice = registered(connect)
    alice.send_message(f"nobody-here@{GW_DOMAIN}", "hello?")
    err = alice.wait_message(lambda m: m.type == "error", what="an error reply")
    assert err.bare_from == f"nobody-here@{GW_DOMAIN}"
    assert err.condition == "item-not-found"


def test_unregistered_user_gets_registration_required(switchboard, connect):
    bob = connect("bob")
    bob.send_message(ECHO, "let me in")
    err = bob.wait_message(lambda m: m.bare_from == ECHO, what="a reply from echo")
    assert err.type == "error" and err.condition == "registration-required", err


def test_user_outside_allow_list_is_forbidden(switchboard_factory, connect):
    switchboard_factory(allow=["alice@localhost", "admin@localhost"]).start()
    bob = connect("bob")
    bob.send_message(ECHO, "let me in")
    err = bob.wait_message(lambda m: m.bare_from == ECHO, what="a reply from echo")
    assert err.type == "error" and err.condition == "forbidden", err
    # alice, who is allowed, still gets through.
    alice = registered(connect)
    alice.send_message(ECHO, "hi")
    assert alice.wait_message(lambda m: m.bare_from == ECHO and m.type != "error").body == "hi"


def test_sigterm_sends_unavailable_and_exits_zero(switchboard, connect):
    alice = registered(connect)
    # After registration the loopback contacts are available to the user.
    alice.wait_presence(lambda p: p.bare_from == ECHO and p.type == "available", what="echo available")
    available = {p.bare_from for p in alice.snapshot()[1]
                 if p.type == "available" and p.bare_from.endswith("@" + GW_DOMAIN)}
    rc, elapsed = switchboard.terminate()
    assert rc == 0
    assert elapsed < 5
    for contact in available:
        alice.wait_presence(lambda p, c=contact: p.bare_from == c and p.type == "unavailable",
                            timeout=5, what=f"unavailable from {contact}")
