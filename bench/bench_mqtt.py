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
CPU ms per 1000 messages of switchboard, Prosody, mosquitto and this client, and
each one's CPU as % of one core over the throughput runs (benchlib.CpuSample: the
process near 100 % is what a path is limited by), switchboard's split by thread
(/proc/<pid>/task/*/stat, by thread name: the io thread, the MQTT worker that makes
Paho calls, Paho's receive and send threads), switchboard's max RSS.

Both MQTT clients are raw-socket MQTT 3.1.1 (CONNECT/SUBSCRIBE/PUBLISH/PUBACK only,
keepalive 0): paho-mqtt 1.6 in Python tops out at a few thousand QoS 1 messages/s
and would be the bottleneck. The XMPP client is benchlib's RawClient. The e2e
harness (tests/e2e/harness) is used read-only; mosquitto gets a bench config
(no per-message logging, no persistence file) through a subclass.

Usage: /usr/bin/python3 bench/bench_mqtt.py [--messages N] [--roundtrips R] [--window W]
       [--repeat K] [--format text|json] [--prosody-nodelay] [--keep]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# benchlib puts tests/e2e on sys.path.
from benchlib import (MARK, BenchProsody, End, Path, XmppEnd, bench_args, body_text,  # noqa: E402
                      chat_stanzas, cpu_table, dpkg_version, load_average, machine, measure, rate_row,
                      received_message, registered_client, require_binary, run_bench, runs_line, same_stanzas,
                      settle, start_switchboard, twin_domain, TWIN_SECRET,
                      version_of, vm_hwm_kib)
from harness import util  # noqa: E402
from harness.mosquitto import Mosquitto  # noqa: E402
from harness.servers import COMPONENTS, HOST, MQTT_DOMAIN, PASSWORD  # noqa: E402
from harness.switchboard import Switchboard, binary, snapshot_binary  # noqa: E402

CLIENT_ID = "switchboard-bench"   # fixed: a persistent session, as in production
CMD_DEVICE = "dev1"
STALL_LIMIT = 10.0  # seconds without a delivery before a path is declared stuck


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


# -- the MQTT end of the load loop -----------------------------------------------------
class MqttEnd(End):
    def __init__(self, mqtt):
        self.m, self.sock, self.out = mqtt, mqtt.sock, mqtt.out

    def feed(self, data):
        return self.m.feed(data)


# -- payloads ------------------------------------------------------------------------
def mqtt_packets(topic_of, n, size, tag, fmt, pid0=1):
    out = []
    for i in range(n):
        text = body_text(i, size, tag)
        payload = text if fmt == "text" else '{"temperature": 21.5, "text": "%s"}' % text
        out.append(publish_packet(topic_of(i), payload.encode(), (pid0 + i) % 65535 + 1))
    return out


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


def main():
    ap = bench_args(__doc__, messages=20000, roundtrips=1000, latency_budget=10.0, window=500)
    ap.add_argument("--out-window", type=int, default=500, help="window of the XMPP -> MQTT path (500)")
    ap.add_argument("--devices", type=int, default=100, help="MQTT->XMPP: topics home/dev{0..D-1}/state (100)")
    ap.add_argument("--format", choices=("text", "json"), default="text",
                    help="route format; json uses body template '{/text}' (text)")
    ap.add_argument("--prosody-nodelay", action="store_true",
                    help="diagnostic: TCP_NODELAY on Prosody's sockets (network_settings)")
    ap.add_argument("--only", choices=("both", "in", "out"), default="both",
                    help="in = MQTT->XMPP only, out = XMPP->MQTT only (both)")
    args = ap.parse_args()
    require_binary()
    return run_bench("sb-bench-mqtt-", args.keep, lambda workdir, stack: bench(args, workdir, stack))


def bench(args, workdir, stack):
    snapshot_binary(workdir)  # a rebuild during the run cannot swap the binary
    broker = BenchMosquitto(os.path.join(workdir, "mosquitto"))
    stack.callback(broker.cleanup)
    broker.start()
    comps = dict(COMPONENTS)
    comps[twin_domain(MQTT_DOMAIN)] = TWIN_SECRET  # same_stanzas() sends from it
    server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=args.prosody_nodelay,
                          components=comps, log_level="warn")
    stack.callback(server.cleanup)
    server.register("alice", PASSWORD)
    server.start()
    route = {"jid": "{id}", "state": "home/{id}/state", "command": "home/{id}/set", "format": args.format,
             "subscribers": ["alice@localhost"], "qos": 1}
    if args.format == "json":
        route["body"] = "{/text}"
    sb = Switchboard(os.path.join(workdir, "sb"), server, with_loopback=False, log_level="warn",
                     mqtt={"broker": broker.url, "client_id": CLIENT_ID}, mqtt_devices=[route],
                     mqtt_allow=["*@localhost"])
    start_switchboard(sb, stack)
    client = registered_client(server, MQTT_DOMAIN, stack)
    pub = RawMqtt(broker.port, "bench-pub")
    stack.callback(pub.close)
    sub = RawMqtt(broker.port, "bench-sub")
    stack.callback(sub.close)
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
            args, pe, se, [xe], stall=STALL_LIMIT)
    p = paths["pros"] = Path("client → Prosody → client (ceiling)", "Prosody alone", {"prosody": pid["prosody"]})
    measure(p, lambda n, t: chat_stanzas(client.bare, n, size, "p" + t), args, xe, xe, [pe, se], stall=STALL_LIMIT)
    if args.only in ("both", "in"):
        p = paths["in"] = Path("publisher → mosquitto → switchboard → Prosody → client", "MQTT → XMPP", dict(pid))
        measure(p, lambda n, t: mqtt_packets(lambda i: f"home/dev{i % args.devices}/state", n, size, "i" + t, fmt),
                args, pe, xe, [se], threads_of="switchboard", stall=STALL_LIMIT)
        # One state message as the client receives it: the template of "in_same" below.
        pub.sock.sendall(mqtt_packets(lambda i: "home/dev0/state", 1, size, "sample", fmt)[0].replace(b"BNCH", b"BNCS"))
        sample = received_message(client, b"BNCS")
        settle([xe, pe, se], 0.3)
        # Prosody alone with switchboard's own MQTT → XMPP stanzas (benchlib.same_stanzas).
        p = paths["in_same"] = Path("Prosody alone: component → client, switchboard's stanzas",
                                    "Prosody alone, same stanzas", {"prosody": pid["prosody"]})
        same_stanzas(p, sample, server.component_port, MQTT_DOMAIN, args, xe, [pe, se], stall=STALL_LIMIT)
    if args.only in ("both", "out"):
        p = paths["out"] = Path("client → Prosody → switchboard → mosquitto → subscriber", "XMPP → MQTT",
                                dict(pid))
        measure(p, lambda n, t: chat_stanzas(f"{CMD_DEVICE}@{MQTT_DOMAIN}", n, size, "o" + t), args, xe, se,
                [pe], window=args.out_window, threads_of="switchboard", stall=STALL_LIMIT)
    report(args, paths, pid)


def report(args, paths, pid):
    cpus, model, prosody_ver = machine()
    sb_ver = version_of([binary(), "--version"])
    print(f"# switchboard MQTT end-to-end bench — {cpus} CPU(s), {model}")
    print(f"switchboard {sb_ver} ({os.environ.get('SWITCHBOARD_BIN', binary())}); Prosody {prosody_ver}; "
          f"mosquitto {dpkg_version('mosquitto')}; Python {sys.version.split()[0]}; raw-socket clients "
          f"(MQTT 3.1.1, c2s)")
    print(f"route format={args.format}, qos=1, [log] level warn; {args.messages} messages x {args.repeat} runs "
          f"per path (median shown), {args.body_size}-byte payload/body, window {args.window}; latency: "
          f"{args.roundtrips} round trips, one in flight (at most {args.latency_budget:g} s per path); Prosody "
          f"network_settings: {'nagle = false' if args.prosody_nodelay else 'defaults (Nagle on)'}\n")
    slower = min([paths[k].median() for k in ("mosq", "pros") if paths[k].rates] or [0])
    for key, title in (("in", "MQTT → XMPP"), ("out", "XMPP → MQTT")):
        if key not in paths:
            continue
        print(f"## {title}\n")
        print("| path | messages/s | p50 ms | p99 ms | ratio to slower ceiling |")
        print("|---|---:|---:|---:|---:|")
        for k in ("mosq", "pros", key):
            print(rate_row(paths[k], args.roundtrips, slower, window=args.window))
        same = paths.get(f"{key}_same")
        if same is not None and same.median() and paths[key].median():
            print(rate_row(same, args.roundtrips, slower, window=args.window))
            print(f"\nMQTT → XMPP against Prosody alone carrying switchboard's own stanzas (the same stanza, "
                  f"sent by a raw component on a domain of the same length, right after): **{paths[key].median() / same.median():.2f}**; "
                  f"Prosody CPU per 1000 messages: {same.cpu.get('prosody', 0):.1f} ms with those stanzas alone, "
                  f"{paths['pros'].cpu.get('prosody', 0):.1f} in the client ceiling. The stanza: "
                  f"`{same.sample.decode(errors='replace')}`")
        print()
    print("CPU ms per 1000 messages during the throughput runs; switchboard max RSS (VmHWM) "
          f"{vm_hwm_kib(pid['switchboard']) / 1024:.1f} MiB\n")
    cols = [("switchboard", "switchboard"), ("prosody", "prosody"), ("mosquitto", "mosquitto"),
            ("client", "bench client (Python)")]
    rows = [(p.short, p) for p in paths.values()]
    cpu_table(rows, cols)
    if all(k in paths and paths[k].rates for k in ("in", "out")):
        print(f"\nswitchboard CPU per 1000 bridged messages: MQTT → XMPP {paths['in'].cpu['switchboard']:.1f} ms, "
              f"XMPP → MQTT {paths['out'].cpu['switchboard']:.1f} ms")
    for key in ("in", "out"):
        if key in paths and paths[key].threads:
            split = sorted(paths[key].threads.items(), key=lambda kv: -kv[1])
            print(f"switchboard threads, {paths[key].short} (ms per 1000): "
                  + ", ".join(f"{name} {ms:.1f}" for name, ms in split if ms >= 0.05))
    print("\nCPU, % of one core during the throughput runs (a process near 100 % is the bottleneck: "
          "Prosody, mosquitto and the bench client are single-threaded)\n")
    cpu_table(rows, cols, unit="%")
    print("\n" + runs_line(rows))
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    sys.exit(main())
