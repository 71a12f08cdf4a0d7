"""The fake SMS provider alone (tests/e2e/harness/fake_sms_provider.py), without
switchboard: it must speak Twilio's and Telnyx's real formats, or test_sms.py would
prove the transport against a fiction. Signatures are checked against Twilio's
published vectors and with an independent Ed25519 verification; requests are made
with urllib, webhooks received by a plain http.server."""
import base64
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import fake_sms_provider as fsp
from harness import util
from harness.fake_sms_provider import (FakeSmsProvider, drop, ed25519_verify, hang, rate_limited, reject,
                                       server_error, twilio_signature)

FAKE_SCRIPT = os.path.join(os.path.dirname(__file__), "harness", "fake_sms_provider.py")
ALICE, BOB, FRIEND = "+15550001111", "+15550002222", "+15557654321"


# -- a webhook receiver (what switchboard's [http] is to the provider) ------------------------
class Receiver:
    """Records every POST (path with query, headers, raw body); answers `status`."""

    def __init__(self, status=200):
        self.status, self.got, self.cond = status, [], threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.cond:
                    outer.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    outer.cond.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b"<Response/>")

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, n=1, timeout=10):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.got) >= n, timeout):
                raise TimeoutError(f"receiver: {len(self.got)} of {n} webhooks")
            return list(self.got)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def twilio(receiver):
    f = FakeSmsProvider("twilio", webhook_url=receiver.url("/sms/twilio")).start()
    yield f
    f.stop()


@pytest.fixture
def telnyx(receiver):
    f = FakeSmsProvider("telnyx", webhook_url=receiver.url("/sms/telnyx")).start()
    yield f
    f.stop()


# -- a client (what switchboard's curl is to the provider) ------------------------------------
def http(method, url, data=None, headers=None, timeout=10):
    """(status, parsed JSON or text, headers)."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, body, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(body), hdrs
    except ValueError:
        return status, body.decode(), hdrs


def basic(account, token):
    return {"Authorization": "Basic " + base64.b64encode(f"{account}:{token}".encode()).decode()}


def twilio_send(f, to=FRIEND, frm=ALICE, body="hello", callback=None, auth=None, timeout=10, extra=()):
    fields = [("To", to), ("From", frm), ("Body", body)] + list(extra)
    if callback:
        fields.append(("StatusCallback", callback))
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **(auth if auth is not None else basic(f.account, f.token))}
    return http("POST", f"{f.url}/2010-04-01/Accounts/{f.account}/Messages.json",
                urllib.parse.urlencode(fields).encode(), headers, timeout)


def telnyx_send(f, to=FRIEND, frm=ALICE, text="hello", webhook_url=None, key=None):
    doc = {"from": frm, "to": to, "text": text, "use_profile_webhooks": False}
    if webhook_url:
        doc["webhook_url"] = webhook_url
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or f.token}"}
    return http("POST", f"{f.url}/v2/messages", json.dumps(doc).encode(), headers)


def form(body):
    return urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)


# == signatures =================================================================================
def test_twilio_signature_matches_twilios_published_vectors():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    # Repeated parameters: each distinct value once, sorted (twilio-python's test vector).
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"),
                ("Digits", "1234")]
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert twilio_signature("12345", url + "&x=1", params) != "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("backend", ["cryptography", "openssl"])
def test_ed25519_key_signs_verifiably_with_either_backend(backend, monkeypatch):
    if backend == "openssl":
        # A fresh Debian without python3-cryptography falls back to /usr/bin/openssl.
        real_import = __import__

        def no_crypto(name, *a, **kw):
            if name.startswith("cryptography"):
                raise ImportError(name)
            return real_import(name, *a, **kw)
        monkeypatch.setattr("builtins.__import__", no_crypto)
    key = fsp.Ed25519Key()
    assert (key._crypto is None) == (backend == "openssl")
    assert len(key.public_raw) == 32 and base64.b64decode(key.public_b64) == key.public_raw
    sig = key.sign(b"1700000000|{\"a\":1}")
    assert len(sig) == 64
    for _ in range(2):  # verified with the same backend, then (unpatched) with cryptography
        assert ed25519_verify(key.public_raw, sig, b"1700000000|{\"a\":1}")
        assert not ed25519_verify(key.public_raw, sig, b"1700000001|{\"a\":1}")
        monkeypatch.undo()


# == Twilio: sending ================================================================================
def test_twilio_send_is_accepted_like_the_messages_api(twilio):
    status, doc, hdrs = twilio_send(twilio, body="héllo wörld", callback="http://127.0.0.1:9/sms/twilio/status?ref=7")
    assert status == 201 and hdrs["Content-Type"].startswith("application/json")
    assert re.fullmatch(r"SM[0-9a-f]{32}", doc["sid"]), doc
    assert (doc["status"], doc["to"], doc["from"], doc["body"]) == ("queued", FRIEND, ALICE, "héllo wörld")
    assert doc["account_sid"] == twilio.account and doc["direction"] == "outbound-api"
    assert abs(parsedate_to_datetime(doc["date_created"]).timestamp() - time.time()) < 5
    assert doc["uri"] == f"/2010-04-01/Accounts/{twilio.account}/Messages/{doc['sid']}.json"
    [req] = twilio.sends()
    assert req.auth_ok and req.status == 201 and req.message_id == doc["sid"]
    assert dict(req.params)["StatusCallback"] == "http://127.0.0.1:9/sms/twilio/status?ref=7"
    [msg] = twilio.accepted()
    assert (msg.id, msg.body, msg.callback) == (doc["sid"], "héllo wörld", "http://127.0.0.1:9/sms/twilio/status?ref=7")


def test_twilio_wrong_credentials_get_401_and_nothing_is_stored(twilio):
    status, doc, hdrs = twilio_send(twilio, auth=basic(twilio.account, "wrong"))
    assert status == 401 and doc["code"] == 20003 and "Basic" in hdrs["WWW-Authenticate"]
    status, doc, _ = twilio_send(twilio, auth={})
    assert status == 401
    assert [r.auth_ok for r in twilio.sends()] == [False, False] and twilio.accepted() == []


def test_twilio_validation_errors_use_twilio_codes(twilio):
    assert twilio_send(twilio, to="")[1]["code"] == 21604
    status, doc, _ = twilio_send(twilio, to="12345")
    assert (status, doc["code"]) == (400, 21211) and "12345" in doc["message"]
    assert doc["more_info"] == "https://www.twilio.com/docs/errors/21211" and doc["status"] == 400
    assert twilio_send(twilio, body="")[1]["code"] == 21602
    assert twilio_send(twilio, body="x" * 1601)[1]["code"] == 21617
    assert twilio_send(twilio, body="x" * 1600)[0] == 201
    owned = FakeSmsProvider("twilio", numbers=[ALICE]).start()
    try:
        assert twilio_send(owned, frm=BOB)[1]["code"] == 21606
        assert twilio_send(owned, frm=ALICE)[0] == 201
    finally:
        owned.stop()


def test_twilio_scripted_behaviours_apply_one_per_send_in_order(twilio):
    twilio.script(rate_limited(), server_error(), server_error(accept=True),
                  reject(400, 21610, "Attempt to send to unsubscribed recipient"), drop())
    status, doc, _ = twilio_send(twilio, body="one")
    assert (status, doc["code"], doc["message"]) == (429, 20429, "Too Many Requests")
    status, doc, _ = twilio_send(twilio, body="two")
    assert status == 500 and doc["code"] == 20500
    assert twilio.accepted() == [], "a plain 500 stores nothing"
    status, _, _ = twilio_send(twilio, body="three")
    assert status == 500
    assert [m.body for m in twilio.accepted()] == ["three"], "accept-then-500: the provider has the message"
    status, doc, _ = twilio_send(twilio, body="four")
    assert (status, doc["code"], doc["message"]) == (400, 21610, "Attempt to send to unsubscribed recipient")
    with pytest.raises((urllib.error.URLError, ConnectionError, http_client_errors())):
        twilio_send(twilio, body="five")
    assert twilio_send(twilio, body="six")[0] == 201, "an empty script: the default (accept)"
    assert [m.body for m in twilio.accepted()] == ["three", "six"]
    assert [(r.behaviour.kind, r.status) for r in twilio.sends()] == [
        ("rate_limited", 429), ("server_error", 500), ("accept_then_error", 500), ("reject", 400), ("drop", None),
        ("accept", 201)]


def http_client_errors():
    import http.client
    return http.client.HTTPException


def test_twilio_hang_outlives_the_client_timeout_with_the_message_stored(twilio):
    twilio.script(hang(3))
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        twilio_send(twilio, body="slow", timeout=1)
    assert time.monotonic() - t0 < 2.5
    assert [m.body for m in twilio.accepted()] == ["slow"]
    assert twilio_send(twilio, body="next")[0] == 201, "the fake keeps serving while one request hangs"


def test_twilio_delay_holds_each_answer(twilio):
    twilio.delay = 0.3
    t0 = time.monotonic()
    assert twilio_send(twilio)[0] == 201
    assert time.monotonic() - t0 >= 0.3


def test_twilio_lookup_lists_newest_first_with_paging(twilio):
    for i in range(7):
        assert twilio_send(twilio, body=f"m{i}")[0] == 201
    assert twilio_send(twilio, to="+15550009999", body="other")[0] == 201
    base = f"{twilio.url}/2010-04-01/Accounts/{twilio.account}/Messages.json"
    q = urllib.parse.urlencode({"To": FRIEND, "From": ALICE, "PageSize": 3})
    auth = basic(twilio.account, twilio.token)
    status, doc, _ = http("GET", f"{base}?{q}", headers=auth)
    assert status == 200
    assert [m["body"] for m in doc["messages"]] == ["m6", "m5", "m4"]
    assert doc["page_size"] == 3 and doc["next_page_uri"] and doc["previous_page_uri"] is None
    seen = [m["body"] for m in doc["messages"]]
    while doc["next_page_uri"]:
        status, doc, _ = http("GET", twilio.url + doc["next_page_uri"], headers=auth)
        seen += [m["body"] for m in doc["messages"]]
    assert seen == [f"m{i}" for i in range(6, -1, -1)]
    m = doc["messages"][-1]
    assert {"sid", "status", "to", "from", "body", "date_created"} <= set(m)
    status, one, _ = http("GET", f"{twilio.url}/2010-04-01/Accounts/{twilio.account}/Messages/{m['sid']}.json",
                          headers=auth)
    assert status == 200 and one["body"] == "m0"
    assert http("GET", f"{base}?{q}")[0] == 401
    assert [r.kind for r in twilio.lookups()][:1] == ["lookup"]


def test_twilio_status_callback_is_signed_over_the_callback_url(twilio, receiver):
    cb = receiver.url("/sms/twilio/status?ref=42")
    sid = twilio_send(twilio, callback=cb)[1]["sid"]
    assert twilio.send_status(sid, "delivered")[0] == 200
    assert twilio.send_status(sid, "undelivered", error_code=30005)[0] == 200
    got = receiver.wait(2)
    for (path, headers, body), status in zip(got, ("delivered", "undelivered")):
        assert path == "/sms/twilio/status?ref=42"
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        params = form(body)
        fields = dict(params)
        assert fields["MessageSid"] == sid and fields["MessageStatus"] == status == fields["SmsStatus"]
        assert (fields["To"], fields["From"], fields["AccountSid"]) == (FRIEND, ALICE, twilio.account)
        assert headers["x-twilio-signature"] == twilio_signature(twilio.token, cb, params)
    assert "ErrorCode" not in dict(form(got[0][2])) and dict(form(got[1][2]))["ErrorCode"] == "30005"
    # A look-up shows the last status.
    auth = basic(twilio.account, twilio.token)
    doc = http("GET", f"{twilio.url}/2010-04-01/Accounts/{twilio.account}/Messages/{sid}.json", headers=auth)[1]
    assert doc["status"] == "undelivered"


def test_twilio_auto_status_calls_back_in_order(receiver):
    f = FakeSmsProvider("twilio", auto_status=("sent", "delivered"), status_delay=0.01).start()
    try:
        twilio_send(f, callback=receiver.url("/cb?ref=1"))
        got = receiver.wait(2)
        assert [dict(form(b))["MessageStatus"] for _, _, b in got] == ["sent", "delivered"]
    finally:
        f.stop()


# == Twilio: inbound ==================================================================================
def test_twilio_inbound_webhook_carries_twilios_fields_signed(twilio, receiver):
    status, text, sid = twilio.send_inbound(FRIEND, ALICE, "hi there & you")
    assert (status, text) == (200, "<Response/>")
    [(path, headers, body)] = receiver.wait(1)
    assert path == "/sms/twilio"
    params = form(body)
    f = dict(params)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid) and f["MessageSid"] == sid == f["SmsSid"]
    assert (f["From"], f["To"], f["Body"], f["NumMedia"], f["AccountSid"]) == (FRIEND, ALICE, "hi there & you", "0",
                                                                               twilio.account)
    assert headers["x-twilio-signature"] == twilio_signature(twilio.token, receiver.url("/sms/twilio"), params)
    assert headers["content-type"] == "application/x-www-form-urlencoded"


def test_twilio_inbound_mms_has_media_fields(twilio, receiver):
    _, _, sid = twilio.send_inbound(FRIEND, ALICE, "", media=[("https://media.example/a.jpg", "image/jpeg"),
                                                              ("https://media.example/b.png", "image/png")])
    f = dict(form(receiver.wait(1)[0][2]))
    assert sid.startswith("MM") and f["NumMedia"] == "2" and f["Body"] == ""
    assert (f["MediaUrl0"], f["MediaContentType0"]) == ("https://media.example/a.jpg", "image/jpeg")
    assert (f["MediaUrl1"], f["MediaContentType1"]) == ("https://media.example/b.png", "image/png")


@pytest.mark.parametrize("mode", ["invalid", "missing", "tampered", "wrong_url"])
def test_twilio_bad_signature_modes_do_not_verify(twilio, receiver, mode):
    twilio.send_inbound(FRIEND, ALICE, "x", signature=mode)
    _, headers, body = receiver.wait(1)[0]
    sig = headers.get("x-twilio-signature")
    assert sig != twilio_signature(twilio.token, receiver.url("/sms/twilio"), form(body))
    assert (sig is None) == (mode == "missing")


def test_twilio_inbound_reuses_a_given_sid_and_reports_the_answer(twilio, receiver):
    receiver.status = 403
    status, _, sid = twilio.send_inbound(FRIEND, ALICE, "again", message_id="SM" + "ab" * 16)
    assert status == 403 and sid == "SM" + "ab" * 16
    assert twilio.webhooks == [("inbound", receiver.url("/sms/twilio"), 403, "text/xml")]


def test_bot_answers_every_accepted_message_through_the_webhook(receiver):
    f = FakeSmsProvider("twilio", webhook_url=receiver.url("/sms/twilio"), bot=True, bot_delay=0.01).start()
    try:
        twilio_send(f, to=FRIEND, frm=ALICE, body="ping?")
        [(_, headers, body)] = receiver.wait(1)
        params = form(body)
        fields = dict(params)
        assert (fields["From"], fields["To"], fields["Body"]) == (FRIEND, ALICE, "you said: ping?")
        assert headers["x-twilio-signature"] == twilio_signature(f.token, receiver.url("/sms/twilio"), params)
    finally:
        f.stop()


# == Telnyx ===========================================================================================
def test_telnyx_send_is_accepted_like_v2_messages(telnyx):
    status, doc, _ = telnyx_send(telnyx, text="hello", webhook_url="http://127.0.0.1:9/sms/telnyx/status?ref=5")
    assert status == 200
    data = doc["data"]
    uuid.UUID(data["id"])
    assert data["record_type"] == "message" and data["text"] == "hello"
    assert data["from"]["phone_number"] == ALICE and data["to"] == [
        {"phone_number": FRIEND, "status": "queued", "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"}]
    [req] = telnyx.sends()
    assert req.headers["Authorization"] == f"Bearer {telnyx.token}" and req.params["use_profile_webhooks"] is False
    assert telnyx.accepted()[0].callback == "http://127.0.0.1:9/sms/telnyx/status?ref=5"


def test_telnyx_errors_have_the_errors_array(telnyx):
    status, doc, _ = telnyx_send(telnyx, key="KEYwrong")
    assert status == 401 and doc["errors"][0]["code"] == "10009"
    status, doc, _ = telnyx_send(telnyx, to="555")
    assert status == 400 and doc["errors"][0]["code"] == "40310" and doc["errors"][0]["source"] == {"pointer": "/to"}
    telnyx.script(reject(400, "40300", "Blocked as spam"), rate_limited(), server_error(503))
    status, doc, _ = telnyx_send(telnyx)
    assert (status, doc["errors"][0]["code"], doc["errors"][0]["title"]) == (400, "40300", "Blocked as spam")
    assert telnyx_send(telnyx)[1]["errors"][0]["code"] == "10011"
    assert telnyx_send(telnyx)[0] == 503
    assert telnyx.accepted() == []


def test_telnyx_lookup_by_id(telnyx):
    mid = telnyx_send(telnyx)[1]["data"]["id"]
    status, doc, _ = http("GET", f"{telnyx.url}/v2/messages/{mid}", headers={"Authorization": f"Bearer {telnyx.token}"})
    assert status == 200 and doc["data"]["id"] == mid
    assert http("GET", f"{telnyx.url}/v2/messages/{uuid.uuid4()}",
                headers={"Authorization": f"Bearer {telnyx.token}"})[0] == 404


def verify_telnyx(public_raw, headers, body, tolerance=300):
    sig = headers.get("telnyx-signature-ed25519")
    ts = headers.get("telnyx-timestamp")
    if not sig or not ts or abs(time.time() - int(ts)) > tolerance:
        return False
    return ed25519_verify(public_raw, base64.b64decode(sig), ts.encode() + b"|" + body)


def test_telnyx_inbound_webhook_is_signed_ed25519(telnyx, receiver):
    status, _, mid = telnyx.send_inbound(FRIEND, ALICE, "hi", media=[("https://m.example/x.jpg", "image/jpeg")])
    assert status == 200
    [(path, headers, body)] = receiver.wait(1)
    assert path == "/sms/telnyx" and headers["content-type"] == "application/json"
    assert verify_telnyx(base64.b64decode(telnyx.public_key), headers, body)
    d = json.loads(body)["data"]
    assert d["event_type"] == "message.received" and d["payload"]["id"] == mid
    uuid.UUID(d["id"])
    p = d["payload"]
    assert p["from"]["phone_number"] == FRIEND and p["to"][0]["phone_number"] == ALICE and p["text"] == "hi"
    assert p["media"][0]["url"] == "https://m.example/x.jpg" and p["media"][0]["content_type"] == "image/jpeg"


@pytest.mark.parametrize("mode", ["invalid", "missing", "tampered", "stale"])
def test_telnyx_bad_signature_modes_do_not_verify(telnyx, receiver, mode):
    telnyx.send_inbound(FRIEND, ALICE, "x", signature=mode)
    _, headers, body = receiver.wait(1)[0]
    assert not verify_telnyx(base64.b64decode(telnyx.public_key), headers, body)
    if mode == "stale":  # correctly signed, only too old
        assert verify_telnyx(base64.b64decode(telnyx.public_key), headers, body, tolerance=10 ** 6)


def test_telnyx_status_webhooks_go_to_the_message_webhook_url(telnyx, receiver):
    mid = telnyx_send(telnyx, webhook_url=receiver.url("/sms/telnyx/status?ref=9"))[1]["data"]["id"]
    telnyx.send_status(mid, "sent")
    telnyx.send_status(mid, "delivered")
    telnyx.send_status(mid, "delivery_failed", error_code=40008)
    got = receiver.wait(3)
    events = [json.loads(b)["data"] for _, _, b in got]
    assert [p for p, _, _ in got] == ["/sms/telnyx/status?ref=9"] * 3
    assert [e["event_type"] for e in events] == ["message.sent", "message.finalized", "message.finalized"]
    assert [e["payload"]["to"][0]["status"] for e in events] == ["sent", "delivered", "delivery_failed"]
    assert all(e["payload"]["id"] == mid for e in events)
    assert events[2]["payload"]["errors"][0]["code"] == "40008"
    assert all(verify_telnyx(base64.b64decode(telnyx.public_key), h, b) for _, h, b in got)


# == process mode ==========================================================================================
def test_process_mode_control_api_and_tap(receiver, tmp_path):
    ready = tmp_path / "ready.json"
    proc = util.spawn([sys.executable, FAKE_SCRIPT, "--provider", "twilio", "--tap-port", "0", "--no-record",
                       "--webhook-url", receiver.url("/sms/twilio"), "--ready-file", str(ready)],
                      tmp_path / "fake.log")
    try:
        util.wait_for(ready.exists, 20, what="the fake provider's ready file")
        info = json.loads(ready.read_text())
        tap = socket.create_connection(("127.0.0.1", info["tap_port"]), timeout=5)
        f = type("F", (), {"url": info["url"], "account": info["account"], "token": info["token"]})
        for i in range(3):
            assert twilio_send(f, body=f"p{i}")[0] == 201
        got = b""
        while len(got) < 3:
            got += tap.recv(16)
        assert got == b"..."
        state = http("GET", info["url"] + "/_fake/state")[1]
        assert state["counts"]["accepted"] == 3 and state["counts"]["201"] == 3
        assert [m["body"] for m in http("GET", info["url"] + "/_fake/messages")[1]] == ["p0", "p1", "p2"]
        r = http("POST", info["url"] + "/_fake/inbound", json.dumps({"from": FRIEND, "to": ALICE, "body": "in"}).encode(),
                 {"Content-Type": "application/json"})[1]
        assert r["status"] == 200
        assert dict(form(receiver.wait(1)[0][2]))["Body"] == "in"
        tap.close()
    finally:
        util.stop_group(proc)
    assert proc.returncode == 0


def test_fast_mode_answers_sends_like_the_full_fake(tmp_path):
    """The benchmark's raw-protocol fake: same 201 resource and errors, pipelined
    requests on one keep-alive connection, the tap."""
    ready = tmp_path / "ready.json"
    proc = util.spawn([sys.executable, FAKE_SCRIPT, "--provider", "twilio", "--fast", "--tap-port", "0",
                       "--ready-file", str(ready)], tmp_path / "fake.log")
    try:
        util.wait_for(ready.exists, 20, what="the fake provider's ready file")
        info = json.loads(ready.read_text())
        f = type("F", (), {"url": info["url"], "account": info["account"], "token": info["token"]})
        status, doc, hdrs = twilio_send(f, body="fast one", callback="http://127.0.0.1:9/s?ref=1")
        assert status == 201 and re.fullmatch(r"SM[0-9a-f]{32}", doc["sid"]) and doc["body"] == "fast one"
        assert hdrs["Content-Type"].startswith("application/json") and doc["status"] == "queued"
        assert twilio_send(f, auth=basic(f.account, "wrong"))[1]["code"] == 20003
        assert twilio_send(f, to="12")[1]["code"] == 21211
        auth = basic(f.account, f.token)
        assert http("GET", f"{f.url}/2010-04-01/Accounts/{f.account}.json", headers=auth)[0] == 200
        # Two pipelined sends in one write: two answers, in order, on the same connection.
        body = [urllib.parse.urlencode({"To": FRIEND, "From": ALICE, "Body": f"pipe{i}"}).encode() for i in range(2)]
        raw = b"".join(f"POST /2010-04-01/Accounts/{f.account}/Messages.json HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: {auth['Authorization']}\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(b)}\r\n\r\n"
                       .encode() + b for b in body)
        tap = socket.create_connection(("127.0.0.1", info["tap_port"]), timeout=5)
        with socket.create_connection(("127.0.0.1", info["port"]), timeout=5) as c:
            c.sendall(raw)
            got = b""
            while got.count(b"HTTP/1.1 201") < 2 or not got.endswith(b"}"):
                got += c.recv(65536)
        assert got.index(b'"body": "pipe0"') < got.index(b'"body": "pipe1"')
        assert tap.recv(16) == b".."
        tap.close()
    finally:
        util.stop_group(proc)
    assert proc.returncode == 0
