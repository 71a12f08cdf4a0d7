#!/usr/bin/python3
"""A fake SMS provider for tests, the demo and the benchmark (SPEC §8): an aiohttp
server on 127.0.0.1 that speaks the REAL request and webhook formats of

  twilio   Messages API 2010-04-01: POST /2010-04-01/Accounts/{AccountSid}/Messages.json
           (form-encoded, HTTP Basic AccountSid:AuthToken) -> 201 Message resource; errors
           {"code","message","more_info","status"}; GET .../Messages.json?To=&From=&PageSize=
           (paged, newest first) and .../Messages/{Sid}.json; status callbacks and inbound
           webhooks form-encoded, signed X-Twilio-Signature = base64(HMAC-SHA1(AuthToken,
           URL + name+value of every POST parameter sorted by name)).
  telnyx   v2 messages: POST /v2/messages (JSON, Authorization: Bearer <API key>) ->
           200 {"data": message}; errors {"errors":[{"code","title","detail"}]};
           GET /v2/messages/{id}; webhooks {"data":{"event_type","id","occurred_at",
           "payload"}}, signed telnyx-signature-ed25519 = base64(Ed25519(telnyx-timestamp
           + "|" + raw body)) with telnyx-timestamp (unix seconds).

Why a fake and not mocks: the transport's ambiguity handling (a request the provider
got but never answered) can only be tested against something that really holds a
message store, answers look-ups and sends signed callbacks. So the fake decides per
send request what happens (scripted behaviours: accept, reject, 429, 500 with or
without accepting, accept-then-hang, drop) and records every request it got.

Use in a test (runs on its own asyncio loop thread):
    fake = FakeSmsProvider("twilio", webhook_url=public_url).start()
    fake.script(rate_limited(), server_error(), ACCEPT)   # the next three send requests
    ... fake.wait_accepted(1); fake.send_status(msg, "delivered"); fake.send_inbound(...)
    fake.stop()
As a process (demo, benchmark):
    fake_sms_provider.py --provider twilio --port P --account AC.. --token T
        --webhook-url URL [--bot] [--auto-status sent,delivered] [--no-record] [--tap-port Q]
  with a small control API under /_fake/ (state, messages, requests, inbound, status,
  script) and an optional TCP "tap" that writes one byte per accepted message (the
  benchmark counts deliveries with select(), without polling).

Ed25519 (Telnyx) uses python3-cryptography when importable, else /usr/bin/openssl
(`openssl pkeyutl -sign -rawin`).
"""
import argparse
import asyncio
import base64
import collections
import datetime
import email.utils
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from aiohttp import ClientSession, ClientTimeout, web

HOST = "127.0.0.1"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
TWILIO_MAX_BODY = 1600  # Twilio error 21617 beyond this
TWILIO_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")
TELNYX_STATUSES = {"queued": "message.sent", "sending": "message.sent", "sent": "message.sent",
                   "delivered": "message.finalized", "delivery_failed": "message.finalized",
                   "sending_failed": "message.finalized", "delivery_unconfirmed": "message.finalized"}


# -- signatures ------------------------------------------------------------------------
def twilio_signature(token, url, params):
    """X-Twilio-Signature as Twilio computes it (and twilio-python's RequestValidator
    checks it): the full URL, then for every POST parameter sorted by name its name and
    value(s) concatenated; HMAC-SHA1 keyed with the auth token; base64. `params` is a
    dict or a list of (name, value) pairs; a repeated name contributes each distinct
    value once, sorted (twilio-python's compute_signature: sorted(set(values)))."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    by_name = collections.defaultdict(list)
    for k, v in pairs:
        by_name[k].append(v)
    data = url
    for k in sorted(by_name):
        for v in sorted(set(by_name[k])):
            data += k + v
    mac = hmac.new(token.encode(), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class Ed25519Key:
    """An Ed25519 key pair: sign(bytes) -> 64-byte signature; public_raw (32 bytes)
    and public_b64 (what Telnyx's portal shows and the [[sms]] public_key takes)."""

    def __init__(self):
        try:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        except ImportError:
            self._crypto = None
            self._openssl_init()
        else:
            self._crypto = Ed25519PrivateKey.generate()
            self.public_raw = self._crypto.public_key().public_bytes(serialization.Encoding.Raw,
                                                                      serialization.PublicFormat.Raw)
        self.public_b64 = base64.b64encode(self.public_raw).decode()

    def _openssl_init(self):
        with tempfile.TemporaryDirectory(prefix="fake-sms-ed25519-") as d:
            pem = os.path.join(d, "key.pem")
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", pem], check=True,
                           capture_output=True, timeout=20)
            der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"], check=True,
                                 capture_output=True, timeout=20).stdout
            with open(pem, "rb") as f:
                self._pem = f.read()
        self.public_raw = der[-32:]  # SubjectPublicKeyInfo DER: the raw key is the last 32 bytes

    def sign(self, data):
        if self._crypto is not None:
            return self._crypto.sign(data)
        # Ed25519 is one-shot: openssl must know the input size, so a file, not stdin.
        with tempfile.TemporaryDirectory(prefix="fake-sms-ed25519-") as d:
            pem, msg = os.path.join(d, "key.pem"), os.path.join(d, "msg")
            for path, content in ((pem, self._pem), (msg, data)):
                with open(path, "wb") as f:
                    f.write(content)
            r = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", pem, "-in", msg], check=True,
                               capture_output=True, timeout=20)
        return r.stdout


def ed25519_verify(public_raw, signature, data):
    """True when `signature` is a valid Ed25519 signature of `data` (for the harness tests)."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        with tempfile.TemporaryDirectory() as d:
            pub = os.path.join(d, "pub.der")
            with open(pub, "wb") as f:  # SubjectPublicKeyInfo for Ed25519 (RFC 8410)
                f.write(bytes.fromhex("302a300506032b6570032100") + public_raw)
            sig = os.path.join(d, "sig")
            with open(sig, "wb") as f:
                f.write(signature)
            msg = os.path.join(d, "msg")
            with open(msg, "wb") as f:
                f.write(data)
            r = subprocess.run(["openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-keyform", "DER", "-inkey",
                                pub, "-sigfile", sig, "-in", msg], capture_output=True, timeout=20)
            return r.returncode == 0
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
        return True
    except InvalidSignature:
        return False


def telnyx_headers(key, body, timestamp=None):
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    sig = base64.b64encode(key.sign(ts.encode() + b"|" + body)).decode()
    return {"telnyx-signature-ed25519": sig, "telnyx-timestamp": ts}


# -- ids and dates --------------------------------------------------------------------------
def twilio_sid(prefix="SM"):
    return prefix + secrets.token_hex(16)


def rfc2822(ts):
    return email.utils.format_datetime(datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc))


def iso8601(ts):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+00:00"


# -- scripted behaviours for send requests ------------------------------------------------
class Behaviour:
    """What the fake does with one send request. `accept`: the message is stored (the
    provider has it, a look-up finds it, it will be "sent"); then the answer is
    `status` (201/200 for a normal accept, an error otherwise), after `delay` seconds;
    `hang` seconds: the answer comes that late (past the client's timeout); `drop`:
    the connection is closed without an answer."""

    def __init__(self, kind, accept, status=None, code=None, message=None, hang=0.0, drop=False,
                 retry_after=None):
        self.kind, self.accept, self.status, self.code, self.message = kind, accept, status, code, message
        self.hang, self.drop, self.retry_after = hang, drop, retry_after

    def to_json(self):
        return dict(vars(self))

    @classmethod
    def from_json(cls, d):
        if isinstance(d, str):
            return {"accept": ACCEPT, "rate_limited": rate_limited(), "server_error": server_error(),
                    "accept_then_500": server_error(accept=True), "hang": hang(30), "drop": drop()}[d]
        return cls(**d)

    def __repr__(self):
        return f"<{self.kind} accept={self.accept} status={self.status}>"


ACCEPT = Behaviour("accept", True)


def reject(status=400, code=21211, message=None):
    """A 4xx with the provider's error code and text (Twilio: numeric codes such as
    21211 invalid To, 21610 unsubscribed recipient; Telnyx: string codes such as "40300")."""
    return Behaviour("reject", False, status, code, message)


def rate_limited(retry_after=None):
    """429 Too Many Requests (Twilio code 20429; Telnyx "10011"); nothing stored."""
    return Behaviour("rate_limited", False, 429, None, None, retry_after=retry_after)


def server_error(status=500, accept=False):
    """A 5xx. accept=True: the message was stored (and will be sent) before the
    provider failed to answer properly: the ambiguous case of SPEC §8."""
    return Behaviour("accept_then_error" if accept else "server_error", accept, status)


def hang(seconds, accept=True):
    """The request is held `seconds` before it is answered (by default after the
    message was stored): the client times out not knowing."""
    return Behaviour("hang", accept, hang=seconds)


def drop(accept=False):
    """The connection is closed without any answer (optionally after storing)."""
    return Behaviour("drop", accept, drop=True)


# -- records --------------------------------------------------------------------------------
class Request:
    """One HTTP request the fake received (API or control-free): as the provider saw it."""

    def __init__(self, seq, method, path, query, headers, body, params, auth_ok, t):
        self.seq, self.method, self.path, self.query = seq, method, path, query
        self.headers, self.body, self.params, self.auth_ok, self.time = headers, body, params, auth_ok, t
        self.kind = None        # "send", "lookup", "get", "account", "other"
        self.behaviour = None   # the Behaviour applied to a send
        self.status = None      # the status answered (None: no answer: dropped / hung up)
        self.message_id = None  # the accepted message's sid / id
        self.peer = None        # (host, port) of the client: which connection carried it

    def to_json(self):
        d = {k: v for k, v in vars(self).items() if k not in ("body", "behaviour")}
        d["body"] = self.body.decode("utf-8", "replace")
        d["behaviour"] = self.behaviour.kind if self.behaviour else None
        return d

    def __repr__(self):
        return f"<{self.method} {self.path} {self.kind} -> {self.status} {self.message_id or ''}>"


class Message:
    """A message the provider accepted (it exists at the provider, whatever the client heard)."""

    def __init__(self, provider, mid, frm, to, body, media, callback, t, seq):
        self.provider, self.id, self.frm, self.to, self.body = provider, mid, frm, to, body
        self.media, self.callback, self.created, self.seq = media, callback, t, seq
        self.status = "queued"
        self.request_seq = None
        self.callbacks = []  # (status, http status or exception text) of each status callback sent

    @property
    def sid(self):
        return self.id

    def twilio_json(self, account):
        uri = f"/2010-04-01/Accounts/{account}/Messages/{self.id}"
        sent = self.status in ("sent", "delivered", "undelivered")
        return {"account_sid": account, "api_version": "2010-04-01", "body": self.body, "date_created":
                rfc2822(self.created), "date_sent": rfc2822(self.created) if sent else None,
                "date_updated": rfc2822(self.created), "direction": "outbound-api", "error_code": None,
                "error_message": None, "from": self.frm, "messaging_service_sid": None,
                "num_media": str(len(self.media)), "num_segments": str(max(1, -(-len(self.body) // 153))),
                "price": None, "price_unit": "USD", "sid": self.id, "status": self.status,
                "subresource_uris": {"media": uri + "/Media.json"}, "to": self.to, "uri": uri + ".json"}

    def telnyx_json(self, recipient_status=None):
        return {"record_type": "message", "direction": "outbound", "id": self.id, "type": "MMS" if self.media
                else "SMS", "messaging_profile_id": "400174b1-3ab0-4f9e-8f3a-8d6e0b2d7c4e",
                "organization_id": "9c8f2b1e-5c2d-4a7b-9e1f-3d2c1b0a9f8e",
                "from": {"phone_number": self.frm, "carrier": "Telnyx", "line_type": "Wireless"},
                "to": [{"phone_number": self.to, "status": recipient_status or self.status,
                        "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"}],
                "text": self.body, "subject": None, "media": [{"url": u} for u in self.media],
                "webhook_url": self.callback or "", "webhook_failover_url": "", "encoding": "GSM-7",
                "parts": max(1, -(-len(self.body) // 153)), "tags": [], "cost": None,
                "received_at": iso8601(self.created), "sent_at": None, "completed_at": None, "valid_until": None,
                "errors": []}

    def to_json(self):
        return {"id": self.id, "from": self.frm, "to": self.to, "body": self.body, "media": self.media,
                "callback": self.callback, "created": self.created, "status": self.status,
                "request_seq": self.request_seq, "callbacks": self.callbacks}

    def __repr__(self):
        return f"<{self.id} {self.frm}->{self.to} {self.body[:30]!r} {self.status}>"


# -- the server -----------------------------------------------------------------------------
class FakeSmsProvider:
    """See the module docstring. Thread-safe for the test thread: every public
    method may be called while the server runs on its own loop thread."""

    def __init__(self, provider="twilio", *, account=None, token=None, webhook_url=None, port=0, numbers=None,
                 delay=0.0, auto_status=(), status_delay=0.05, bot=False, bot_delay=0.2, record=True,
                 tap_port=None, reuse_port=False, fast=False):
        if provider not in ("twilio", "telnyx"):
            raise ValueError(f"unknown provider {provider!r}")
        self.provider = provider
        self.account = account or ("AC" + secrets.token_hex(16))
        self.token = token or (secrets.token_hex(16) if provider == "twilio" else "KEY" + secrets.token_hex(24))
        self.webhook_url = webhook_url  # where inbound messages are posted (switchboard's public_url)
        self.numbers = set(numbers) if numbers else None  # numbers "owned" (valid From); None: any
        self.delay = delay                # seconds before each send is answered (after storing)
        self.auto_status = tuple(auto_status)  # statuses called back after each accept, in order
        self.status_delay = status_delay
        self.bot, self.bot_delay = bot, bot_delay  # reply "you said: ..." to every accepted message
        self.record = record              # False: no Request records (benchmark)
        # True (benchmark, twilio only): a raw asyncio HTTP/1.1 server instead of aiohttp
        # that serves sends (always accepted, same answers) and the account GET.
        self.fast = fast
        if fast and provider != "twilio":
            raise ValueError("the fast mode serves Twilio only")
        self.key = Ed25519Key() if provider == "telnyx" else None
        self.lock = threading.RLock()  # public helpers nest (wait() calls pred(), which locks)
        self.cond = threading.Condition(self.lock)
        self.requests = []                # every Request, in arrival order
        self.messages = []                # every accepted Message, in order
        self.by_id = {}
        self.webhooks = []                # (kind, url, status or error) of everything the fake posted
        self.counts = collections.Counter()  # "requests", "sends", "accepted", status codes
        self._script = collections.deque()
        self.default = ACCEPT
        self._seq = itertools.count(1)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._sock.bind((HOST, port))
        self._sock.listen(512)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"   # the [[sms]] api_base
        self.tap_port = tap_port
        self._taps = []
        self._tap_pending = 0
        self.loop = self._thread = self._runner = self._client = None

    @property
    def public_key(self):
        """Telnyx: the base64 raw 32-byte Ed25519 public key for [[sms]] public_key."""
        return self.key.public_b64 if self.key else None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        """Runs the server on its own loop thread; returns self once it accepts."""
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        failed = []

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._start())
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                failed.append(e)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self._stop())
            self.loop.close()
        self._thread = threading.Thread(target=run, name=f"fake-sms-{self.provider}", daemon=True)
        self._thread.start()
        ready.wait(20)
        if failed:
            raise failed[0]
        return self

    async def _start(self):
        self._client = ClientSession(timeout=ClientTimeout(total=10))
        if self.tap_port is not None:
            self._tap_server = await asyncio.start_server(self._on_tap, HOST, self.tap_port)
            self.tap_port = self._tap_server.sockets[0].getsockname()[1]
        if self.fast:
            self._fast_server = await asyncio.get_running_loop().create_server(lambda: _FastTwilio(self),
                                                                               sock=self._sock)
            return
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def _stop(self):
        for w in self._taps:
            w.close()
        if self.tap_port is not None:
            self._tap_server.close()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.fast:
            self._fast_server.close()

    def stop(self):
        if self.loop is None or not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(15)

    def _run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _flush_taps(self):
        data, self._tap_pending = b"." * self._tap_pending, 0
        for w in self._taps:
            w.write(data)

    async def _on_tap(self, reader, writer):
        self._taps.append(writer)
        try:
            await reader.read()  # until the reader goes away
        finally:
            if writer in self._taps:
                self._taps.remove(writer)

    # -- scripting ---------------------------------------------------------------------------
    def script(self, *behaviours):
        """Queues behaviours for the next send requests, one each, in order; when the
        queue is empty `self.default` (ACCEPT unless changed) applies."""
        with self.lock:
            self._script.extend(behaviours)

    def set_default(self, behaviour):
        with self.lock:
            self.default = behaviour

    def _next_behaviour(self):
        with self.lock:
            return self._script.popleft() if self._script else self.default

    # -- observation -----------------------------------------------------------------------------
    def sends(self):
        """Send requests received (accepted or not), in order."""
        with self.lock:
            return [r for r in self.requests if r.kind == "send"]

    def accepted(self):
        """Messages the provider holds (accepted), in order."""
        with self.lock:
            return list(self.messages)

    def lookups(self):
        with self.lock:
            return [r for r in self.requests if r.kind in ("lookup", "get")]

    def bodies(self):
        """Counter of accepted message bodies: a person got a text twice iff a count > 1."""
        with self.lock:
            return collections.Counter(m.body for m in self.messages)

    def wait(self, pred, timeout=10, what="condition"):
        """Waits until pred(self) is truthy (checked on every request); returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = pred(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake {self.provider}: timed out after {timeout}s waiting for {what}; "
                                       f"requests {self.requests[-6:]}, messages {self.messages[-4:]}")
                self.cond.wait(min(left, 0.2))

    def wait_accepted(self, n=1, timeout=10):
        return self.wait(lambda f: f.accepted() if len(f.messages) >= n else None, timeout,
                         f"{n} accepted message(s)")

    def wait_sends(self, n=1, timeout=10):
        return self.wait(lambda f: f.sends() if len(f.sends()) >= n else None, timeout, f"{n} send request(s)")

    # -- driving: webhooks the provider sends -----------------------------------------------------
    def send_status(self, message, status, error_code=None, signature="valid"):
        """Calls back the status of an accepted message (its StatusCallback / webhook_url),
        signed; also updates what a look-up shows. Returns (http status, body text)."""
        return self._run(self._send_status(message, status, error_code, signature))

    def send_inbound(self, frm, to, body="", media=(), message_id=None, signature="valid", url=None,
                     timeout=30):
        """Posts an inbound SMS/MMS webhook from `frm` to `to` (the number at the
        provider) to `url` (default: webhook_url), the way the provider does. media:
        [(url, content_type)]. signature: "valid", "invalid" (wrong key), "missing",
        "tampered" (body changed after signing), "stale" (Telnyx: timestamp 10 min old).
        Returns (http status, body text, message id)."""
        return self._run(self._send_inbound(frm, to, body, list(media), message_id, signature, url), timeout)

    def inbound_request(self, frm, to, body="", media=(), message_id=None, signature="valid", url=None):
        """(url, headers, body bytes, message id) of an inbound webhook, without sending
        it: for a client that posts it itself (the benchmark, raw HTTP)."""
        url = url or self.webhook_url
        if self.provider == "twilio":
            mid = message_id or twilio_sid("MM" if media else "SM")
            params = self._twilio_inbound_params(frm, to, body, media, mid)
            return (url, *self._twilio_signed(url, params, signature), mid)
        mid = message_id or str(uuid.uuid4())
        return (url, *self._telnyx_signed(self._telnyx_inbound_event(frm, to, body, media, mid), signature), mid)

    # -- the twilio webhooks ------------------------------------------------------------------------
    def _twilio_inbound_params(self, frm, to, body, media, mid):
        # The fields Twilio posts for an incoming message (docs: "TwiML for Programmable
        # Messaging", request parameters), in Twilio's order.
        params = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", mid), ("NumMedia", str(len(media))),
                  ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"), ("SmsSid", mid), ("FromState", "CA"),
                  ("SmsStatus", "received"), ("FromCity", "SAN FRANCISCO"), ("Body", body),
                  ("FromCountry", "US"), ("To", to), ("ToZip", "94105"), ("NumSegments", "1"),
                  ("MessageSid", mid), ("AccountSid", self.account), ("From", frm), ("ApiVersion", "2010-04-01")]
        for i, (murl, ctype) in enumerate(media):
            params += [(f"MediaContentType{i}", ctype), (f"MediaUrl{i}", murl)]
        return params

    def _twilio_signed(self, url, params, signature):
        body = urllib.parse.urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
        if signature == "valid":
            headers["X-Twilio-Signature"] = twilio_signature(self.token, url, params)
        elif signature == "invalid":
            headers["X-Twilio-Signature"] = twilio_signature("not-the-" + self.token, url, params)
        elif signature == "tampered":
            headers["X-Twilio-Signature"] = twilio_signature(self.token, url, params)
            body = urllib.parse.urlencode([(k, v + " (changed)" if k == "Body" else v) for k, v in params]).encode()
        elif signature == "wrong_url":
            headers["X-Twilio-Signature"] = twilio_signature(self.token, url + "x", params)
        elif signature != "missing":
            raise ValueError(f"unknown signature mode {signature!r}")
        return headers, body

    # -- the telnyx webhooks ----------------------------------------------------------------------
    def _telnyx_inbound_event(self, frm, to, body, media, mid):
        now = time.time()
        payload = {"record_type": "message", "direction": "inbound", "id": mid, "type": "MMS" if media else "SMS",
                   "messaging_profile_id": "400174b1-3ab0-4f9e-8f3a-8d6e0b2d7c4e",
                   "organization_id": "9c8f2b1e-5c2d-4a7b-9e1f-3d2c1b0a9f8e",
                   "from": {"phone_number": frm, "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
                   "to": [{"phone_number": to, "status": "webhook_delivered", "carrier": "Telnyx",
                           "line_type": "Wireless"}],
                   "text": body, "subject": "", "media": [{"url": u, "content_type": c, "size": 1024,
                                                            "hash_sha256": hashlib.sha256(u.encode()).hexdigest()}
                                                           for u, c in media],
                   "encoding": "GSM-7", "parts": 1, "tags": [], "cost": None, "received_at": iso8601(now),
                   "sent_at": None, "completed_at": None, "valid_until": None, "webhook_url": self.webhook_url,
                   "webhook_failover_url": "", "errors": []}
        return {"data": {"event_type": "message.received", "id": str(uuid.uuid4()), "occurred_at": iso8601(now),
                         "payload": payload, "record_type": "event"},
                "meta": {"attempt": 1, "delivered_to": self.webhook_url}}

    def _telnyx_signed(self, event, signature):
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "telnyx-webhooks"}
        if signature == "valid":
            headers.update(telnyx_headers(self.key, body))
        elif signature == "invalid":
            headers.update(telnyx_headers(Ed25519Key(), body))
        elif signature == "tampered":
            headers.update(telnyx_headers(self.key, body))
            body = body.replace(b'"text":"', b'"text":"(changed) ', 1)
        elif signature == "stale":
            headers.update(telnyx_headers(self.key, body, time.time() - 600))
        elif signature != "missing":
            raise ValueError(f"unknown signature mode {signature!r}")
        return headers, body

    async def _post(self, kind, url, headers, body):
        ctype = None
        try:
            async with self._client.post(url, data=body, headers=headers) as r:
                text = await r.text()
                outcome, ctype = (r.status, text), r.headers.get("Content-Type")
        except Exception as e:  # noqa: BLE001 - the caller sees it as the outcome
            outcome = (None, f"{type(e).__name__}: {e}")
        with self.cond:
            # (kind, url, status answered, its Content-Type): what the provider saw of each webhook
            self.webhooks.append((kind, url, outcome[0], ctype))
            self.cond.notify_all()
        return outcome

    async def _send_inbound(self, frm, to, body, media, mid, signature, url):
        url, headers, data, mid = self.inbound_request(frm, to, body, media, mid, signature, url)
        if not url:
            raise ValueError("no webhook_url: where should the inbound message go?")
        status, text = await self._post("inbound", url, headers, data)
        return status, text, mid

    async def _send_status(self, msg, status, error_code, signature):
        if isinstance(msg, str):
            msg = self.by_id[msg]
        with self.lock:
            msg.status = status
        if not msg.callback:
            return None, "no callback URL on this message"
        if self.provider == "twilio":
            params = [("SmsSid", msg.id), ("SmsStatus", status), ("MessageStatus", status), ("To", msg.to),
                      ("MessageSid", msg.id), ("AccountSid", self.account), ("From", msg.frm),
                      ("ApiVersion", "2010-04-01")]
            if error_code is not None or status in ("failed", "undelivered"):
                params.insert(0, ("ErrorCode", str(error_code if error_code is not None else 30003)))
            headers, body = self._twilio_signed(msg.callback, params, signature)
        else:
            event_type = TELNYX_STATUSES.get(status, "message.finalized")
            payload = msg.telnyx_json(status)
            if status in ("delivery_failed", "sending_failed"):
                payload["errors"] = [{"code": str(error_code or 40008), "title": "Undeliverable",
                                      "detail": "The message could not be delivered to the handset."}]
            event = {"data": {"event_type": event_type, "id": str(uuid.uuid4()), "occurred_at": iso8601(time.time()),
                              "payload": payload, "record_type": "event"},
                     "meta": {"attempt": 1, "delivered_to": msg.callback}}
            headers, body = self._telnyx_signed(event, signature)
        outcome = await self._post("status", msg.callback, headers, body)
        with self.lock:
            msg.callbacks.append((status, outcome[0]))
        return outcome

    async def _after_accept(self, msg):
        """Automatic status callbacks and the demo's auto-reply, off the request path."""
        for st in self.auto_status:
            await asyncio.sleep(self.status_delay)
            await self._send_status(msg, st, None, "valid")
        if self.bot and self.webhook_url:
            await asyncio.sleep(self.bot_delay)
            await self._send_inbound(msg.to, msg.frm, f"you said: {msg.body}", [], None, "valid", None)

    # -- request handling ---------------------------------------------------------------------------
    async def _dispatch(self, request):
        raw = await request.read()
        path = request.path
        if path.startswith("/_fake/"):
            return await self._control(request, path, raw)
        params = []
        ctype = request.headers.get("Content-Type", "")
        if raw and ctype.startswith("application/x-www-form-urlencoded"):
            params = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        elif raw and "json" in ctype:
            try:
                params = json.loads(raw)
            except ValueError:
                params = None
        rec = Request(next(self._seq), request.method, path, request.query_string, dict(request.headers), raw,
                      params, self._auth_ok(request), time.time())
        rec.peer = request.transport.get_extra_info("peername") if request.transport else None
        with self.cond:
            self.counts["requests"] += 1
            if self.record:
                self.requests.append(rec)
            self.cond.notify_all()
        try:
            if self.provider == "twilio":
                resp = await self._twilio(request, rec)
            else:
                resp = await self._telnyx(request, rec)
        except asyncio.CancelledError:
            rec.status = None  # the client went away (hang / drop)
            raise
        with self.cond:
            rec.status = resp.status
            self.counts[resp.status] += 1
            self.cond.notify_all()
        return resp

    def _auth_ok(self, request):
        auth = request.headers.get("Authorization", "")
        if self.provider == "twilio":
            expected = "Basic " + base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
            return hmac.compare_digest(auth, expected)
        return hmac.compare_digest(auth, f"Bearer {self.token}")

    # Twilio --------------------------------------------------------------------------------
    def _twilio_error(self, status, code, message):
        return web.json_response(_twilio_error_doc(status, code, message), status=status)

    async def _twilio(self, request, rec):
        m = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)(/Messages(?:/([^/]+))?)?\.json", request.path)
        if not m:
            rec.kind = "other"
            return self._twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if not rec.auth_ok or m.group(1) != self.account:
            rec.kind = "send" if (m.group(2) and request.method == "POST") else "other"
            resp = self._twilio_error(401, 20003, "Authenticate")
            resp.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return resp
        if not m.group(2):
            rec.kind = "account"
            return web.json_response({"sid": self.account, "friendly_name": "fake", "status": "active",
                                      "type": "Full", "date_created": rfc2822(time.time())})
        if m.group(3):
            rec.kind = "get"
            msg = self.by_id.get(m.group(3))
            if request.method != "GET" or msg is None:
                return self._twilio_error(404, 20404, f"The requested resource {request.path} was not found")
            return web.json_response(msg.twilio_json(self.account))
        if request.method == "GET":
            rec.kind = "lookup"
            return self._twilio_list(request)
        if request.method != "POST":
            rec.kind = "other"
            return self._twilio_error(405, 20004, "Method not allowed")
        rec.kind = "send"
        form, media, err = self._twilio_validate(rec.params or [])
        if err:
            return self._twilio_error(400, *err)
        return await self._apply(request, rec, form["From"], form["To"], form.get("Body", ""), media,
                                 form.get("StatusCallback"))

    def _twilio_validate(self, params):
        """(form, media URLs, None) or (.., .., (Twilio error code, message)) for the
        POST parameters of a send, checked the way Twilio checks them."""
        form, media = {}, []
        for k, v in params:
            if k == "MediaUrl":
                media.append(v)
            else:
                form.setdefault(k, v)
        to, frm, body = form.get("To"), form.get("From"), form.get("Body", "")
        if not to:
            return form, media, (21604, "A 'To' phone number is required.")
        if not frm and not form.get("MessagingServiceSid"):
            return form, media, (21603, "A 'From' phone number is required.")
        if not E164.match(to):
            return form, media, (21211, f"The 'To' number {to} is not a valid phone number.")
        if not E164.match(frm or "") or (self.numbers is not None and frm not in self.numbers):
            return form, media, (21606, f"The From phone number {frm} is not a valid, SMS-capable inbound phone "
                                        "number or short code for your account.")
        if not body and not media:
            return form, media, (21602, "Message body is required.")
        if len(body) > TWILIO_MAX_BODY:
            return form, media, (21617, "The concatenated message body exceeds the 1600 character limit.")
        return form, media, None

    def _twilio_list(self, request):
        q = request.query
        try:
            size = min(1000, max(1, int(q.get("PageSize", "50"))))
            page = max(0, int(q.get("Page", "0")))
        except ValueError:
            return self._twilio_error(400, 20001, "Invalid paging parameter")
        with self.lock:
            found = [m for m in reversed(self.messages)  # newest first, as Twilio lists them
                     if (not q.get("To") or m.to == q["To"]) and (not q.get("From") or m.frm == q["From"])
                     and _date_ok(m.created, q)]
        chunk = found[page * size:(page + 1) * size]
        base = f"/2010-04-01/Accounts/{self.account}/Messages.json"
        keep = [(k, v) for k, v in q.items() if k not in ("Page", "PageSize", "PageToken")]

        def uri(p, token=None):
            extra = [("PageSize", str(size)), ("Page", str(p))] + ([("PageToken", token)] if token else [])
            return base + "?" + urllib.parse.urlencode(keep + extra)
        nxt = uri(page + 1, "PA" + chunk[-1].id) if (page + 1) * size < len(found) else None
        prev = uri(page - 1, "PB" + chunk[0].id) if page > 0 and chunk else None
        return web.json_response({"messages": [m.twilio_json(self.account) for m in chunk], "end":
                                  page * size + max(0, len(chunk) - 1), "first_page_uri": uri(0),
                                  "next_page_uri": nxt, "page": page, "page_size": size, "previous_page_uri": prev,
                                  "start": page * size, "uri": uri(page)})

    # Telnyx -------------------------------------------------------------------------------
    def _telnyx_error(self, status, code, title, detail, pointer=None):
        err = {"code": str(code), "title": title, "detail": detail,
               "meta": {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"}}
        if pointer:
            err["source"] = {"pointer": pointer}
        return web.json_response({"errors": [err]}, status=status)

    async def _telnyx(self, request, rec):
        path = request.path.rstrip("/")
        if not rec.auth_ok:
            rec.kind = "send" if (path == "/v2/messages" and request.method == "POST") else "other"
            return self._telnyx_error(401, 10009, "Authentication failed",
                                      "The API key looks malformed. Check that you copied it correctly.")
        if path == "/v2/balance":
            rec.kind = "account"
            return web.json_response({"data": {"record_type": "balance", "balance": "100.00", "currency": "USD",
                                               "credit_limit": "0.00", "available_credit": "100.00",
                                               "pending": "0.00"}})
        m = re.fullmatch(r"/v2/messages/([^/]+)", path)
        if m and request.method == "GET":
            rec.kind = "get"
            msg = self.by_id.get(m.group(1))
            if msg is None:
                return self._telnyx_error(404, 10005, "Resource not found",
                                          "The requested resource or URL could not be found.")
            return web.json_response({"data": msg.telnyx_json()})
        if path != "/v2/messages" or request.method != "POST":
            rec.kind = "other"
            return self._telnyx_error(404, 10005, "Resource not found",
                                      "The requested resource or URL could not be found.")
        rec.kind = "send"
        d = rec.params if isinstance(rec.params, dict) else None
        if d is None:
            return self._telnyx_error(400, 10015, "Bad Request", "The request body is not valid JSON.")
        to, frm, text = d.get("to"), d.get("from"), d.get("text") or ""
        media = [u for u in d.get("media_urls") or [] if isinstance(u, str)]
        if not isinstance(to, str) or not E164.match(to):
            return self._telnyx_error(400, 40310, "Invalid 'to' address",
                                      "The 'to' address should be in E.164 format.", "/to")
        if not isinstance(frm, str) or not E164.match(frm) or (self.numbers is not None and frm not in self.numbers):
            return self._telnyx_error(400, 40305, "Invalid 'from' address",
                                      "The 'from' address should be a number on your account, in E.164 format.",
                                      "/from")
        if not text and not media:
            return self._telnyx_error(422, 40003, "Missing text",
                                      "The 'text' field is required for SMS.", "/text")
        return await self._apply(request, rec, frm, to, text, media, d.get("webhook_url"))

    # Shared: apply the scripted behaviour --------------------------------------------------------
    async def _apply(self, request, rec, frm, to, body, media, callback):
        b = self._next_behaviour()
        rec.behaviour = b
        with self.cond:
            self.counts["sends"] += 1
            self.cond.notify_all()
        msg = self._store(frm, to, body, media, callback, rec) if b.accept else None
        if self.delay:
            await asyncio.sleep(self.delay)
        if b.drop:
            request.transport.close()
            await asyncio.sleep(3600)  # cancelled as the connection is gone
        if b.hang:
            await asyncio.sleep(b.hang)
        if b.kind == "accept" or (b.kind == "hang" and b.accept):
            if self.provider == "twilio":
                return web.json_response(msg.twilio_json(self.account), status=201)
            return web.json_response({"data": msg.telnyx_json()})
        if b.kind == "hang":
            return self._error_for(500, None, None)
        return self._error_for(b.status or 500, b.code, b.message, b.retry_after)

    def _store(self, frm, to, body, media, callback, rec=None):
        """The provider accepts a message: stored (a look-up finds it), counted, tapped."""
        mid = twilio_sid("MM" if media else "SM") if self.provider == "twilio" else str(uuid.uuid4())
        msg = Message(self.provider, mid, frm, to, body, media, callback, time.time(), rec.seq if rec else None)
        if rec is not None:
            msg.request_seq = rec.seq
            rec.message_id = mid
        with self.cond:
            self.messages.append(msg)
            self.by_id[mid] = msg
            self.counts["accepted"] += 1
            self.cond.notify_all()
        if self._taps:
            if not self._tap_pending:  # one write per loop turn, not one syscall per message
                asyncio.get_running_loop().call_soon(self._flush_taps)
            self._tap_pending += 1
        if self.auto_status or self.bot:
            asyncio.ensure_future(self._after_accept(msg))
        return msg

    def _error_for(self, status, code, message, retry_after=None):
        if self.provider == "twilio":
            if status == 429:
                resp = self._twilio_error(429, 20429, "Too Many Requests")
            elif status >= 500:
                resp = self._twilio_error(status, 20500, "An internal server error has occurred")
            else:
                resp = self._twilio_error(status, code or 21211,
                                          message or "The 'To' number is not a valid phone number.")
        else:
            if status == 429:
                resp = self._telnyx_error(429, 10011, "Too many requests",
                                          "You have exceeded the maximum number of allowed requests.")
            elif status >= 500:
                resp = self._telnyx_error(status, 10007, "Unexpected error", "An unexpected error occured.")
            else:
                resp = self._telnyx_error(status, code or 40300, message or "Blocked as spam",
                                          message or "The message was blocked by the carrier as spam.")
        if retry_after is not None:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    # -- control API (process mode) --------------------------------------------------------------
    async def _control(self, request, path, raw):
        body = json.loads(raw) if raw else {}
        if path == "/_fake/state":
            with self.lock:
                return web.json_response({"provider": self.provider, "account": self.account, "url": self.url,
                                          "public_key": self.public_key, "tap_port": self.tap_port,
                                          "counts": {str(k): v for k, v in self.counts.items()}})
        if path == "/_fake/messages":
            with self.lock:
                return web.json_response([m.to_json() for m in self.messages])
        if path == "/_fake/requests":
            since = int(request.query.get("since", "0"))
            with self.lock:
                return web.json_response([r.to_json() for r in self.requests if r.seq > since])
        if path == "/_fake/script" and request.method == "POST":
            self.script(*[Behaviour.from_json(x) for x in body.get("behaviours", [])])
            for key in ("delay", "bot", "status_delay"):
                if key in body:
                    setattr(self, key, body[key])
            if "auto_status" in body:
                self.auto_status = tuple(body["auto_status"])
            if "default" in body:
                self.set_default(Behaviour.from_json(body["default"]))
            return web.json_response({"ok": True})
        if path == "/_fake/inbound" and request.method == "POST":
            status, text, mid = await self._send_inbound(body["from"], body["to"], body.get("body", ""),
                                                         [tuple(x) for x in body.get("media", [])],
                                                         body.get("id"), body.get("signature", "valid"),
                                                         body.get("url"))
            return web.json_response({"status": status, "text": text, "id": mid})
        if path == "/_fake/status" and request.method == "POST":
            status, text = await self._send_status(body["id"], body["status"], body.get("error_code"),
                                                   body.get("signature", "valid"))
            return web.json_response({"status": status, "text": text})
        return web.json_response({"error": f"no control route {path}"}, status=404)


class _FastTwilio(asyncio.Protocol):
    """The benchmark's fake Twilio: HTTP/1.1 keep-alive with pipelining, Content-Length
    bodies only, parsed by hand, and every answer of one read written with a single
    send(). aiohttp costs ~2x the CPU per request (two sends per response, routing),
    CPU the 2-core benchmark machine needs for switchboard. Same validation, same
    201 Message resource and the same Twilio errors as the full fake; no scripting."""

    def __init__(self, fake):
        self.fake, self.buf, self.transport = fake, b"", None
        self.send_path = f"/2010-04-01/Accounts/{fake.account}/Messages.json"
        self.account_path = f"/2010-04-01/Accounts/{fake.account}.json"
        self.auth = "Basic " + base64.b64encode(f"{fake.account}:{fake.token}".encode()).decode()

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buf += data
        out, close = [], False
        while not close:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + n:
                break
            body, self.buf = self.buf[end + 4:end + 4 + n], self.buf[end + 4 + n:]
            method, target = (lines[0].split(" ") + ["", ""])[:2]
            status, doc = self.handle(method, target.split("?", 1)[0], headers, body)
            payload = json.dumps(doc).encode()
            close = headers.get("connection", "").lower() == "close"
            out.append(b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n"
                       b"%s\r\n" % (status, b"OK" if status < 300 else b"Error", len(payload),
                                     b"Connection: close\r\n" if close else b"") + payload)
        if out:
            self.transport.write(b"".join(out))
        if close:
            self.transport.close()

    def handle(self, method, path, headers, body):
        f = self.fake
        f.counts["requests"] += 1
        if path not in (self.send_path, self.account_path):
            return 404, _twilio_error_doc(404, 20404, f"The requested resource {path} was not found")
        if not hmac.compare_digest(headers.get("authorization", ""), self.auth):
            return 401, _twilio_error_doc(401, 20003, "Authenticate")
        if path == self.account_path:
            return 200, {"sid": f.account, "friendly_name": "fake", "status": "active", "type": "Full"}
        if method != "POST":
            return 405, _twilio_error_doc(405, 20004, "Method not allowed")
        f.counts["sends"] += 1
        params = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        form, media, err = f._twilio_validate(params)
        if err:
            return 400, _twilio_error_doc(400, *err)
        msg = f._store(form["From"], form["To"], form.get("Body", ""), media, form.get("StatusCallback"))
        return 201, msg.twilio_json(f.account)


def _twilio_error_doc(status, code, message):
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def _date_ok(created, q):
    """Twilio's DateSent filters: DateSent=YYYY-MM-DD, DateSent< and DateSent> (inclusive)."""
    day = datetime.datetime.fromtimestamp(created, datetime.timezone.utc).strftime("%Y-%m-%d")
    return ((not q.get("DateSent") or day == q["DateSent"]) and (not q.get("DateSent<") or day <= q["DateSent<"])
            and (not q.get("DateSent>") or day >= q["DateSent>"]))


# -- process mode -----------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", choices=("twilio", "telnyx"), default="twilio")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--account", help="Twilio Account SID (default: random AC...)")
    ap.add_argument("--token", help="Twilio auth token / Telnyx API key (default: random)")
    ap.add_argument("--webhook-url", help="where inbound messages (and bot replies) are posted")
    ap.add_argument("--numbers", help="comma-separated numbers owned at the provider (valid From); default any")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each send is answered")
    ap.add_argument("--auto-status", default="", help="statuses called back after each accept, e.g. sent,delivered")
    ap.add_argument("--status-delay", type=float, default=0.3)
    ap.add_argument("--bot", action="store_true", help="reply 'you said: ...' to every accepted message")
    ap.add_argument("--no-record", action="store_true", help="keep no request records (benchmark)")
    ap.add_argument("--tap-port", type=int, help="TCP port writing one byte per accepted message (0 = free)")
    ap.add_argument("--reuse-port", action="store_true", help="SO_REUSEPORT: several processes on one port")
    ap.add_argument("--fast", action="store_true",
                    help="benchmark: raw asyncio HTTP server for sends only (twilio; no control API, no scripting)")
    ap.add_argument("--ready-file", help="write a JSON line with the port, account, token, public key here")
    args = ap.parse_args(argv)
    fake = FakeSmsProvider(args.provider, account=args.account, token=args.token, webhook_url=args.webhook_url,
                           port=args.port, numbers=args.numbers.split(",") if args.numbers else None,
                           delay=args.delay, auto_status=[s for s in args.auto_status.split(",") if s],
                           status_delay=args.status_delay, bot=args.bot, record=not args.no_record,
                           tap_port=args.tap_port, reuse_port=args.reuse_port, fast=args.fast)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    fake.loop = loop
    loop.run_until_complete(fake._start())
    info = {"port": fake.port, "url": fake.url, "account": fake.account, "token": fake.token,
            "public_key": fake.public_key, "tap_port": fake.tap_port, "pid": os.getpid()}
    line = json.dumps(info)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(line, flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(fake._stop())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
