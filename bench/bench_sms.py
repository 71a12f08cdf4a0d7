#!/usr/bin/python3
"""End-to-end SMS benchmark (not a test): switchboard's [[sms]] transport (provider
"twilio") between the fake SMS provider (tests/e2e/harness/fake_sms_provider.py,
Twilio's real Messages API and signed webhooks) and a real Prosody, on loopback,
beside the ceilings of the same setup measured in the same run. The durable store
is on (the default): every message is in SQLite before it is sent or acknowledged.

Paths (same message count, same 100-byte body):
  XMPP -> SMS    raw c2s client (alice) -> Prosody -> switchboard ("+1555765xxxx@sms.localhost",
                 R recipients round-robin) -> POST Messages.json -> fake provider; counted
                 when the provider has stored the message (its TCP tap writes a byte)
  SMS -> XMPP    signed Twilio webhooks (X-Twilio-Signature, unique MessageSid each) on C
                 keep-alive HTTP connections -> switchboard [http] -> Prosody -> alice;
                 counted when the chat message arrives
  ceilings       fake provider alone: the same POSTs straight from a raw HTTP client on
                 C keep-alive connections, counted at the same tap
                 Prosody alone: client -> Prosody -> client (own bare JID)
Throughput: N messages pipelined with at most WINDOW not yet counted at the far end.
Latency: one message in flight at a time (send -> counted at the far end); p50/p99.
CPU ms per 1000 messages of switchboard, Prosody, the fake provider (all its
processes) and this client (/proc/<pid>/stat utime+stime over the throughput runs);
switchboard's max RSS.

The fake provider runs in its --fast mode (a raw asyncio HTTP/1.1 server for the send
endpoint: the same Twilio answers at ~5x aiohttp's rate, ~15k sends/s on one core), as
P processes sharing one port (SO_REUSEPORT) if asked, so that it is not the
bottleneck; its ceiling row shows how far it goes. Clients are raw sockets (bench_e2e's c2s client; pre-serialised HTTP
requests): Python libraries would be the bottleneck. The e2e harness is used read-only.

Usage: /usr/bin/python3 bench/bench_sms.py [--messages N] [--repeat K] [--roundtrips R]
       [--window W] [--recipients R] [--http-conns C] [--fake-procs P] [--only in|out|both] [--keep]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import argparse
import base64
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# bench_e2e puts tests/e2e on sys.path; its main() only runs as a script.
from bench_e2e import MARK, BenchProsody, RawClient, Stuck, cpu_seconds, machine, pct, vm_hwm_kib  # noqa: E402
from harness import util  # noqa: E402
from harness.fake_sms_provider import twilio_signature  # noqa: E402
from harness.servers import COMPONENTS, HOST, PASSWORD, SMS_DOMAIN, SMS_SECRET  # noqa: E402
from harness.switchboard import Switchboard, binary, snapshot_binary, toml_str  # noqa: E402

FAKE = os.path.join(os.path.dirname(HERE), "tests", "e2e", "harness", "fake_sms_provider.py")
ACCOUNT = "AC" + "5b" * 16
TOKEN = "bench" + "0" * 27
ALICE_NUM = "+15550001111"
STALL_LIMIT = 15.0  # seconds without a delivery before a path is declared stuck


def recipient(i, n):
    return f"+1555765{i % n:04d}"


def body_text(i, size, tag):
    return (f"BNCH{tag}{i:07d} " + "x" * size)[:size]


# -- endpoints for the load loop -------------------------------------------------------------------
class XmppEnd:
    """The raw c2s client's socket: counts MARK in what arrives (across read
    boundaries), fails on error stanzas."""

    def __init__(self, client):
        self.sock, self.out = client.sock, bytearray()
        self.tail = self.etail = b""

    def feed(self, data):
        e = self.etail + data
        if b"type='error'" in e or b'type="error"' in e:
            raise RuntimeError(f"error stanza during the run: {e[-600:]!r}")
        self.etail = e[-13:]
        chunk = self.tail + data
        self.tail = chunk[-(len(MARK) - 1):]
        return chunk.count(MARK)

    def reset(self):
        self.tail = self.etail = b""


class HttpEnd:
    """One keep-alive HTTP/1.1 connection carrying pipelined requests; feed() parses
    the responses (status line, Content-Length body) and fails on any status but
    `ok` (201 from the provider's Messages API, 200 from switchboard's webhook)."""

    def __init__(self, port, ok):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.out, self.buf, self.ok = bytearray(), b"", ok
        self.responses = 0

    def feed(self, data):
        self.buf += data
        n = 0
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = self.buf[:head_end]
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            total = head_end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < total:
                break
            status = int(head.split(b" ", 2)[1])
            if status != self.ok:
                raise RuntimeError(f"HTTP {status} during the run: {self.buf[:total][-400:]!r}")
            self.buf = self.buf[total:]
            n += 1
        self.responses += n
        return n

    def reset(self):
        self.buf = b""

    def close(self):
        self.sock.close()


class TapEnd:
    """The fake provider's tap: one byte per message it stored."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.out = bytearray()

    def feed(self, data):
        return len(data)

    def reset(self):
        pass

    def close(self):
        self.sock.close()


def run_load(senders, receivers, others, packets, window, lat=None):
    """Writes `packets` round-robin on the sender ends with at most `window` not yet
    counted at any of the receiver ends; returns seconds from the first byte sent to
    the last count. With `lat` (a list) and window 1 it records each round trip in ms."""
    ends = list(dict.fromkeys(list(senders) + list(receivers) + list(others)))
    for e in ends:
        e.sock.setblocking(False)
    n = len(packets)
    sent = got = 0
    last_progress = t0 = time.perf_counter()
    ts = 0
    rr = 0
    try:
        while got < n:
            if sent < n and sent - got < window:
                upto = min(n, got + window)
                for p in packets[sent:upto]:
                    senders[rr % len(senders)].out += p
                    rr += 1
                sent = upto
                ts = time.perf_counter_ns()
            r, w, _ = select.select([e.sock for e in ends], [e.sock for e in ends if e.out], [], 1.0)
            for e in ends:
                if e.sock in w and e.out:
                    k = e.sock.send(e.out)
                    del e.out[:k]
                if e.sock in r:
                    data = e.sock.recv(262144)
                    if not data:
                        raise RuntimeError(f"peer closed the connection during the run ({type(e).__name__})")
                    c = e.feed(data)
                    if c and e in receivers:
                        got += c
                        last_progress = time.perf_counter()
                        if lat is not None:
                            lat.append((time.perf_counter_ns() - ts) / 1e6)
            if time.perf_counter() - last_progress > STALL_LIMIT:
                raise Stuck(f"nothing delivered for {STALL_LIMIT:g}s: sent {sent}, delivered {got} of {n}")
        return time.perf_counter() - t0
    finally:
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)


def settle(ends, quiet=0.3):
    """Reads (and parses) everything until all sockets are quiet for `quiet` s."""
    for e in ends:
        e.sock.setblocking(False)
    try:
        while True:
            r, _, _ = select.select([e.sock for e in ends], [], [], quiet)
            if not r:
                break
            for e in ends:
                if e.sock in r:
                    data = e.sock.recv(262144)
                    if not data:
                        raise RuntimeError("peer closed the connection while settling")
                    try:
                        e.feed(data)
                    except RuntimeError:
                        pass
    finally:
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)
            e.reset()


# -- payloads ---------------------------------------------------------------------------------------
def provider_posts(n, size, tag, recipients, public_url):
    """Twilio Messages API sends, as switchboard makes them (the ceiling's client)."""
    auth = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    out = []
    for i in range(n):
        body = urllib.parse.urlencode([("To", recipient(i, recipients)), ("From", ALICE_NUM),
                                       ("Body", body_text(i, size, tag)),
                                       ("StatusCallback", f"{public_url}/status?ref={tag}{i}")]).encode()
        out.append(f"POST /2010-04-01/Accounts/{ACCOUNT}/Messages.json HTTP/1.1\r\nHost: {HOST}\r\n"
                   f"Authorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return out


def webhook_posts(n, size, tag, senders, public_url, path):
    """Signed inbound-SMS webhooks, with Twilio's fields, unique MessageSids."""
    out = []
    for i in range(n):
        sid = "SM" + f"{tag}{i:07d}".encode().hex().rjust(32, "0")[-32:]
        params = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
                  ("SmsStatus", "received"), ("Body", body_text(i, size, tag)), ("To", ALICE_NUM),
                  ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", ACCOUNT),
                  ("From", recipient(i, senders)), ("ApiVersion", "2010-04-01")]
        body = urllib.parse.urlencode(params).encode()
        out.append(f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   f"X-Twilio-Signature: {twilio_signature(TOKEN, public_url, params)}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return out


def chat_stanzas(to_of, n, size, tag):
    return [f"<message to='{to_of(i)}' type='chat' id='{tag}{i}'><body>{body_text(i, size, tag)}</body></message>"
            .encode() for i in range(n)]


# -- the fake provider as processes ----------------------------------------------------------------------
def start_fakes(workdir, procs, webhook_url):
    """P fake-provider processes on one port (SO_REUSEPORT); returns (port, [(proc, tap port)])."""
    port, out = 0, []
    for i in range(procs):
        ready = os.path.join(workdir, f"fake{i}.json")
        proc = util.spawn([sys.executable, FAKE, "--provider", "twilio", "--account", ACCOUNT, "--token", TOKEN,
                           "--webhook-url", webhook_url, "--no-record", "--fast", "--tap-port", "0", "--reuse-port",
                           "--port", str(port), "--ready-file", ready], os.path.join(workdir, f"fake{i}.log"))
        util.wait_for(lambda: os.path.exists(ready) or proc.poll() is not None, 20, what="the fake provider")
        if proc.poll() is not None:
            sys.exit("fake provider failed: " + util.tail(os.path.join(workdir, f"fake{i}.log")))
        with open(ready) as f:
            info = json.load(f)
        port = info["port"]
        out.append((proc, info["tap_port"]))
    return port, out


class Path:
    def __init__(self, name, short, pids):
        self.name, self.short, self.pids = name, short, pids
        self.rates, self.lat, self.cpu = [], [], {}
        self.error = None


def measure(path, make, args, senders, receivers, others):
    """make(n, tag) -> packets. Warm-up, `repeat` throughput runs, then round trips.
    A path that stops delivering is recorded (path.error) and the bench goes on."""
    try:
        _measure(path, make, args, senders, receivers, others)
    except Stuck as e:
        path.error = str(e)
        print(f"{path.short}: {e}", file=sys.stderr)
        settle(list(senders) + list(receivers) + list(others), 1.0)
    print(f"{path.short}: done ({', '.join(f'{r:,.0f}' for r in path.rates)} msg/s)", file=sys.stderr, flush=True)


def _cpu(pids):
    out = {}
    for k, ps in pids.items():
        out[k] = sum(cpu_seconds(p) for p in (ps if isinstance(ps, (list, tuple)) else [ps]))
    out["client"] = sum(os.times()[:2])
    return out


def _measure(path, make, args, senders, receivers, others):
    ends = list(senders) + list(receivers) + list(others)
    run_load(senders, receivers, others, make(min(2000, args.messages), "w"), args.window)
    settle(ends, 0.2)
    cpu0 = _cpu(path.pids)
    for rep in range(args.repeat):
        secs = run_load(senders, receivers, others, make(args.messages, f"r{rep}"), args.window)
        path.rates.append(args.messages / secs)
    cpu1 = _cpu(path.pids)
    total = args.messages * args.repeat
    path.cpu = {k: (cpu1[k] - cpu0[k]) * 1e6 / total for k in cpu0}  # ms per 1000 messages
    settle(ends, 0.2)
    pk = make(args.roundtrips, "l")
    deadline = time.perf_counter() + args.latency_budget
    for i in range(0, len(pk), 50):
        run_load(senders[:1], receivers, others, pk[i:i + 50], 1, path.lat)
        if time.perf_counter() > deadline:
            break
    settle(ends, 0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10000, help="messages per throughput run (10000)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per path; median shown (3)")
    ap.add_argument("--roundtrips", type=int, default=1000, help="round trips for latency (1000)")
    ap.add_argument("--latency-budget", type=float, default=10.0, help="max seconds of round trips per path (10)")
    ap.add_argument("--window", type=int, default=500, help="max messages not yet delivered (500)")
    ap.add_argument("--body-size", type=int, default=100, help="body bytes (100)")
    ap.add_argument("--recipients", type=int, default=100,
                    help="distinct phone numbers messages go to / webhooks come from (100)")
    ap.add_argument("--http-conns", type=int, default=8, help="keep-alive connections of the HTTP clients (8)")
    ap.add_argument("--fake-procs", type=int, default=1, help="fake provider processes on one port (1)")
    ap.add_argument("--only", choices=("both", "in", "out"), default="both",
                    help="in = SMS->XMPP only, out = XMPP->SMS only (both)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()

    if not os.access(binary(), os.X_OK):
        sys.exit(f"switchboard binary not found: {binary()} (build it, or set SWITCHBOARD_BIN)")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = tempfile.mkdtemp(prefix="sb-bench-sms-")
    server = sb = client = None
    fakes, conns = [], []
    try:
        snapshot_binary(workdir)
        http_port = util.free_port()
        webhook = "/sms/twilio"
        public_url = f"http://{HOST}:{http_port}{webhook}"
        fake_port, fakes = start_fakes(workdir, args.fake_procs, public_url)
        server = BenchProsody(os.path.join(workdir, "prosody"), components=dict(COMPONENTS), log_level="warn")
        server.register("alice", PASSWORD)
        server.start()
        block = "\n".join([
            "[[sms]]", f"domain = {toml_str(SMS_DOMAIN)}", f"secret = {toml_str(SMS_SECRET)}",
            'allow = ["*@localhost"]', 'provider = "twilio"', f"api_base = {toml_str(f'http://{HOST}:{fake_port}')}",
            f"account = {toml_str(ACCOUNT)}", f"token = {toml_str(TOKEN)}", f"webhook = {toml_str(webhook)}",
            f"public_url = {toml_str(public_url)}", "rate_per_number = 0",
            "", "  [[sms.numbers]]", f"  number = {toml_str(ALICE_NUM)}", '  owner = "alice@localhost"'])
        sb = Switchboard(os.path.join(workdir, "sb"), server, with_loopback=False, log_level="warn", extra=block,
                         http_port=http_port)
        rc, out = sb.check_config()
        if rc != 0:
            sys.exit(f"switchboard --check-config refused the bench config: {out}")
        sb.start(timeout=30)

        client = RawClient(server.c2s_port, "alice")
        client.iq_set("<query xmlns='jabber:iq:register'/>", "reg", to=SMS_DOMAIN)  # XEP-0077, empty form
        client.send("<presence/>")
        client.drain(0.5)
        xe = XmppEnd(client)
        taps = [TapEnd(tp) for _, tp in fakes]
        conns += taps

        def http_conns(port, ok):
            # Opened right before their path: switchboard closes a keep-alive
            # connection idle for 10 s ([http] read timeout).
            made = [HttpEnd(port, ok) for _ in range(args.http_conns)]
            conns.extend(made)
            return made

        fake_pids = [p.pid for p, _ in fakes]
        pid = {"prosody": server.pid(), "switchboard": sb.proc.pid, "fake provider": fake_pids}
        print(f"pids: prosody={pid['prosody']} switchboard={pid['switchboard']} fake={fake_pids}", file=sys.stderr,
              flush=True)
        size, rcp = args.body_size, args.recipients
        paths = {}
        p = paths["fake"] = Path(f"HTTP client → fake provider ({args.fake_procs} process(es)) (ceiling)",
                                 "fake provider alone", {"fake provider": fake_pids})
        measure(p, lambda n, t: provider_posts(n, size, "c" + t, rcp, public_url), args, http_conns(fake_port, 201), taps, [xe])
        p = paths["pros"] = Path("client → Prosody → client (ceiling)", "Prosody alone", {"prosody": pid["prosody"]})
        measure(p, lambda n, t: chat_stanzas(lambda i: client.bare, n, size, "p" + t), args, [xe], [xe], taps)
        if args.only in ("both", "out"):
            p = paths["out"] = Path("client → Prosody → switchboard → fake provider", "XMPP → SMS", dict(pid))
            measure(p, lambda n, t: chat_stanzas(lambda i: f"{recipient(i, rcp)}@{SMS_DOMAIN}", n, size, "o" + t),
                    args, [xe], taps, [])
        if args.only in ("both", "in"):
            p = paths["in"] = Path("webhook → switchboard → Prosody → client", "SMS → XMPP", dict(pid))
            measure(p, lambda n, t: webhook_posts(n, size, "i" + t, rcp, public_url, webhook), args, http_conns(http_port, 200), [xe],
                    taps)
        report(args, paths, pid)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for c in conns:
            c.close()
        if client is not None:
            client.close()
        if sb is not None:
            sb.cleanup()
        if server is not None:
            server.cleanup()
        for proc, _ in fakes:
            util.stop_group(proc)
        for proc in list(util.LIVE_PROCESSES):
            util.kill_group(proc)
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def report(args, paths, pid):
    cpus, model, prosody_ver = machine()
    print(f"# switchboard SMS end-to-end bench — {cpus} CPU(s), {model}")
    print(f"switchboard ({os.environ.get('SWITCHBOARD_BIN', binary())}); Prosody {prosody_ver}; fake Twilio "
          f"provider (--fast raw asyncio HTTP, {args.fake_procs} process(es)); Python {sys.version.split()[0]}; "
          f"raw-socket clients")
    print(f"[[sms]] provider=twilio, rate_per_number=0, durable store on (default), [log] level warn; "
          f"{args.messages} messages x {args.repeat} runs per path (median shown), {args.body_size}-byte bodies, "
          f"{args.recipients} phone numbers, window {args.window}, {args.http_conns} HTTP connections; latency: "
          f"{args.roundtrips} round trips, one in flight (at most {args.latency_budget:g} s per path)\n")

    def median(k):
        return statistics.median(paths[k].rates) if k in paths and paths[k].rates else None

    def row(p, slower):
        if not p.rates:
            return f"| {p.name} | stuck: {p.error} | | | |"
        rate = statistics.median(p.rates)
        name = p.name if len(p.lat) >= args.roundtrips else f"{p.name} ({len(p.lat)} round trips)"
        if p.error:
            name += f" — then stuck: {p.error}"
        lat = f"{pct(p.lat, 50):.3f} | {pct(p.lat, 99):.3f}" if p.lat else "— | —"
        ratio = f"{rate / slower:.2f}" if slower else "—"
        return f"| {name} | {rate:,.0f} | {lat} | {ratio} |"

    for key, title, ceilings in (("out", "XMPP → SMS", ("fake", "pros")), ("in", "SMS → XMPP", ("pros",))):
        if key not in paths:
            continue
        slower = min([median(k) for k in ceilings if median(k)] or [0])
        print(f"## {title}\n")
        print("| path | messages/s | p50 ms | p99 ms | ratio to slower ceiling |")
        print("|---|---:|---:|---:|---:|")
        for k in ceilings + (key,):
            print(row(paths[k], slower))
        rate = median(key)
        if rate:
            print(f"\ntarget ≥ 1,000 messages/s: {rate:,.0f} — {'met' if rate >= 1000 else 'NOT met'}\n")
    print("CPU ms per 1000 messages during the throughput runs; switchboard max RSS (VmHWM) "
          f"{vm_hwm_kib(pid['switchboard']) / 1024:.1f} MiB\n")
    cols = ("switchboard", "prosody", "fake provider", "client")
    print("| path | " + " | ".join(c if c != "client" else "bench client (Python)" for c in cols) + " |")
    print("|---|---:|---:|---:|---:|")
    for p in paths.values():
        print(f"| {p.short} | " + " | ".join(f"{p.cpu[c]:.1f}" if c in p.cpu else "—" for c in cols) + " |")
    print("\nthroughput runs (msg/s): " + "; ".join(
        f"{p.short}: " + ", ".join(f"{r:,.0f}" for r in p.rates) for p in paths.values()))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
