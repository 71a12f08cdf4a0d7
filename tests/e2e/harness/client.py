"""A synchronous XMPP client for tests: slixmpp running on its own asyncio loop in
a background thread. Every received message and presence is recorded as a plain
record; raw iqs return the reply element so tests can check exact conditions."""
import asyncio
import threading
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_CLIENT = "jabber:client"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_SID = "urn:xmpp:sid:0"
NS_RECEIPTS = "urn:xmpp:receipts"


class _Loop:
    """One asyncio loop thread shared by every client of the test session."""
    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="xmpp-loop", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    @classmethod
    def shutdown(cls):
        """Cancels what slixmpp left pending and stops the loop thread."""
        with cls._lock:
            inst, cls._instance = cls._instance, None
        if inst is None:
            return

        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            inst.run(cancel_all(), 5)
        except Exception:
            pass
        inst.loop.call_soon_threadsafe(inst.loop.stop)
        inst.thread.join(5)

    def run(self, coro, timeout):
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except Exception:
            fut.cancel()
            raise

    def call(self, fn, *args, timeout=10):
        async def wrapper():
            return fn(*args)
        return self.run(wrapper(), timeout)


def shutdown():
    _Loop.shutdown()


def error_condition(elem):
    """(condition, text) of an <error/> child of `elem` (a stanza element), or (None, None)."""
    err = elem.find(f"{{{NS_CLIENT}}}error")
    if err is None:
        return None, None
    cond = text = None
    for child in err:
        if child.tag == f"{{{NS_STANZAS}}}text":
            text = child.text
        elif child.tag.startswith(f"{{{NS_STANZAS}}}"):
            cond = child.tag.split("}", 1)[1]
    return cond, text


class Record:
    """A received message or presence, decoded once."""

    def __init__(self, elem):
        self.xml = ET.tostring(elem, encoding="unicode")
        self.kind = elem.tag.split("}", 1)[1]
        self.frm = elem.get("from", "")
        self.to = elem.get("to", "")
        self.type = elem.get("type", "normal" if self.kind == "message" else "available")
        self.id = elem.get("id")
        body = elem.find(f"{{{NS_CLIENT}}}body")
        self.body = body.text if body is not None else None
        if body is not None and self.body is None:
            self.body = ""
        status = elem.find(f"{{{NS_CLIENT}}}status")
        self.status = status.text if status is not None else None
        oid = elem.find(f"{{{NS_SID}}}origin-id")
        self.origin_id = oid.get("id") if oid is not None else None
        rcv = elem.find(f"{{{NS_RECEIPTS}}}received")
        self.receipt_for = rcv.get("id") if rcv is not None else None
        self.condition, self.error_text = error_condition(elem)
        self.bare_from = self.frm.split("/", 1)[0]

    def __repr__(self):
        return f"<{self.kind} type={self.type} from={self.frm} body={self.body!r} cond={self.condition}>"


class Client:
    def __init__(self, jid, password, port, host="127.0.0.1"):
        self.jid, self.password, self.addr = jid, password, (host, port)
        self.loop = _Loop.get()
        self.messages, self.presences = [], []
        self._cond = threading.Condition()
        self.xmpp = None

    # -- lifecycle ---------------------------------------------------------
    def connect(self, timeout=20, initial_presence=True):
        async def go():
            x = slixmpp.ClientXMPP(self.jid, self.password)
            x.loop = asyncio.get_running_loop()
            # Tests reconnect explicitly (a new Client); a silent reconnect of an
            # old one would take stanzas meant for the new session.
            x.auto_reconnect = False
            for p in ("xep_0030", "xep_0199"):
                x.register_plugin(p)
            x.register_handler(Callback("sb-messages", MatchXPath(f"{{{NS_CLIENT}}}message"), self._on_stanza))
            x.register_handler(Callback("sb-presences", MatchXPath(f"{{{NS_CLIENT}}}presence"), self._on_stanza))
            started = asyncio.get_running_loop().create_future()

            def ok(_):
                if not started.done():
                    started.set_result(True)

            def bad(ev):
                if not started.done():
                    started.set_exception(RuntimeError(f"login of {self.jid} failed: {ev}"))
            x.add_event_handler("session_start", ok)
            x.add_event_handler("failed_auth", bad)
            x.add_event_handler("connection_failed", bad)
            self.xmpp = x
            x.connect(self.addr, force_starttls=False, disable_starttls=True)
            try:
                await started
            except BaseException:
                # slixmpp would otherwise keep retrying in the background.
                x.cancel_connection_attempt()
                if x.transport:
                    x.abort()
                self.xmpp = None
                raise
            if initial_presence:
                x.send_presence()
        self.loop.run(go(), timeout)
        return self

    def disconnect(self, timeout=5):
        if self.xmpp is None:
            return
        x, self.xmpp = self.xmpp, None

        async def go():
            x.auto_reconnect = False
            try:
                await asyncio.wait_for(x.disconnect(wait=1.0), timeout)
            except Exception:
                x.abort()
        try:
            self.loop.run(go(), timeout + 2)
        except Exception:
            pass

    def _on_stanza(self, stanza):
        rec = Record(stanza.xml)
        with self._cond:
            (self.messages if rec.kind == "message" else self.presences).append(rec)
            self._cond.notify_all()

    # -- sending -----------------------------------------------------------
    def send_raw(self, xml):
        self.loop.call(self.xmpp.send_raw, xml)

    def send_message(self, to, body, mtype="chat", receipt=False, msg_id=None):
        def go():
            m = self.xmpp.make_message(mto=to, mbody=body, mtype=mtype)
            if msg_id:
                m["id"] = msg_id
            if receipt:
                m.append(ET.Element(f"{{{NS_RECEIPTS}}}request"))
            m.send()
            return m["id"]
        return self.loop.call(go)

    def send_presence(self, to=None, ptype=None):
        self.loop.call(lambda: self.xmpp.send_presence(pto=to, ptype=ptype))

    def iq(self, to, itype, payload_xml, timeout=10):
        """Sends an iq with the given payload; returns the reply <iq/> element
        (type result or error). Raises TimeoutError if none comes."""
        async def go():
            iq = self.xmpp.make_iq(ito=to, itype=itype)
            iq.append(ET.fromstring(payload_xml))
            try:
                reply = await iq.send(timeout=timeout)
            except IqError as e:
                reply = e.iq
            except IqTimeout:
                raise TimeoutError(f"no reply to iq {itype} {payload_xml[:60]} to {to}")
            return reply.xml
        return self.loop.run(go(), timeout + 2)

    # -- waiting -----------------------------------------------------------
    def wait(self, pred, timeout=10, what="stanza"):
        """Waits until pred(messages, presences) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = pred(self.messages, self.presences)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.jid}: timed out after {timeout}s waiting for {what}; "
                                       f"last messages {self.messages[-5:]}, presences {self.presences[-5:]}")
                self._cond.wait(min(left, 0.5))

    def wait_message(self, match, timeout=10, what="message"):
        return self.wait(lambda ms, _ps: next((m for m in ms if match(m)), None), timeout, what)

    def wait_presence(self, match, timeout=10, what="presence"):
        return self.wait(lambda _ms, ps: next((p for p in ps if match(p)), None), timeout, what)

    def snapshot(self):
        with self._cond:
            return list(self.messages), list(self.presences)


def iq_type(elem):
    return elem.get("type")


def iq_error(elem):
    return error_condition(elem)[0]


def record_order(client):
    """Adds `client.ordered`: every message and presence the client receives, in
    arrival order in one list (`messages` and `presences` are two lists, which
    cannot show e.g. that a MUC subject came after the self-presence). Call after
    connect(); returns the client."""
    client.ordered = []

    def on_stanza(stanza):
        rec = Record(stanza.xml)
        with client._cond:
            client.ordered.append(rec)
            client._cond.notify_all()

    def install():
        client.xmpp.register_handler(Callback("sb-ordered", MatchXPath(f"{{{NS_CLIENT}}}message"), on_stanza))
        client.xmpp.register_handler(Callback("sb-ordered-p", MatchXPath(f"{{{NS_CLIENT}}}presence"), on_stanza))
    client.loop.call(install)
    return client


NS_OOB = "jabber:x:oob"


def oob_urls(record):
    """XEP-0066 out-of-band URLs (<x xmlns='jabber:x:oob'><url/>) of a received message Record."""
    elem = ET.fromstring(record.xml)
    return [x.findtext(f"{{{NS_OOB}}}url") for x in elem.findall(f"{{{NS_OOB}}}x")]
