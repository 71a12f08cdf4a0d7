"""What the end-to-end benches (bench_e2e, bench_mqtt, bench_sms, bench_irc) share:
the raw c2s client, the pipelined load loop and the settle loop, the measurement of a
path (warm-up, timed runs, CPU, one-in-flight latencies), /proc readers (CPU time,
VmRSS, VmHWM), versions, and the pieces of the printed tables. A bench script keeps
only what is its own: its servers, its protocol ends, its paths and its tables.

The load loop drives "ends": objects with `sock`, `out` (a bytearray of bytes still
to write), `feed(data)` -> how many messages `data` completes (and may queue
answers in `out`: PUBACKs, PONGs, echoes), and `reset()` (forget partial matches
after a settle). Every number is measured from this one process on loopback; the
e2e harness (tests/e2e/harness) is used read-only.
"""
import argparse
import base64
import contextlib
import hashlib
import os
import re
import select
import signal
import shutil
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
from harness.servers import HOST, PASSWORD, XMPP_DOMAIN  # noqa: E402
from harness.switchboard import binary  # noqa: E402

MARK = b">BNCH"          # every counted body starts with "BNCH"
NS_STREAM = "http://etherx.jabber.org/streams"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Stuck(RuntimeError):
    """A path stopped delivering: recorded in the table, the bench goes on."""


# -- process observation -----------------------------------------------------------------
def cpu_seconds(pid):
    """utime+stime of `pid` in seconds (proc(5) stat fields 14 and 15), in clock ticks
    (10 ms): counts threads that have ended too."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def oncpu_seconds(pid):
    """Time on CPU of `pid`'s live threads in seconds, to the nanosecond (sum of
    /proc/<pid>/task/*/schedstat, first field): a 10 ms run is measured too."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended
    return total / 1e9


def thread_cpu(pid):
    """utime+stime in seconds per thread name of `pid` (threads of one name summed)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue  # the thread ended
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def vm_rss_kib(pid):
    """Resident memory now (VmRSS), KiB."""
    return _status_kib(pid, "VmRSS:")


def vm_hwm_kib(pid):
    """Peak resident memory (VmHWM), KiB."""
    return _status_kib(pid, "VmHWM:")


def machine_jiffies():
    """(busy, total) jiffies of all CPUs since boot (/proc/stat "cpu" line; idle and
    iowait count as not busy)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - fields[3] - fields[4], total


class CpuSample:
    """CPU time of labelled processes (a label may name a list of PIDs: summed) and of
    this process, with the wall clock: the difference of two samples gives seconds
    of CPU per label and the utilisation as a share of one core. Also how busy the
    whole machine was (everything running on it, other people's builds included)."""

    def __init__(self, pids):
        self.wall = time.perf_counter()
        self.machine = machine_jiffies()
        self.ticks, self.precise = {}, {}
        for label, ps in pids.items():
            ps = ps if isinstance(ps, (list, tuple)) else [ps]
            self.ticks[label] = sum(cpu_seconds(p) for p in ps)
            self.precise[label] = sum(oncpu_seconds(p) for p in ps)
        self.ticks["client"] = self.precise["client"] = time.process_time()

    def since(self, before):
        """{label: CPU seconds from `before` to this sample}. The schedstat figure,
        unless utime+stime grew by more than two ticks beyond it (threads that ended
        during the runs: their time is only in stat)."""
        out = {}
        for k in self.ticks:
            fine = self.precise[k] - before.precise[k]
            coarse = self.ticks[k] - before.ticks[k]
            out[k] = coarse if coarse > fine + 2.0 / CLK_TCK else fine
        return out

    def machine_busy(self, before):
        """% of all CPUs busy from `before` to this sample."""
        busy, total = (a - b for a, b in zip(self.machine, before.machine))
        return busy * 100.0 / total if total > 0 else 0.0


def dpkg_version(package):
    return version_of(["dpkg-query", "-W", "-f=${Version}", package])


def version_of(argv):
    """First line of what `argv` prints, or "?"."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).strip().splitlines()
        return out[0] if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine():
    """(CPU count, CPU model, Prosody version)."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return os.cpu_count(), model, dpkg_version("prosody")


# -- a minimal raw c2s client ------------------------------------------------------------
class RawClient:
    """RFC 6120 c2s over a plain TCP socket: stream, SASL PLAIN, bind. After setup
    the load loop only writes pre-serialised stanzas and counts MARK in what comes
    back (XmppEnd), which costs next to no CPU: slixmpp would be the bottleneck."""

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


class RawComponent:
    """A XEP-0114 component over a plain TCP socket: stream and handshake, then raw
    writes (`sock`). `attempts`: Prosody refuses a domain whose previous connection it
    has not yet dropped (a gateway just stopped), so the handshake is retried."""

    def __init__(self, port, domain, secret, attempts=20):
        for attempt in range(attempts):
            try:
                self.sock = self._connect(port, domain, secret)
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.25)

    @staticmethod
    def _connect(port, domain, secret):
        s = socket.create_connection((HOST, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(f"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                  f"xmlns:stream='{NS_STREAM}' to='{domain}'>".encode())
        buf = b""
        while not re.search(rb"<stream:stream[^>]*>", buf):
            data = s.recv(4096)
            if not data:
                s.close()
                raise RuntimeError(f"component {domain}: stream closed before its header")
            buf += data
        head = re.search(rb"<stream:stream[^>]*>", buf).group(0)
        sid = re.search(rb"\bid=['\"]([^'\"]+)['\"]", head).group(1)
        s.sendall(f"<handshake>{hashlib.sha1(sid + secret.encode()).hexdigest()}</handshake>".encode())
        while b"<handshake" not in buf:  # XEP-0114 §3: an empty <handshake/> means accepted
            data = s.recv(4096)
            if not data or b"<stream:error" in data:
                s.close()
                raise RuntimeError(f"component {domain}: handshake refused: {data!r}")
            buf += data
        return s

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.sendall(b"</stream:stream>")
        self.sock.close()


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


# -- ends ----------------------------------------------------------------------------------
class End:
    """Base of the load loop's ends. `quickack`: after each read, ask the kernel to
    acknowledge at once (TCP_QUICKACK), for a peer that writes with Nagle on: without
    it our delayed ACK (~40 ms) holds the peer's next small write (ngIRCd)."""
    quickack = False

    def reset(self):
        pass


class XmppEnd(End):
    """A raw c2s client's socket: counts MARK in what arrives (across read
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
        self.tail = chunk[-(len(MARK) - 1):]  # too short to hold a whole MARK: never counted twice
        return chunk.count(MARK)

    def reset(self):
        self.tail = self.etail = b""


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _unique(ends):
    """Ends in order, one per socket (two ends over one socket would race for its reads)."""
    out, seen = [], set()
    for e in ends:
        if id(e.sock) not in seen:
            seen.add(id(e.sock))
            out.append(e)
    return out


def _recv(e, what):
    data = e.sock.recv(262144)
    if not data:
        raise RuntimeError(f"peer closed the connection {what} ({type(e).__name__})")
    if e.quickack:
        e.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    return data


def run_load(senders, receivers, others, packets, window, lat=None, stall=10.0):
    """Writes `packets` round-robin on the sender end(s) with at most `window` not yet
    counted at the receiver end(s); `others` are read (and answered) too, so that no
    server blocks on them. The next batch (up to `window` beyond what was counted) is
    queued once the previous one is written, as a gateway writes what it has. Returns
    seconds from the first byte sent to the last count. With `lat` (a list) and
    window 1, records each round trip in ms. Raises Stuck after `stall` s without a
    count."""
    senders, receivers = _as_list(senders), _as_list(receivers)
    ends = _unique(senders + receivers + list(others))
    counted = {id(e) for e in ends if any(e is r for r in receivers)}
    for e in ends:
        e.sock.setblocking(False)
    n = len(packets)
    sent = got = rr = 0
    last_progress = t0 = time.perf_counter()
    ts = 0
    try:
        while got < n:
            if sent < n and sent - got < window and not any(s.out for s in senders):
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
                    c = e.feed(_recv(e, "during the run"))
                    if c and id(e) in counted:
                        got += c
                        last_progress = time.perf_counter()
                        if lat is not None:
                            lat.append((time.perf_counter_ns() - ts) / 1e6)
            if time.perf_counter() - last_progress > stall:
                raise Stuck(f"nothing delivered for {stall:g}s: sent {sent}, delivered {got} of {n}")
        return time.perf_counter() - t0
    finally:
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)


def settle(ends, quiet=0.3, limit=30.0, until=None):
    """Reads everything until all sockets are quiet for `quiet` s (at most `limit` s),
    or, with `until` (a perf_counter time), until then whatever arrives. What an end
    queues while reading (PUBACKs, PONGs, echoes) is written; what an end would
    complain about (an error stanza, an HTTP status) belongs to a run that is over and
    is ignored. Then every end forgets its partial matches."""
    ends = _unique(ends)
    for e in ends:
        e.sock.setblocking(False)
    deadline = until if until is not None else time.perf_counter() + limit
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            r, _, _ = select.select([e.sock for e in ends], [], [], left if until is not None else min(quiet, left))
            if not r:
                if until is None:
                    break
                continue
            for e in ends:
                if e.sock not in r:
                    continue
                data = _recv(e, "while settling")
                try:
                    e.feed(data)
                except RuntimeError:
                    pass
                if e.out:
                    e.sock.setblocking(True)
                    e.sock.sendall(e.out)
                    e.out.clear()
                    e.sock.setblocking(False)
    finally:
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)
            e.reset()


# -- payloads --------------------------------------------------------------------------------
def body_text(i, size, tag, mark="BNCH"):
    """Exactly `size` ASCII bytes starting with `mark`: the far end counts by it."""
    return (f"{mark}{tag}{i:07d} " + "x" * size)[:size]


def chat_stanzas(to, n, size, tag, mtype="chat", mark="BNCH"):
    """n messages to `to` (a JID, or a function of the index giving one)."""
    to_of = to if callable(to) else (lambda i: to)
    return [f"<message to='{to_of(i)}' type='{mtype}' id='{tag}{i}'><body>{body_text(i, size, tag, mark)}"
            f"</body></message>".encode() for i in range(n)]


# -- a path and its measurement -------------------------------------------------------------
class Path:
    """One measured path: its rates (msg/s per timed run), one-in-flight latencies (ms),
    CPU ms per 1000 messages and CPU % of one core per process label (`pids`: label ->
    PID or list of PIDs; "client" is this process), per-thread CPU of one process,
    and the error that stopped it, if any."""

    def __init__(self, name, short, pids):
        self.name, self.short, self.pids = name, short, pids
        self.rates, self.lat, self.cpu, self.util, self.threads = [], [], {}, {}, {}
        self.error = self.window = self.n = self.machine_busy = None

    def median(self):
        return statistics.median(self.rates) if self.rates else None


def measure(path, make, args, senders, receivers, others, *, window=None, warmup=2000, repeat=None,
            path_budget=None, threads_of=None, stall=10.0):
    """make(n, tag) -> packets. A warm-up of min(warmup, --messages), `repeat` timed
    runs (CPU sampled around them), then latencies(). With `path_budget` the warm-up
    also sizes the timed runs: a path slower than the budget allows gets fewer
    messages (path.n), so one slow path cannot stretch a bench to many minutes.
    `threads_of`: the label of a process whose CPU is also split by thread name.
    A path that stops delivering keeps what it measured and records path.error."""
    window = window or args.window
    repeat = repeat or args.repeat
    path.window, path.n = window, args.messages
    ends = _as_list(senders) + _as_list(receivers) + list(others)
    try:
        warm = min(warmup, args.messages)
        secs = run_load(senders, receivers, others, make(warm, "w"), window, stall=stall)
        if path_budget:
            fits = int(warm / secs * path_budget / max(1, repeat))
            path.n = max(min(args.messages, fits), warm)
        settle(ends, 0.2)
        before = CpuSample(path.pids)
        th0 = thread_cpu(path.pids[threads_of]) if threads_of in path.pids else {}
        for rep in range(repeat):
            path.rates.append(path.n / run_load(senders, receivers, others, make(path.n, f"r{rep}"), window,
                                                stall=stall))
        after = CpuSample(path.pids)
        th1 = thread_cpu(path.pids[threads_of]) if threads_of in path.pids else {}
        total, wall = path.n * repeat, after.wall - before.wall
        spent = after.since(before)
        path.cpu = {k: s * 1e6 / total for k, s in spent.items()}   # ms per 1000 messages
        path.util = {k: s * 100.0 / wall for k, s in spent.items()}  # % of one core
        path.machine_busy = after.machine_busy(before)
        path.threads = {k: (th1[k] - th0.get(k, 0.0)) * 1e6 / total for k in th1}
        settle(ends, 0.2)
    except Stuck as e:
        path.error = str(e)
        print(f"{path.short}: {e}", file=sys.stderr)
        settle(ends, 0.5)
    else:
        latencies(path, make, args, senders, receivers, others, stall=stall)
    print(f"{path.short}: done ({fmt_rates(path.rates)} msg/s, {path.n} messages)", file=sys.stderr, flush=True)


def received_message(client, mark):
    """The next <message/> whose body starts with `mark`, as `client` (a RawClient)
    receives it: a gateway's stanza after Prosody, the template of same_stanzas()."""
    client.buf = b""
    client.sock.settimeout(10)
    return client._read_match(rb"<message\b(?:(?!<message\b).)*?>" + re.escape(mark) + rb".*?</message>")


TWIN_SECRET = "twin-s3cret"


def twin_domain(domain):
    """A component domain as long as `domain` (same first-label length, same parent),
    from which same_stanzas() sends a gateway's stanzas while the gateway stays
    connected on its own: Prosody accepts from a component only its own domain."""
    label, _, rest = domain.partition(".")
    return "t" * len(label) + "." + rest


def same_stanzas(path, sample, port, domain, args, receiver, others, **kwargs):
    """Measures `path`: Prosody alone carrying a gateway's stanza `sample` (from
    received_message), each copy with the bench's body, from a raw component to the
    client that received it — the most Prosody delivers of that traffic. The client
    ceiling's bare <message><body/></message> is cheaper for Prosody than a
    gateway's (ids, XEP-0359 elements), so this is the ceiling that says whether the
    gateway or Prosody limits the path. The component is twin_domain(domain) (in
    Prosody's config with TWIN_SECRET; the stanza's `domain` becomes it, same length),
    so it runs right after the gateway's own path, on a Prosody in the same state."""
    twin = twin_domain(domain)
    # Without the xml:lang Prosody adds on delivery: not part of what the gateway sent.
    sample = re.sub(rb" xml:lang=(['\"])[^'\"]*\1", b"", sample, count=1).replace(domain.encode(), twin.encode())
    body = re.search(rb"<body>(.*?)</body>", sample, re.S).group(1)
    comp = RawComponent(port, twin, TWIN_SECRET)
    path.sample = sample
    try:
        measure(path, lambda n, t: [sample.replace(body, body_text(i, args.body_size, "z" + t).encode())
                                    for i in range(n)], args, XmppEnd(comp), receiver, others, **kwargs)
    finally:
        comp.close()


def latencies(path, make, args, senders, receivers, others, stall=10.0):
    """Round trips into path.lat: one message in flight on the first sender, each
    counted before the next is sent, until --roundtrips or --latency-budget s."""
    pk = make(args.roundtrips, "l")
    deadline = time.perf_counter() + args.latency_budget
    first = _as_list(senders)[:1]
    try:
        for i in range(0, len(pk), 25):
            run_load(first, receivers, others, pk[i:i + 25], 1, path.lat, stall=stall)
            if time.perf_counter() > deadline:
                break
    except Stuck as e:
        path.error = str(e)
        print(f"{path.short}: {e}", file=sys.stderr)
    settle(_as_list(senders) + _as_list(receivers) + list(others), 0.2)


# -- tables ----------------------------------------------------------------------------------
def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1))))]


def lat_cells(p):
    """"p50 | p99" in ms, or dashes."""
    return f"{pct(p.lat, 50):.3f} | {pct(p.lat, 99):.3f}" if p is not None and p.lat else "— | —"


def fmt_rates(rates):
    return ", ".join(f"{r:,.0f}" for r in rates)


def rate_row(p, roundtrips, slower, window=None):
    """| name | messages/s | p50 | p99 | ratio to `slower` |, with what went wrong."""
    if not p.rates:
        return f"| {p.name} | stuck: {p.error} | | | |"
    rate = p.median()
    name = p.name if len(p.lat) >= roundtrips else f"{p.name} ({len(p.lat)} round trips)"
    if window is not None and p.window != window:
        name += f" (window {p.window})"
    if p.error:
        name += f" — then stuck: {p.error}"
    ratio = f"{rate / slower:.2f}" if slower else "—"
    return f"| {name} | {rate:,.0f} | {lat_cells(p)} | {ratio} |"


def cpu_table(rows, cols, unit="ms"):
    """Rows (label, Path) by columns (key, header): CPU ms per 1000 messages
    (unit="ms"), or CPU as % of one core over the timed runs (unit="%", with the
    busiest process named: the one a path is limited by, when it is near 100 %; and
    how busy all CPUs of the machine were: near 100 %, the path was CPU-starved,
    whoever used the CPU)."""
    extra = f" busiest | machine, all {os.cpu_count()} CPUs |" if unit == "%" else ""
    print("| path | " + " | ".join(h for _, h in cols) + " |" + extra)
    print("|---|" + "---:|" * len(cols) + ("---|---:|" if extra else ""))
    for label, p in rows:
        vals = p.util if unit == "%" else p.cpu
        if not vals:
            continue
        cells = " | ".join(f"{vals[k]:.1f}" if k in vals else "—" for k, _ in cols)
        if extra:
            top = max((k for k, _ in cols if k in vals), key=lambda k: vals[k])
            cells += f" | {dict(cols)[top]} {vals[top]:.0f} % | {p.machine_busy:.0f} %"
        print(f"| {label} | {cells} |")


def runs_line(items):
    """"throughput runs (msg/s): a: 1, 2; b: ..." from (label, Path) pairs."""
    return "throughput runs (msg/s): " + "; ".join(f"{label}: {fmt_rates(p.rates)}" for label, p in items if p.rates)


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- a bench's process --------------------------------------------------------------------
def bench_args(description, *, messages, roundtrips, latency_budget, window, repeat=3, body_size=100):
    """The options every bench has, with its own defaults; the bench adds the rest."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=messages, help=f"messages per throughput run ({messages})")
    ap.add_argument("--repeat", type=int, default=repeat, help=f"throughput runs per path; median shown ({repeat})")
    ap.add_argument("--roundtrips", type=int, default=roundtrips,
                    help=f"one-in-flight round trips for latency ({roundtrips})")
    ap.add_argument("--latency-budget", type=float, default=latency_budget,
                    help=f"max seconds of round trips per path ({latency_budget:g})")
    ap.add_argument("--window", type=int, default=window, help=f"max messages not yet delivered ({window})")
    ap.add_argument("--body-size", type=int, default=body_size, help=f"payload/body bytes ({body_size})")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    return ap


def require_binary():
    if not os.access(binary(), os.X_OK):
        sys.exit(f"switchboard binary not found: {binary()} (build it, or set SWITCHBOARD_BIN)")


def start_switchboard(sb, stack):
    """Starts a harness Switchboard whose config --check-config accepts; stopped with
    the stack."""
    stack.callback(sb.cleanup)
    rc, out = sb.check_config()
    if rc != 0:
        sys.exit(f"switchboard --check-config refused the bench config: {out}")
    sb.start(timeout=30)
    return sb


def registered_client(server, domain, stack, user="alice"):
    """A RawClient registered with the gateway `domain` (XEP-0077, an empty form: no
    field is required) and available (echoes and deliveries go to the bare JID)."""
    client = RawClient(server.c2s_port, user)
    stack.callback(client.close)
    client.iq_set("<query xmlns='jabber:iq:register'/>", "reg", to=domain)
    client.send("<presence/>")
    client.drain(0.5)
    return client


def run_bench(prefix, keep, body):
    """Runs body(workdir, stack) in a new temp dir: the body registers how to stop
    what it starts on `stack` (a contextlib.ExitStack) as it starts it, and all of it
    is stopped last-first however the body ends; then whatever the bench started
    and is still running is killed by PID, and the temp dir removed (or kept).
    Ctrl-C and SIGTERM end the bench the same way (children run in their own
    sessions), even if started with SIGINT ignored (`cmd &`). Returns the exit code."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = tempfile.mkdtemp(prefix=prefix)
    try:
        with contextlib.ExitStack() as stack:
            return body(workdir, stack) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for proc in list(util.LIVE_PROCESSES):
            util.kill_group(proc)
        if keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
