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
Also the CPU time per 1000 messages of each process and its share of one core
over the throughput runs (benchlib.CpuSample), and switchboard's max RSS (VmHWM).

The load client is benchlib's minimal raw-socket c2s client (no TLS, SASL PLAIN —
the harness's Prosody allows plain auth on unencrypted c2s): slixmpp is far too slow
to saturate anything. The e2e harness (tests/e2e/harness) is used read-only.

Usage: /usr/bin/python3 bench/bench_e2e.py [--messages N] [--roundtrips R]
       [--window W] [--repeat K] [--body-size B] [--no-null]
Env:   SWITCHBOARD_BIN (default /work/main/build/switchboard; needs -DSB_TEST_TRANSPORT=ON)
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# benchlib puts tests/e2e on sys.path.
from benchlib import (BenchProsody, Path, RawComponent, XmppEnd, bench_args, chat_stanzas,  # noqa: E402
                      cpu_table, lat_cells, load_average, machine, measure, pct, registered_client, require_binary,
                      run_bench, runs_line, vm_hwm_kib)
from harness import util  # noqa: E402
from harness.servers import COMPONENTS, GW_DOMAIN, PASSWORD  # noqa: E402
from harness.switchboard import Switchboard, binary  # noqa: E402

NULL_DOMAIN = "null.localhost"
NULL_SECRET = "null-s3cret"
IDLE_LIMIT = 30.0        # seconds without any progress before a run is declared stuck


# -- a do-nothing XEP-0114 echo component (runs in its own process) ------------------
def null_component(port, domain, secret):
    """Connects as component `domain`; answers every <message> with its body, from
    echo@domain to the sender's bare JID, as switchboard's loopback echo does."""
    s = RawComponent(port, domain, secret).sock
    s.settimeout(None)  # idle between runs for as long as the bench takes
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


def main():
    ap = bench_args(__doc__, messages=20000, roundtrips=2000, latency_budget=15.0, window=500)
    ap.add_argument("--no-null", action="store_true", help="skip the Python null-component path")
    ap.add_argument("--prosody-nodelay", action="store_true",
                    help="diagnostic: set TCP_NODELAY on Prosody's sockets (network_settings)")
    args = ap.parse_args()
    require_binary()
    return run_bench("sb-bench-", args.keep, lambda workdir, stack: bench(args, workdir, stack))


def bench(args, workdir, stack):
    comps = dict(COMPONENTS)
    comps[NULL_DOMAIN] = NULL_SECRET
    server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=args.prosody_nodelay, components=comps,
                          log_level="warn")
    stack.callback(server.cleanup)
    server.register("alice", PASSWORD)
    server.start()
    sb = Switchboard(os.path.join(workdir, "sb"), server, log_level="warn", loopback={"emit_interval_ms": 0})
    stack.callback(sb.cleanup)
    sb.start()
    null_proc = None
    if not args.no_null:
        null_proc = util.spawn([sys.executable, os.path.abspath(__file__), "--null-component",
                                str(server.component_port), NULL_DOMAIN, NULL_SECRET],
                               os.path.join(workdir, "null.log"))
        stack.callback(util.kill_group, null_proc)

    client = registered_client(server, GW_DOMAIN, stack)
    if null_proc is not None:
        util.wait_for(lambda: "ready" in util.tail(os.path.join(workdir, "null.log")) or
                      null_proc.poll() is not None, 10, what="null component")
        if null_proc.poll() is not None:
            sys.exit("null component failed: " + util.tail(os.path.join(workdir, "null.log")))

    prosody_pid, sb_pid = server.pid(), sb.proc.pid
    paths = [(Path("client → Prosody → client (ceiling)", "prosody alone", {"prosody": prosody_pid}), client.bare)]
    if null_proc is not None:
        paths.append((Path("client → Prosody → null component (Python) → Prosody → client", "null component",
                           {"prosody": prosody_pid, "null component": null_proc.pid}), f"echo@{NULL_DOMAIN}"))
    paths.append((Path("client → Prosody → switchboard → Prosody → client", "switchboard",
                       {"prosody": prosody_pid, "switchboard": sb_pid}), f"echo@{GW_DOMAIN}"))
    xe = XmppEnd(client)
    for i, (p, to) in enumerate(paths):
        # Echoes are byte-exact: the body identifies them (MARK counted).
        measure(p, lambda n, t, to=to, i=i: chat_stanzas(to, n, args.body_size, f"p{i}{t}"), args, xe, xe, [],
                stall=IDLE_LIMIT)
    report(args, [p for p, _ in paths], sb_pid)


def report(args, paths, sb_pid):
    cpus, model, ver = machine()
    ceiling = paths[0].median()
    print(f"# switchboard end-to-end bench — {cpus} CPU(s), {model}, Prosody {ver}")
    print(f"binary {binary()}; {args.messages} messages x {args.repeat} runs per path (median shown), "
          f"{args.body_size}-byte bodies, window {args.window}; latency over {args.roundtrips} round trips, "
          f"one in flight (at most {args.latency_budget:g} s per path); all on loopback; Prosody network_settings: "
          f"{'nagle = false' if args.prosody_nodelay else 'defaults (Nagle on)'}; load average at the end "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| path | messages/s | p50 ms | p99 ms | ratio to ceiling |")
    print("|---|---:|---:|---:|---:|")
    for p in paths:
        if not p.rates:
            print(f"| {p.name} | stuck: {p.error} | | | |")
            continue
        name = p.name if len(p.lat) == args.roundtrips else f"{p.name} (latency: {len(p.lat)} round trips)"
        ratio = f"{p.median() / ceiling:.2f}" if ceiling else "—"
        print(f"| {name} | {p.median():,.0f} | {lat_cells(p)} | {ratio} |")
    sbp = paths[-1]
    if len(paths) == 3 and sbp.rates and paths[1].rates:
        print(f"\nswitchboard / null component throughput: {sbp.median() / paths[1].median():.2f}")
    if sbp.lat and pct(sbp.lat, 50) > 10 and not args.prosody_nodelay:
        print("note: switchboard p50 over 10 ms — Nagle on Prosody's component socket holds the next message "
              "until switchboard's delayed ACK (~40 ms); compare with --prosody-nodelay (bench/README.md)")
    if sbp.cpu:
        print(f"\nswitchboard: {sbp.cpu['switchboard']:.1f} ms CPU per 1000 bridged messages; "
              f"max RSS (VmHWM) {vm_hwm_kib(sb_pid) / 1024:.1f} MiB")
    cols = [("prosody", "prosody"), ("null component", "null component"), ("switchboard", "switchboard"),
            ("client", "bench client")]
    print("\nCPU ms per 1000 messages during the throughput runs (2 Prosody passes per bridged message):")
    cpu_table([(p.short, p) for p in paths], cols)
    print("\nCPU, % of one core during the throughput runs:")
    cpu_table([(p.short, p) for p in paths], cols, unit="%")
    print("\n" + runs_line([(p.short, p) for p in paths]))
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--null-component":
        null_component(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    sys.exit(main())
