#!/usr/bin/python3
"""End-to-end benchmark (not a test): chat messages from an XMPP client through a
real Prosody to switchboard's [[loopback]] echo contact and back, on loopback,
beside the ceiling of the same setup measured in the same run.

Paths (same client, same message count, same 100-byte body):
  prosody      client -> Prosody -> client (to the user's own bare JID): the ceiling
  null-comp    client -> Prosody -> a do-nothing XEP-0114 echo component written in
               Python (separate process) -> Prosody -> client: the same two Prosody
               passes switchboard needs, with (almost) no gateway work in between
  switchboard  client -> Prosody -> switchboard (echo@gw.localhost) -> Prosody -> client

Throughput: N messages pipelined with at most WINDOW outstanding, echoes counted.
Latency: one message in flight at a time, ROUNDTRIPS round trips; p50/p99.
Also switchboard's CPU time per 1000 bridged messages (/proc/<pid>/stat utime+stime
over the throughput runs) and its max RSS (/proc/<pid>/status VmHWM).

The load client is a minimal raw-socket c2s client (no TLS, SASL PLAIN — the
harness's Prosody allows plain auth on unencrypted c2s): slixmpp is far too slow
to saturate anything. The e2e harness (tests/e2e/harness) is used read-only.

Usage: /usr/bin/python3 bench/bench_e2e.py [--messages N] [--roundtrips R]
       [--window W] [--repeat K] [--body-size B] [--no-null]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard; needs -DSB_TEST_TRANSPORT=ON)
"""
import argparse
import base64
import hashlib
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from harness import util  # noqa: E402
from harness.prosody import ProsodyServer  # noqa: E402
from harness.servers import COMPONENTS, GW_DOMAIN, HOST, PASSWORD, XMPP_DOMAIN  # noqa: E402
from harness.switchboard import Switchboard, binary  # noqa: E402

NULL_DOMAIN = "null.localhost"
NULL_SECRET = "null-s3cret"
MARK = b">BNCH"          # every body starts with "BNCH": echoes are counted by it
NS_STREAM = "http://etherx.jabber.org/streams"
IDLE_LIMIT = 30.0        # seconds without any progress before a run is declared stuck


class Stuck(RuntimeError):
    pass


# -- a minimal raw c2s client ------------------------------------------------------
class RawClient:
    """RFC 6120 c2s over a plain TCP socket: stream, SASL PLAIN, bind, presence.
    After setup it only writes pre-serialised stanzas and counts MARK occurrences
    in what comes back (across read boundaries), which costs next to no CPU."""

    def __init__(self, port, user, password=PASSWORD, resource="bench"):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.user = user
        self.bare = f"{user}@{XMPP_DOMAIN}"
        self._open_stream()
        feats = self._read_until(b"</stream:features>")
        if b">PLAIN<" not in feats:
            raise RuntimeError(f"server does not offer SASL PLAIN: {feats[:400]!r}")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        reply = self._read_match(rb"<success[^>]*?(/>|</success>)|<failure.*?</failure>")
        if not reply.startswith(b"<success"):
            raise RuntimeError(f"SASL PLAIN failed for {user}: {reply!r}")
        self._open_stream()  # RFC 6120 §6.4.6: a new stream after SASL success
        feats = self._read_until(b"</stream:features>")
        self.iq_set(f"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind>", "bind")
        if b"urn:ietf:params:xml:ns:xmpp-session" in feats and b"<optional" not in feats:
            self.iq_set("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>", "sess")
        self.full = f"{self.bare}/{resource}"

    def _open_stream(self):
        self.send(f"<?xml version='1.0'?><stream:stream to='{XMPP_DOMAIN}' xmlns='jabber:client' "
                  f"xmlns:stream='{NS_STREAM}' version='1.0'>")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError(f"server closed the stream; last bytes: {self.buf[-400:]!r}")
        self.buf += data

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_match(self, pattern):
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m.group(0)
            self._fill()

    def iq_set(self, payload, iq_id, to=None):
        """Sends an iq set; returns the reply (raises unless type='result')."""
        to_attr = f" to='{to}'" if to else ""
        self.send(f"<iq type='set' id='{iq_id}'{to_attr}>{payload}</iq>")
        reply = self._read_match(rb"<iq\b[^>]*?\bid=['\"]" + iq_id.encode() + rb"['\"][^>]*?(/>|>.*?</iq>)")
        if not re.search(rb"\btype=['\"]result['\"]", reply.split(b">", 1)[0]):
            raise RuntimeError(f"iq {iq_id} failed: {reply!r}")
        return reply

    def drain(self, quiet=0.3):
        """Discards everything that arrives until the stream is quiet for `quiet` s."""
        self.sock.settimeout(quiet)
        try:
            while True:
                if not self.sock.recv(65536):
                    raise RuntimeError("server closed the stream while draining")
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(10)
        self.buf = b""

    def close(self):
        try:
            self.sock.sendall(b"</stream:stream>")
        except OSError:
            pass
        self.sock.close()

    # -- load ----------------------------------------------------------------------
    def throughput(self, stanzas, window):
        """Pipelines `stanzas` (bytes each) with at most `window` unanswered; returns
        seconds from the first byte sent to the last echo counted."""
        n = len(stanzas)
        sock = self.sock
        sock.setblocking(False)
        sent = got = 0
        out = memoryview(b"")
        tail = b""
        keep = len(MARK) - 1
        errors = 0
        etail = b""
        last_progress = t0 = time.perf_counter()
        try:
            while got < n:
                if not out and sent < n and sent - got < window:
                    upto = min(n, got + window)
                    out = memoryview(b"".join(stanzas[sent:upto]))
                    sent = upto
                r, w, _ = select.select([sock], [sock] if out else [], [], 1.0)
                if w:
                    k = sock.send(out)
                    out = out[k:]
                if r:
                    data = sock.recv(262144)
                    if not data:
                        raise RuntimeError("server closed the stream during the run")
                    chunk = tail + data
                    c = chunk.count(MARK)
                    tail = chunk[-keep:]
                    # Any error stanza means the path is broken; the numbers would lie.
                    e = etail + data
                    errors += e.count(b"type='error'") + e.count(b'type="error"')
                    etail = e[-13:]
                    if c:
                        got += c
                        last_progress = time.perf_counter()
                    if errors:
                        raise RuntimeError(f"error stanza during the run: {data[-600:]!r}")
                if time.perf_counter() - last_progress > IDLE_LIMIT:
                    raise Stuck(f"no echo for {IDLE_LIMIT}s: sent {sent}, received {got} of {n}")
            return time.perf_counter() - t0
        finally:
            sock.setblocking(True)
            sock.settimeout(10)

    def roundtrips(self, stanzas, budget):
        """Sends each stanza only after the previous echo arrived; returns latencies in
        ms. Stops early once `budget` seconds have passed (a slow path must not make
        the bench run for minutes)."""
        sock = self.sock
        deadline = time.perf_counter() + budget
        sock.settimeout(IDLE_LIMIT)
        lat = []
        tail = b""
        keep = len(MARK) - 1
        pending = 0  # echoes seen beyond the one awaited (should stay 0)
        try:
            for s in stanzas:
                t0 = time.perf_counter_ns()
                sock.sendall(s)
                while pending == 0:
                    data = sock.recv(65536)
                    if not data:
                        raise RuntimeError("server closed the stream during the run")
                    if b"type='error'" in data or b'type="error"' in data:
                        raise RuntimeError(f"error stanza during the run: {data[-600:]!r}")
                    chunk = tail + data
                    pending += chunk.count(MARK)
                    tail = chunk[-keep:]
                lat.append((time.perf_counter_ns() - t0) / 1e6)
                pending -= 1
                if time.perf_counter() > deadline:
                    break
        except socket.timeout:
            raise Stuck(f"no echo for {IDLE_LIMIT}s after {len(lat)} round trips")
        finally:
            sock.settimeout(10)
        return lat


def make_stanzas(to, n, body_size, tag):
    """n chat messages to `to`, each with a body of exactly body_size ASCII bytes
    starting with MARK's text (the echo is byte-exact, so the body identifies it)."""
    out = []
    for i in range(n):
        head = f"BNCH{tag}{i:07d} "
        body = (head + "x" * body_size)[:body_size]
        out.append(f"<message to='{to}' type='chat' id='{tag}{i}'><body>{body}</body></message>".encode())
    return out


# -- a do-nothing XEP-0114 echo component (runs in its own process) ------------------
def null_component(port, domain, secret):
    """Connects as component `domain`; answers every <message> with its body, from
    echo@domain to the sender's bare JID, as switchboard's loopback echo does."""
    s = socket.create_connection((HOST, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(f"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
              f"xmlns:stream='{NS_STREAM}' to='{domain}'>".encode())
    buf = b""
    while not re.search(rb"<stream:stream[^>]*>", buf):
        buf += s.recv(4096)
    sid = re.search(rb"\bid=['\"]([^'\"]+)['\"]", re.search(rb"<stream:stream[^>]*>", buf).group(0)).group(1)
    s.sendall(f"<handshake>{hashlib.sha1(sid + secret.encode()).hexdigest()}</handshake>".encode())
    while b"<handshake" not in buf:  # XEP-0114 §3: an empty <handshake/> means accepted
        data = s.recv(4096)
        if not data or b"<stream:error" in data:
            sys.exit(f"null component: handshake refused: {data!r}")
        buf += data
    print("null component: ready", flush=True)
    buf = b""
    frm = re.compile(rb"\bfrom=['\"]([^'\"/]+)")
    body = re.compile(rb"<body>(.*?)</body>", re.S)
    head = f"<message from='echo@{domain}' type='chat' to='".encode()
    while True:
        data = s.recv(262144)
        if not data:
            return
        buf += data
        end = buf.rfind(b"</message>")
        if end < 0:
            continue
        end += len(b"</message>")
        done, buf = buf[:end], buf[end:]
        out = []
        for st in done.split(b"</message>")[:-1]:
            st = st[st.rfind(b"<message"):]  # skip any presence/iq before it
            f, b = frm.search(st), body.search(st)
            if f and b:
                out.append(head + f.group(1) + b"'><body>" + b.group(1) + b"</body></message>")
        if out:
            s.sendall(b"".join(out))


# -- adapter: optional Prosody network settings (the harness file stays untouched) ---
class BenchProsody(ProsodyServer):
    """The harness's Prosody; with nodelay=True also TCP_NODELAY on Prosody's own
    sockets (network_settings, a global option: it must precede VirtualHost)."""

    def __init__(self, workdir, nodelay=False, **kwargs):
        self.nodelay = nodelay
        super().__init__(workdir, **kwargs)

    def _write_config(self):
        super()._write_config()
        if self.nodelay:
            with open(self.config_path) as f:
                text = f.read()
            text = text.replace('VirtualHost "', 'network_settings = { nagle = false }\n\nVirtualHost "', 1)
            with open(self.config_path, "w") as f:
                f.write(text)


# -- process observation ------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime+stime of `pid` in seconds (proc(5): fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "prosody"], capture_output=True,
                             text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        ver = "?"
    return os.cpu_count(), model, ver


# -- the runs ---------------------------------------------------------------------
class Path:
    def __init__(self, name, short, to, pids):
        self.name, self.short, self.to, self.pids = name, short, to, pids  # pids: {label: pid} whose CPU is recorded
        self.rates, self.lat, self.cpu = [], [], {}


def run_path(client, path, args, tag):
    # Warm-up (JIT-less, but caches, allocators, TCP windows), then timed runs.
    client.throughput(make_stanzas(path.to, min(2000, args.messages), args.body_size, tag + "w"), args.window)
    cpu0 = {k: cpu_seconds(p) for k, p in path.pids.items()}
    cpu0["client"] = sum(os.times()[:2])
    for rep in range(args.repeat):
        stanzas = make_stanzas(path.to, args.messages, args.body_size, f"{tag}{rep}")
        secs = client.throughput(stanzas, args.window)
        path.rates.append(args.messages / secs)
    cpu1 = {k: cpu_seconds(p) for k, p in path.pids.items()}
    cpu1["client"] = sum(os.times()[:2])
    total = args.messages * args.repeat
    path.cpu = {k: (cpu1[k] - cpu0[k]) * 1000.0 / total * 1000.0 for k in cpu0}  # ms per 1000 messages
    path.lat = client.roundtrips(make_stanzas(path.to, args.roundtrips, args.body_size, tag + "l"),
                                 args.latency_budget)


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="messages per throughput run (20000)")
    ap.add_argument("--roundtrips", type=int, default=2000, help="round trips for latency (2000)")
    ap.add_argument("--latency-budget", type=float, default=15.0,
                    help="stop the round trips of a path after this many seconds (15)")
    ap.add_argument("--window", type=int, default=500, help="max unanswered messages (500)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per path; the median is shown (3)")
    ap.add_argument("--body-size", type=int, default=100, help="body bytes (100)")
    ap.add_argument("--no-null", action="store_true", help="skip the Python null-component path")
    ap.add_argument("--prosody-nodelay", action="store_true",
                    help="diagnostic: set TCP_NODELAY on Prosody's sockets (network_settings)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()

    if not os.access(binary(), os.X_OK):
        sys.exit(f"switchboard binary not found: {binary()} (build it, or set SWITCHBOARD_BIN)")

    # Ctrl-C reaches only us (children run in their own sessions); SIGTERM too.
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = tempfile.mkdtemp(prefix="sb-bench-")
    server = sb = null_proc = client = None
    try:
        comps = dict(COMPONENTS)
        comps[NULL_DOMAIN] = NULL_SECRET
        server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=args.prosody_nodelay, components=comps,
                              log_level="warn")
        server.register("alice", PASSWORD)
        server.start()
        sb = Switchboard(os.path.join(workdir, "sb"), server, log_level="warn",
                         loopback={"emit_interval_ms": 0})
        sb.start()
        if not args.no_null:
            null_proc = util.spawn([sys.executable, os.path.abspath(__file__), "--null-component",
                                    str(server.component_port), NULL_DOMAIN, NULL_SECRET],
                                   os.path.join(workdir, "null.log"))

        client = RawClient(server.c2s_port, "alice")
        # XEP-0077: no field is required by the loopback transport, so an empty query registers.
        client.iq_set("<query xmlns='jabber:iq:register'/>", "reg", to=GW_DOMAIN)
        client.send("<presence/>")  # echoes go to the bare JID: an available resource must exist
        client.drain(0.5)
        if null_proc is not None:
            util.wait_for(lambda: "ready" in util.tail(os.path.join(workdir, "null.log")) or
                          null_proc.poll() is not None, 10, what="null component")
            if null_proc.poll() is not None:
                sys.exit("null component failed: " + util.tail(os.path.join(workdir, "null.log")))

        prosody_pid, sb_pid = server.pid(), sb.proc.pid
        paths = [Path("client → Prosody → client (ceiling)", "prosody alone", client.bare, {"prosody": prosody_pid})]
        if null_proc is not None:
            paths.append(Path("client → Prosody → null component (Python) → Prosody → client", "null component",
                              f"echo@{NULL_DOMAIN}",
                              {"prosody": prosody_pid, "null component": null_proc.pid}))
        paths.append(Path("client → Prosody → switchboard → Prosody → client", "switchboard", f"echo@{GW_DOMAIN}",
                          {"prosody": prosody_pid, "switchboard": sb_pid}))
        for i, p in enumerate(paths):
            run_path(client, p, args, f"p{i}")
            client.drain(0.2)

        cpus, model, ver = machine()
        ceiling = statistics.median(paths[0].rates)
        print(f"# switchboard end-to-end bench — {cpus} CPU(s), {model}, Prosody {ver}")
        print(f"binary {binary()}; {args.messages} messages x {args.repeat} runs per path (median shown), "
              f"{args.body_size}-byte bodies, window {args.window}; latency over {args.roundtrips} round trips, "
              f"one in flight (at most {args.latency_budget:g} s per path); all on loopback; Prosody network_settings: "
              f"{'nagle = false' if args.prosody_nodelay else 'defaults (Nagle on)'}; load average at the end "
              f"{os.getloadavg()[0]:.2f}\n")
        print("| path | messages/s | p50 ms | p99 ms | ratio to ceiling |")
        print("|---|---:|---:|---:|---:|")
        for p in paths:
            rate = statistics.median(p.rates)
            name = p.name if len(p.lat) == args.roundtrips else f"{p.name} (latency: {len(p.lat)} round trips)"
            print(f"| {name} | {rate:,.0f} | {pct(p.lat, 50):.3f} | {pct(p.lat, 99):.3f} | {rate / ceiling:.2f} |")
        sbp = paths[-1]
        if null_proc is not None:
            print(f"\nswitchboard / null component throughput: "
                  f"{statistics.median(sbp.rates) / statistics.median(paths[1].rates):.2f}")
        if pct(sbp.lat, 50) > 10 and not args.prosody_nodelay:
            print("note: switchboard p50 over 10 ms — Nagle on Prosody's component socket holds the next message "
                  "until switchboard's delayed ACK (~40 ms); compare with --prosody-nodelay (bench/README.md)")
        print(f"\nswitchboard: {sbp.cpu['switchboard']:.1f} ms CPU per 1000 bridged messages; "
              f"max RSS (VmHWM) {vm_hwm_kib(sb_pid) / 1024:.1f} MiB")
        print("\nCPU ms per 1000 messages during the throughput runs (2 Prosody passes per bridged message):")
        print("| path | " + " | ".join(["prosody", "null component", "switchboard", "bench client"]) + " |")
        print("|---|---:|---:|---:|---:|")
        for p in paths:
            cells = [f"{p.cpu[k]:.1f}" if k in p.cpu else "—" for k in ("prosody", "null component", "switchboard",
                                                                         "client")]
            print(f"| {p.short} | " + " | ".join(cells) + " |")
        print("\nthroughput runs (msg/s): " + "; ".join(
            f"{p.short}: " + ", ".join(f"{r:,.0f}" for r in p.rates) for p in paths))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
        if null_proc is not None:
            util.kill_group(null_proc)
        if sb is not None:
            sb.cleanup()
        if server is not None:
            server.cleanup()
        for proc in list(util.LIVE_PROCESSES):  # anything else we started
            util.kill_group(proc)
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--null-component":
        null_component(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    sys.exit(main())
