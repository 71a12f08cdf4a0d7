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
processes) and this client, and each one's CPU as % of one core over the throughput
runs (benchlib.CpuSample); switchboard's max RSS.

The fake provider runs in its --fast mode (a raw asyncio HTTP/1.1 server for the send
endpoint: the same Twilio answers at ~5x aiohttp's rate, ~15k sends/s on one core), as
P processes sharing one port (SO_REUSEPORT) if asked, so that it is not the
bottleneck; its ceiling row shows how far it goes. Clients are raw sockets (benchlib's c2s client; pre-serialised HTTP
requests): Python libraries would be the bottleneck. The e2e harness is used read-only.

Usage: /usr/bin/python3 bench/bench_sms.py [--messages N] [--repeat K] [--roundtrips R]
       [--window W] [--recipients R] [--http-conns C] [--fake-procs P] [--only in|out|both] [--keep]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import base64
import json
import os
import re
import socket
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# benchlib puts tests/e2e on sys.path.
from benchlib import (BenchProsody, End, Path, XmppEnd, bench_args, body_text,  # noqa: E402
                      chat_stanzas, cpu_table, load_average, machine, measure, rate_row, registered_client,
                      require_binary, run_bench, runs_line, start_switchboard, vm_hwm_kib)
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


# -- endpoints for the load loop -------------------------------------------------------------------
class HttpEnd(End):
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


class TapEnd(End):
    """The fake provider's tap: one byte per message it stored."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.out = bytearray()

    def feed(self, data):
        return len(data)

    def close(self):
        self.sock.close()


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


def main():
    ap = bench_args(__doc__, messages=10000, roundtrips=1000, latency_budget=10.0, window=500)
    ap.add_argument("--recipients", type=int, default=100,
                    help="distinct phone numbers messages go to / webhooks come from (100)")
    ap.add_argument("--http-conns", type=int, default=8, help="keep-alive connections of the HTTP clients (8)")
    ap.add_argument("--fake-procs", type=int, default=1, help="fake provider processes on one port (1)")
    ap.add_argument("--only", choices=("both", "in", "out"), default="both",
                    help="in = SMS->XMPP only, out = XMPP->SMS only (both)")
    args = ap.parse_args()
    require_binary()
    return run_bench("sb-bench-sms-", args.keep, lambda workdir, stack: bench(args, workdir, stack))


def bench(args, workdir, stack):
    snapshot_binary(workdir)
    http_port = util.free_port()
    webhook = "/sms/twilio"
    public_url = f"http://{HOST}:{http_port}{webhook}"
    fake_port, fakes = start_fakes(workdir, args.fake_procs, public_url)
    for proc, _ in fakes:
        stack.callback(util.stop_group, proc)
    server = BenchProsody(os.path.join(workdir, "prosody"), components=dict(COMPONENTS), log_level="warn")
    stack.callback(server.cleanup)
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
    start_switchboard(sb, stack)
    client = registered_client(server, SMS_DOMAIN, stack)
    xe = XmppEnd(client)
    taps = [TapEnd(tp) for _, tp in fakes]
    for t in taps:
        stack.callback(t.close)

    def http_conns(port, ok):
        # Opened right before their path: switchboard closes a keep-alive
        # connection idle for 10 s ([http] read timeout).
        made = [HttpEnd(port, ok) for _ in range(args.http_conns)]
        for c in made:
            stack.callback(c.close)
        return made

    fake_pids = [p.pid for p, _ in fakes]
    pid = {"prosody": server.pid(), "switchboard": sb.proc.pid, "fake provider": fake_pids}
    print(f"pids: prosody={pid['prosody']} switchboard={pid['switchboard']} fake={fake_pids}", file=sys.stderr,
          flush=True)
    size, rcp = args.body_size, args.recipients
    paths = {}
    p = paths["fake"] = Path(f"HTTP client → fake provider ({args.fake_procs} process(es)) (ceiling)",
                             "fake provider alone", {"fake provider": fake_pids})
    measure(p, lambda n, t: provider_posts(n, size, "c" + t, rcp, public_url), args, http_conns(fake_port, 201),
            taps, [xe], stall=STALL_LIMIT)
    p = paths["pros"] = Path("client → Prosody → client (ceiling)", "Prosody alone", {"prosody": pid["prosody"]})
    measure(p, lambda n, t: chat_stanzas(client.bare, n, size, "p" + t), args, [xe], [xe], taps, stall=STALL_LIMIT)
    if args.only in ("both", "out"):
        p = paths["out"] = Path("client → Prosody → switchboard → fake provider", "XMPP → SMS", dict(pid))
        measure(p, lambda n, t: chat_stanzas(lambda i: f"{recipient(i, rcp)}@{SMS_DOMAIN}", n, size, "o" + t),
                args, [xe], taps, [], stall=STALL_LIMIT)
    if args.only in ("both", "in"):
        p = paths["in"] = Path("webhook → switchboard → Prosody → client", "SMS → XMPP", dict(pid))
        measure(p, lambda n, t: webhook_posts(n, size, "i" + t, rcp, public_url, webhook), args,
                http_conns(http_port, 200), [xe], taps, stall=STALL_LIMIT)
    report(args, paths, pid)


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
        return paths[k].median() if k in paths else None

    for key, title, ceilings in (("out", "XMPP → SMS", ("fake", "pros")), ("in", "SMS → XMPP", ("pros",))):
        if key not in paths:
            continue
        slower = min([median(k) for k in ceilings if median(k)] or [0])
        print(f"## {title}\n")
        print("| path | messages/s | p50 ms | p99 ms | ratio to slower ceiling |")
        print("|---|---:|---:|---:|---:|")
        for k in ceilings + (key,):
            print(rate_row(paths[k], args.roundtrips, slower))
        rate = median(key)
        if rate:
            print(f"\ntarget ≥ 1,000 messages/s: {rate:,.0f} — {'met' if rate >= 1000 else 'NOT met'}\n")
    print("CPU ms per 1000 messages during the throughput runs; switchboard max RSS (VmHWM) "
          f"{vm_hwm_kib(pid['switchboard']) / 1024:.1f} MiB\n")
    cols = [("switchboard", "switchboard"), ("prosody", "prosody"), ("fake provider", "fake provider"),
            ("client", "bench client (Python)")]
    rows = [(p.short, p) for p in paths.values()]
    cpu_table(rows, cols)
    print("\nCPU, % of one core during the throughput runs (the fake provider: all its processes)\n")
    cpu_table(rows, cols, unit="%")
    print("\n" + runs_line(rows))
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    sys.exit(main())
