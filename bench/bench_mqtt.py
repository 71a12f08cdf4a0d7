#!/usr/bin/python3
"""End-to-end MQTT benchmark (not a test): switchboard's [[mqtt]] transport between a
real mosquitto and a real Prosody, on loopback, beside the ceilings of the same setup
measured in the same run.

Paths (same message count, same 100-byte payload/body):
  MQTT -> XMPP   raw MQTT publisher, QoS 1 on home/dev{i}/state -> mosquitto ->
                 switchboard -> Prosody -> raw c2s client (alice, a config subscriber)
  XMPP -> MQTT   raw c2s client -> Prosody -> switchboard (dev1@mqtt.localhost) ->
                 mosquitto (QoS 1 on home/dev1/set) -> raw MQTT subscriber
  ceilings       mosquitto alone: raw publisher -> mosquitto -> raw subscriber (QoS 1)
                 Prosody alone:   client -> Prosody -> client (own bare JID)
Throughput: N messages pipelined with at most WINDOW not yet delivered end to end.
Latency: one message in flight at a time (send -> arrival at the far end); p50/p99.
CPU ms per 1000 messages of switchboard, Prosody, mosquitto and this client
(/proc/<pid>/stat utime+stime over the throughput runs), switchboard's split by
thread (/proc/<pid>/task/*/stat, by thread name: the io thread, the MQTT worker
that makes Paho calls, Paho's receive and send threads), switchboard's max RSS.

Both MQTT clients are raw-socket MQTT 3.1.1 (CONNECT/SUBSCRIBE/PUBLISH/PUBACK only,
keepalive 0): paho-mqtt 1.6 in Python tops out at a few thousand QoS 1 messages/s
and would be the bottleneck. The XMPP client is bench_e2e.py's RawClient. The e2e
harness (tests/e2e/harness) is used read-only; mosquitto gets a bench config
(no per-message logging, no persistence file) through a subclass.

Usage: /usr/bin/python3 bench/bench_mqtt.py [--messages N] [--roundtrips R] [--window W]
       [--repeat K] [--format text|json] [--prosody-nodelay] [--keep]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import argparse
import os
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# bench_e2e puts tests/e2e on sys.path; its main() only runs as a script.
from bench_e2e import (CLK_TCK, MARK, BenchProsody, RawClient, Stuck, cpu_seconds, machine,  # noqa: E402
                       pct, vm_hwm_kib)
from harness import util  # noqa: E402
from harness.mosquitto import Mosquitto  # noqa: E402
from harness.servers import COMPONENTS, HOST, MQTT_DOMAIN, PASSWORD  # noqa: E402
from harness.switchboard import Switchboard, binary, snapshot_binary  # noqa: E402

CLIENT_ID = "switchboard-bench"   # fixed: a persistent session, as in production
CMD_DEVICE = "dev1"
STALL_LIMIT = 10.0  # seconds without a delivery before a path is declared stuck


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


# -- a minimal raw MQTT 3.1.1 client -----------------------------------------------
def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def publish_packet(topic, payload, pid):
    """PUBLISH, QoS 1, no retain (MQTT 3.1.1 §3.3)."""
    body = _mstr(topic) + struct.pack("!H", pid) + payload
    return b"\x32" + _varint(len(body)) + body


class RawMqtt:
    """Plain TCP, keepalive 0 (no PINGREQ needed, MQTT 3.1.1 §3.1.2.10). feed() parses
    whatever arrived: counts PUBACKs and PUBLISHes, queues a PUBACK for every QoS 1
    PUBLISH in `self.out` (the caller writes it)."""

    def __init__(self, port, client_id, clean=True):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.out = bytearray()
        self.pubacks = self.publishes = 0
        var = _mstr("MQTT") + bytes([4, 0x02 if clean else 0]) + struct.pack("!H", 0)
        body = var + _mstr(client_id)
        self.sock.sendall(b"\x10" + _varint(len(body)) + body)
        ack = self._read_packet()
        if ack[0] != 0x20 or ack[-1] != 0:
            raise RuntimeError(f"MQTT CONNACK refused: {ack!r}")

    def _read_packet(self):
        while True:
            pkt = self._split()
            if pkt is not None:
                return pkt
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("broker closed the connection")
            self.buf += data

    def _split(self):
        """One whole packet off self.buf, or None."""
        buf = self.buf
        if len(buf) < 2:
            return None
        n, mult, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return None
            b = buf[i]
            n += (b & 0x7F) * mult
            mult <<= 7
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + n:
            return None
        self.buf = buf[i + n:]
        return buf[:i + n]

    def subscribe(self, topic, qos=1):
        body = struct.pack("!H", 1) + _mstr(topic) + bytes([qos])
        self.sock.sendall(b"\x82" + _varint(len(body)) + body)
        while True:
            pkt = self._read_packet()
            if pkt[0] == 0x90:
                if pkt[-1] == 0x80:
                    raise RuntimeError(f"subscription to {topic} refused")
                return
            self._count(pkt)

    def _count(self, pkt):
        t = pkt[0] >> 4
        if t == 4:
            self.pubacks += 1
        elif t == 3:
            self.publishes += 1
            if pkt[0] & 0x06:  # QoS 1: acknowledge (packet id after the topic)
                i = 1
                while pkt[i] & 0x80:
                    i += 1
                i += 1
                tl = (pkt[i] << 8) | pkt[i + 1]
                self.out += b"\x40\x02" + pkt[i + 2 + tl:i + 4 + tl]

    def feed(self, data):
        """Returns the number of PUBLISHes in `data` (plus what was buffered)."""
        before = self.publishes
        self.buf += data
        while True:
            pkt = self._split()
            if pkt is None:
                return self.publishes - before
            self._count(pkt)

    def close(self):
        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            pass
        self.sock.close()


# -- endpoints for the load loop -----------------------------------------------------
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
        self.tail = chunk[-(len(MARK) - 1):]  # too short to hold a whole MARK: never counted twice
        return chunk.count(MARK)


class MqttEnd:
    def __init__(self, mqtt):
        self.m, self.sock, self.out = mqtt, mqtt.sock, mqtt.out

    def feed(self, data):
        return self.m.feed(data)


def run_load(sender, receiver, others, packets, window, lat=None):
    """Writes `packets` on sender with at most `window` not yet counted at `receiver`;
    returns seconds from the first byte sent to the last delivery counted. With
    `lat` (a list) and window 1 it records each round trip in ms."""
    ends = [sender] + [e for e in [receiver] + list(others) if e is not sender]
    for e in ends:
        e.sock.setblocking(False)
    n = len(packets)
    sent = got = 0
    last_progress = t0 = time.perf_counter()
    ts = 0
    try:
        while got < n:
            if not sender.out and sent < n and sent - got < window:
                upto = min(n, got + window)
                sender.out += b"".join(packets[sent:upto])
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
                        raise RuntimeError("peer closed the connection during the run")
                    c = e.feed(data)
                    if e is receiver:
                        if c:
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
    """Reads (and acknowledges) everything until all sockets are quiet for `quiet` s."""
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
                    if isinstance(e, MqttEnd):
                        e.m.feed(data)
                    if e.out:
                        e.sock.setblocking(True)
                        e.sock.sendall(e.out)
                        e.out.clear()
                        e.sock.setblocking(False)
    finally:
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)
            if isinstance(e, XmppEnd):
                e.tail = e.etail = b""


# -- payloads ------------------------------------------------------------------------
def body_text(i, size, tag):
    return (f"BNCH{tag}{i:07d} " + "x" * size)[:size]


def mqtt_packets(topic_of, n, size, tag, fmt, pid0=1):
    out = []
    for i in range(n):
        text = body_text(i, size, tag)
        payload = text if fmt == "text" else '{"temperature": 21.5, "text": "%s"}' % text
        out.append(publish_packet(topic_of(i), payload.encode(), (pid0 + i) % 65535 + 1))
    return out


def chat_stanzas(to, n, size, tag):
    return [f"<message to='{to}' type='chat' id='{tag}{i}'><body>{body_text(i, size, tag)}</body></message>".encode()
            for i in range(n)]


# -- setup ---------------------------------------------------------------------------
class BenchMosquitto(Mosquitto):
    """The harness's mosquitto, configured for load: no per-message log lines
    (`log_type all` logs every PUBLISH/PUBACK) and no persistence file writes; a deep
    queue so a slow consumer is measured, not dropped (default max_queued_messages
    is 1000)."""

    def __init__(self, workdir):
        super().__init__(workdir)
        with open(self.config_path) as f:
            text = f.read()
        text = (text.replace("log_type all", "log_type error\nlog_type warning")
                    .replace("persistence true", "persistence false")
                    .replace("connection_messages true", "connection_messages false"))
        text += "max_queued_messages 100000\n"
        with open(self.config_path, "w") as f:
            f.write(text)


def version_of(argv, pattern=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        out = (r.stdout + r.stderr).strip().splitlines()
        return out[0] if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


class Path:
    def __init__(self, name, short, pids):
        self.name, self.short, self.pids = name, short, pids
        self.rates, self.lat, self.cpu, self.threads = [], [], {}, {}
        self.error, self.window = None, None


def measure(path, make, args, sender, receiver, others, window=None):
    """make(n, tag) -> packets. Warm-up, `repeat` throughput runs, then round trips.
    A path that stops delivering is recorded (path.error) and the bench goes on."""
    try:
        _measure(path, make, args, sender, receiver, others, window or args.window)
    except Stuck as e:
        path.error = str(e)
        print(f"{path.short}: {e}", file=sys.stderr)
        settle([sender, receiver] + list(others), 0.5)
    print(f"{path.short}: done ({', '.join(f'{r:,.0f}' for r in path.rates)} msg/s)", file=sys.stderr, flush=True)


def _measure(path, make, args, sender, receiver, others, window):
    path.window = window
    run_load(sender, receiver, others, make(min(2000, args.messages), "w"), window)
    cpu0 = {k: cpu_seconds(p) for k, p in path.pids.items()}
    cpu0["client"] = sum(os.times()[:2])
    th0 = thread_cpu(path.pids["switchboard"]) if "switchboard" in path.pids else {}
    for rep in range(args.repeat):
        secs = run_load(sender, receiver, others, make(args.messages, f"r{rep}"), window)
        path.rates.append(args.messages / secs)
    cpu1 = {k: cpu_seconds(p) for k, p in path.pids.items()}
    cpu1["client"] = sum(os.times()[:2])
    th1 = thread_cpu(path.pids["switchboard"]) if "switchboard" in path.pids else {}
    total = args.messages * args.repeat
    path.cpu = {k: (cpu1[k] - cpu0[k]) * 1e6 / total for k in cpu0}  # ms per 1000 messages
    path.threads = {k: (th1[k] - th0.get(k, 0.0)) * 1e6 / total for k in th1}
    # Round trips: one in flight, stopped after the budget.
    pk = make(args.roundtrips, "l")
    deadline = time.perf_counter() + args.latency_budget
    for i in range(0, len(pk), 50):
        run_load(sender, receiver, others, pk[i:i + 50], 1, path.lat)
        if time.perf_counter() > deadline:
            break
    settle([sender, receiver] + list(others), 0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="messages per throughput run (20000)")
    ap.add_argument("--roundtrips", type=int, default=1000, help="round trips for latency (1000)")
    ap.add_argument("--latency-budget", type=float, default=10.0, help="max seconds of round trips per path (10)")
    ap.add_argument("--window", type=int, default=500, help="max messages not yet delivered (500)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per path; median shown (3)")
    ap.add_argument("--out-window", type=int, default=90,
                    help="window of the XMPP -> MQTT path (90): above ~100 commands waiting in Paho's queue, "
                         "switchboard's publish fails with MQTT error -12 and the command waits for the next "
                         "connection (bench/README.md)")
    ap.add_argument("--body-size", type=int, default=100, help="payload/body bytes (100)")
    ap.add_argument("--devices", type=int, default=100, help="MQTT->XMPP: topics home/dev{0..D-1}/state (100)")
    ap.add_argument("--format", choices=("text", "json"), default="text",
                    help="route format; json uses body template '{/text}' (text)")
    ap.add_argument("--prosody-nodelay", action="store_true",
                    help="diagnostic: TCP_NODELAY on Prosody's sockets (network_settings)")
    ap.add_argument("--only", choices=("both", "in", "out"), default="both",
                    help="in = MQTT->XMPP only, out = XMPP->MQTT only (both)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()

    if not os.access(binary(), os.X_OK):
        sys.exit(f"switchboard binary not found: {binary()} (build it, or set SWITCHBOARD_BIN)")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = tempfile.mkdtemp(prefix="sb-bench-mqtt-")
    server = sb = broker = client = None
    mqtts = []
    try:
        snapshot_binary(workdir)  # a rebuild during the run cannot swap the binary
        broker = BenchMosquitto(os.path.join(workdir, "mosquitto")).start()
        server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=args.prosody_nodelay,
                              components=dict(COMPONENTS), log_level="warn")
        server.register("alice", PASSWORD)
        server.start()
        route = {"jid": "{id}", "state": "home/{id}/state", "command": "home/{id}/set", "format": args.format,
                 "subscribers": ["alice@localhost"], "qos": 1}
        if args.format == "json":
            route["body"] = "{/text}"
        sb = Switchboard(os.path.join(workdir, "sb"), server, with_loopback=False, log_level="warn",
                         mqtt={"broker": broker.url, "client_id": CLIENT_ID}, mqtt_devices=[route],
                         mqtt_allow=["*@localhost"])
        rc, out = sb.check_config()
        if rc != 0:
            sys.exit(f"switchboard --check-config refused the bench config: {out}")
        sb.start(timeout=30)

        client = RawClient(server.c2s_port, "alice")
        client.iq_set("<query xmlns='jabber:iq:register'/>", "reg", to=MQTT_DOMAIN)  # XEP-0077, empty form
        client.send("<presence/>")
        client.drain(0.5)
        pub = RawMqtt(broker.port, "bench-pub")
        sub = RawMqtt(broker.port, "bench-sub")
        mqtts += [pub, sub]
        sub.subscribe("bench/+/ceiling", 1)
        sub.subscribe(f"home/{CMD_DEVICE}/set", 1)
        xe, pe, se = XmppEnd(client), MqttEnd(pub), MqttEnd(sub)
        # The command device must exist: it publishes once (switchboard sees it on a state topic).
        pub.sock.sendall(publish_packet(f"home/{CMD_DEVICE}/state", b"BNCH hello", 1))
        util.wait_for(lambda: MARK in client.sock.recv(65536), 15, interval=0, what="the first state message")
        settle([xe, pe, se], 0.3)

        pid = {"prosody": server.pid(), "mosquitto": broker.pid(), "switchboard": sb.proc.pid}
        print("pids: " + ", ".join(f"{k}={v}" for k, v in pid.items()), file=sys.stderr, flush=True)
        size, fmt = args.body_size, args.format
        paths = {}
        # Ceilings.
        p = paths["mosq"] = Path("publisher → mosquitto → subscriber (ceiling)", "mosquitto alone",
                                 {"mosquitto": pid["mosquitto"]})
        measure(p, lambda n, t: mqtt_packets(lambda i: f"bench/d{i % args.devices}/ceiling", n, size, "c" + t, fmt),
                args, pe, se, [xe])
        p = paths["pros"] = Path("client → Prosody → client (ceiling)", "Prosody alone",
                                 {"prosody": pid["prosody"]})
        measure(p, lambda n, t: chat_stanzas(client.bare, n, size, "p" + t), args, xe, xe, [pe, se])
        if args.only in ("both", "in"):
            p = paths["in"] = Path("publisher → mosquitto → switchboard → Prosody → client", "MQTT → XMPP",
                                   dict(pid))
            measure(p, lambda n, t: mqtt_packets(lambda i: f"home/dev{i % args.devices}/state", n, size, "i" + t,
                                                 fmt), args, pe, xe, [se])
        if args.only in ("both", "out"):
            p = paths["out"] = Path("client → Prosody → switchboard → mosquitto → subscriber", "XMPP → MQTT",
                                    dict(pid))
            measure(p, lambda n, t: chat_stanzas(f"{CMD_DEVICE}@{MQTT_DOMAIN}", n, size, "o" + t), args, xe, se,
                    [pe], window=args.out_window)

        report(args, paths, pid, sb)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for m in mqtts:
            m.close()
        if client is not None:
            client.close()
        if sb is not None:
            sb.cleanup()
        if server is not None:
            server.cleanup()
        if broker is not None:
            broker.cleanup()
        for proc in list(util.LIVE_PROCESSES):
            util.kill_group(proc)
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def report(args, paths, pid, sb):
    cpus, model, prosody_ver = machine()
    mosq_ver = version_of(["dpkg-query", "-W", "-f=${Version}", "mosquitto"])
    sb_ver = version_of([binary(), "--version"])
    print(f"# switchboard MQTT end-to-end bench — {cpus} CPU(s), {model}")
    print(f"switchboard {sb_ver} ({os.environ.get('SWITCHBOARD_BIN', binary())}); Prosody {prosody_ver}; "
          f"mosquitto {mosq_ver}; Python {sys.version.split()[0]}; raw-socket clients (MQTT 3.1.1, c2s)")
    print(f"route format={args.format}, qos=1, [log] level warn; {args.messages} messages x {args.repeat} runs "
          f"per path (median shown), {args.body_size}-byte payload/body, window {args.window}; latency: "
          f"{args.roundtrips} round trips, one in flight (at most {args.latency_budget:g} s per path); Prosody "
          f"network_settings: {'nagle = false' if args.prosody_nodelay else 'defaults (Nagle on)'}\n")
    ceil = {k: statistics.median(paths[k].rates) for k in ("mosq", "pros") if paths[k].rates}
    slower = min(ceil.values())

    def row(p):
        if not p.rates:
            return f"| {p.name} | stuck: {p.error} | | | |"
        rate = statistics.median(p.rates)
        name = p.name if len(p.lat) >= args.roundtrips else f"{p.name} ({len(p.lat)} round trips)"
        if p.window != args.window:
            name += f" (window {p.window})"
        if p.error:
            name += f" — then stuck: {p.error}"
        lat = f"{pct(p.lat, 50):.3f} | {pct(p.lat, 99):.3f}" if p.lat else "— | —"
        return f"| {name} | {rate:,.0f} | {lat} | {rate / slower:.2f} |"

    for key, title in (("in", "MQTT → XMPP"), ("out", "XMPP → MQTT")):
        if key not in paths:
            continue
        print(f"## {title}\n")
        print("| path | messages/s | p50 ms | p99 ms | ratio to slower ceiling |")
        print("|---|---:|---:|---:|---:|")
        for k in ("mosq", "pros", key):
            print(row(paths[k]))
        print()
    print("CPU ms per 1000 messages during the throughput runs; switchboard max RSS (VmHWM) "
          f"{vm_hwm_kib(pid['switchboard']) / 1024:.1f} MiB\n")
    cols = ("switchboard", "prosody", "mosquitto", "client")
    print("| path | " + " | ".join(c if c != "client" else "bench client (Python)" for c in cols) + " |")
    print("|---|---:|---:|---:|---:|")
    for p in paths.values():
        print(f"| {p.short} | " + " | ".join(f"{p.cpu[c]:.1f}" if c in p.cpu else "—" for c in cols) + " |")
    if all(k in paths and paths[k].rates for k in ("in", "out")):
        print(f"\nswitchboard CPU per 1000 bridged messages: MQTT → XMPP {paths['in'].cpu['switchboard']:.1f} ms, "
              f"XMPP → MQTT {paths['out'].cpu['switchboard']:.1f} ms")
    for key in ("in", "out"):
        if key in paths and paths[key].threads:
            split = sorted(paths[key].threads.items(), key=lambda kv: -kv[1])
            print(f"switchboard threads, {paths[key].short} (ms per 1000): "
                  + ", ".join(f"{name} {ms:.1f}" for name, ms in split if ms >= 0.05))
    print("\nthroughput runs (msg/s): " + "; ".join(
        f"{p.short}: " + ", ".join(f"{r:,.0f}" for r in p.rates) for p in paths.values()))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
