#!/usr/bin/python3
"""IRC benchmark (not a test): switchboard's [[irc]] transport against Biboumi (the
gateway SPEC §7 is judged against), side by side in one run, between the same real
Prosody and the same real ngIRCd on loopback, beside the ceilings of that setup.

Gateways (one at a time, same servers, same clients):
  switchboard        [[irc]] on irc.localhost, flood control off (flood_per_second = 0), its
                     room archive on (the default: every channel line kept per user, written
                     in batches every 500 ms)
  switchboard, archive off   the same with archive_days = 0 (throughput, latency, CPU; no
                     memory phase)
  Biboumi, history off   Debian's biboumi on its own component domain (biboumi.localhost,
                     declared in this bench's Prosody only), throttle_limit -1 (its flood
                     control off), record_history false and max_history_length 0
  Biboumi, history on    the same with its defaults: every channel message is written to
                     its SQLite database
Both are set up through their own interfaces: switchboard by its config file,
Biboumi by its ad-hoc "configure" commands (server options: ports = ngIRCd's port, no
TLS ports, throttle limit; global: history). Both gateways' IRC connections are made
IRC operators with user mode +F by a raw line to the server JID ("OPER …", "MODE u0 +F"),
as the bench's own IRC clients are: ngIRCd then does not throttle anyone, and its
penalties are off (MaxPenaltyTime = 0).

Paths (100-byte bodies):
  XMPP -> IRC   raw c2s client u0 -> Prosody -> gateway -> ngIRCd -> raw IRC client A
                (groupchat in #bench%127.0.0.1@<domain>; A counts the PRIVMSGs)
  IRC -> XMPP   raw IRC client A -> ngIRCd -> gateway -> Prosody -> u0 (groupchat)
  round trip    u0 -> gateway -> IRC; A answers at once; -> gateway -> u0
  ceilings      IRC alone: A -> ngIRCd -> B (and back, for the round trip);
                XMPP alone: u0 -> Prosody -> u0 (its own bare JID), one Prosody pass
Throughput: N messages pipelined with at most WINDOW not yet delivered; median of K
runs (the IRC ceiling: at least 5, each takes tens of ms). Latency: one in flight;
p50/p99 (one way per direction, and the full round trip). CPU ms per 1000 messages
of the gateway, Prosody, ngIRCd and this client, and each one's CPU as % of one core
over the throughput runs (benchlib.CpuSample): the process near 100 % is the one a
path is limited by. Memory: the gateway's VmRSS idle, then with 1/50/200 XMPP users
all in one shared channel (first, on a gateway that has had no users yet), then each
in his own channel (each sampled 5 s after the last join: users who stay, not the
join burst), and 1 s and 5 s after they left (each user has his own IRC
connection); per user in the shared channel above the VmRSS just before the joins,
switchboard / Biboumi, and the share of the growth returned after the leave.

ngIRCd writes with Nagle on (it sets no TCP_NODELAY): a client that delays its ACK
(Linux: up to ~40 ms) holds ngIRCd's next small write to it that long, and whether
that happens in a run depends on timing: the IRC ceiling measured anywhere from ~6k
to ~500k msg/s. The bench's IRC clients therefore acknowledge at once (TCP_QUICKACK
after each read), on every path alike; a gateway's own IRC socket is its own affair.

Usage: /usr/bin/python3 bench/bench_irc.py [--messages N] [--repeat K] [--window W]
       [--roundtrips R] [--users 1,50,200] [--no-biboumi] [--no-memory] [--keep]
Quick:  --messages 500 --repeat 1 --roundtrips 50 --users 1,5
Env:    SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import os
import re
import shutil
import socket
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# benchlib puts tests/e2e on sys.path.
from benchlib import (BenchProsody, End, Path, RawClient, Stuck, XmppEnd, bench_args, body_text,  # noqa: E402
                      chat_stanzas, cpu_table, dpkg_version, lat_cells, latencies, load_average, machine, measure,
                      received_message, run_bench, runs_line, same_stanzas, settle, twin_domain, version_of,
                      vm_rss_kib, TWIN_SECRET)
from harness import util  # noqa: E402
from harness.ngircd import OPER_NAME, OPER_PASSWORD, Ngircd  # noqa: E402
from harness.servers import COMPONENTS, HOST, IRC_DOMAIN, IRC_SECRET, PASSWORD, XMPP_DOMAIN  # noqa: E402
from harness.switchboard import Switchboard, binary, snapshot_binary, toml_str  # noqa: E402

BIBOUMI = shutil.which("biboumi") or "/usr/bin/biboumi"
BIB_DOMAIN = "biboumi.localhost"
BIB_SECRET = "biboumi-s3cret"
IRC_SERVER = "127.0.0.1"     # the server part of every address
CHAN = "#bench"
CEIL_CHAN = "#ceiling"
NS_CMD = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
STALL_LIMIT = 10.0     # seconds without a delivery before a path is declared stuck
IRC_CEILING_RUNS = 5   # at least this many timed runs of the IRC ceiling (median shown)


# -- raw IRC client ---------------------------------------------------------------------
class RawIrc:
    """Blocking setup (NICK/USER, OPER + MODE +F, JOINs), then the socket is handed to
    the load loop through IrcEnd."""

    def __init__(self, port, nick):
        self.nick = nick
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.send(f"NICK {nick}\r\nUSER {nick} 0 * :bench\r\n")
        self.expect(rb" 001 ")
        self.send(f"OPER {OPER_NAME} {OPER_PASSWORD}\r\n")
        self.expect(rb" 381 ")
        self.send(f"MODE {nick} +F\r\n")
        self.expect(rb" MODE " + nick.encode() + rb" :?\+F")

    def send(self, s):
        self.sock.sendall(s.encode() if isinstance(s, str) else s)

    def expect(self, pattern, timeout=15):
        """Reads lines until one matches `pattern` (answering PINGs); returns it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.startswith(b"PING"):
                    self.send(b"PONG" + line[4:].rstrip(b"\r") + b"\r\n")
                elif rx.search(line):
                    return line
                elif b" 464 " in line or b"ERROR" in line[:6]:
                    raise RuntimeError(f"IRC {self.nick}: {line!r}")
            if time.monotonic() > deadline:
                raise Stuck(f"IRC {self.nick}: no line matching {pattern!r} within {timeout}s")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError(f"IRC {self.nick}: server closed the connection")
            self.buf += data

    def join(self, chan):
        self.send(f"JOIN {chan}\r\n")
        self.expect(rb" 366 \S+ " + re.escape(chan.encode()) + rb" ")

    def users(self):
        """The server's user count (LUSERS 251)."""
        self.send("LUSERS\r\n")
        line = self.expect(rb" 251 ")
        return int(re.search(rb"There are (\d+) users", line).group(1))

    def whois_oper(self, nick):
        self.send(f"WHOIS {nick}\r\n")
        oper = False
        while True:
            line = self.expect(rb" (313|318|401) ")
            if b" 313 " in line:
                oper = True
            else:
                return oper

    def close(self):
        try:
            self.sock.sendall(b"QUIT :bench over\r\n")
        except OSError:
            pass
        self.sock.close()


class IrcEnd(End):
    """An IRC socket in the load loop: counts PRIVMSG lines whose text starts with
    BNCH, answers PING, and (echo on) answers each BNCQ line with the BNCH line of the
    same number, at once. quickack: ngIRCd writes with Nagle on (no TCP_NODELAY), so
    an IRC client that delays its ACKs (Linux: up to ~40 ms) holds ngIRCd's next
    write that long; this end acknowledges at once, as a busy client's ACKs would."""
    quickack = True

    def __init__(self, irc, echo_to=None):
        self.irc, self.sock, self.out = irc, irc.sock, bytearray()
        self.buf = b""
        self.echo_to = echo_to.encode() if echo_to else None

    def feed(self, data):
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        n = 0
        for ln in lines:
            if b" :BNCH" in ln:
                n += 1
            elif self.echo_to and b" :BNCQ" in ln:
                body = ln[ln.index(b" :BNCQ") + 6:].rstrip(b"\r")
                self.out += b"PRIVMSG " + self.echo_to + b" :BNCH" + body + b"\r\n"
            elif ln.startswith(b"PING"):
                self.out += b"PONG" + ln[4:].rstrip(b"\r") + b"\r\n"
            elif ln.startswith(b"ERROR") or b" KICK " in ln:
                raise RuntimeError(f"IRC {self.irc.nick}: {ln!r}")
        return n


# -- XMPP helpers ------------------------------------------------------------------------
def add_accounts(server, users):
    """Writes Prosody account files directly (prosodyctl takes ~0.5 s per account);
    Prosody's internal_plain store reads them at each login."""
    d = os.path.join(server.workdir, "data", XMPP_DOMAIN, "accounts")
    os.makedirs(d, exist_ok=True)
    for u in users:
        with open(os.path.join(d, f"{u}.dat"), "w") as f:
            f.write(f'return {{\n\t["password"] = "{PASSWORD}";\n}};\n')


_iq = [0]


def iq(client, to, itype, payload, timeout=15):
    """Sends an iq and returns its reply as an Element (any type)."""
    _iq[0] += 1
    iq_id = f"b{_iq[0]}"
    client.send(f"<iq type='{itype}' id='{iq_id}' to='{to}'>{payload}</iq>")
    client.sock.settimeout(timeout)
    try:
        raw = client._read_match(rb"<iq\b[^>]*?\bid=['\"]" + iq_id.encode() + rb"['\"][^>]*?(/>|>.*?</iq>)")
    finally:
        client.sock.settimeout(10)
    return ET.fromstring(raw.replace(b"<iq ", b"<iq xmlns='jabber:client' ", 1)
                         if b"xmlns=" not in raw.split(b">", 1)[0] else raw)


def adhoc(client, to, node, values):
    """XEP-0050: execute `node`, fill the returned form with `values` ({var: str or
    [str]}; other fields keep their values), complete. Returns the final reply."""
    r = iq(client, to, "set", f"<command xmlns='{NS_CMD}' node='{node}' action='execute'/>")
    cmd = r.find(f"{{{NS_CMD}}}command")
    if r.get("type") != "result" or cmd is None:
        raise RuntimeError(f"ad-hoc {node} on {to} failed: {ET.tostring(r, encoding='unicode')[:400]}")
    x = cmd.find(f"{{{NS_DATA}}}x")
    fields = []
    for f in x.findall(f"{{{NS_DATA}}}field"):
        var = f.get("var")
        vals = values.get(var, [v.text or "" for v in f.findall(f"{{{NS_DATA}}}value")])
        vals = [vals] if isinstance(vals, str) else vals
        fields.append(f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in vals) + "</field>")
    r = iq(client, to, "set", f"<command xmlns='{NS_CMD}' node='{node}' sessionid='{cmd.get('sessionid')}' "
                              f"action='complete'><x xmlns='{NS_DATA}' type='submit'>{''.join(fields)}</x></command>")
    if r.get("type") != "result":
        raise RuntimeError(f"ad-hoc {node} on {to} refused: {ET.tostring(r, encoding='unicode')[:400]}")
    return r


def wait_ready(client, domain, timeout=20):
    """Until the gateway's domain answers disco#info (its component is connected)."""
    deadline = time.monotonic() + timeout
    while True:
        r = iq(client, domain, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
        if r.get("type") == "result":
            return
        if time.monotonic() > deadline:
            raise Stuck(f"{domain} does not answer disco#info: {ET.tostring(r, encoding='unicode')[:300]}")
        time.sleep(0.3)


def join_room(client, room_jid, nick):
    client.buf = b""  # nothing read before the join can answer it
    client.send(f"<presence to='{room_jid}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>"
                f"<history maxstanzas='0'/></x></presence>")


def wait_self_presence(client, timeout=30):
    """Reads presences until this client's MUC self-presence (status 110); raises on
    an error presence."""
    client.sock.settimeout(timeout)
    try:
        while True:
            st = client._read_match(rb"<presence\b[^>]*?(?:/>|>.*?</presence>)")
            if re.search(rb"type=['\"]error['\"]", st.split(b">", 1)[0]):
                raise RuntimeError(f"{client.bare}: join refused: {st[:400]!r}")
            if re.search(rb"code=['\"]110['\"]", st):
                return
    except socket.timeout:
        raise Stuck(f"{client.bare}: no self-presence within {timeout}s")
    finally:
        client.sock.settimeout(10)


def leave_room(client, room_jid, nick):
    client.send(f"<presence type='unavailable' to='{room_jid}/{nick}'/>")


# -- payloads ------------------------------------------------------------------------------
def groupchats(room_jid, n, size, tag, mark="BNCH"):
    return chat_stanzas(room_jid, n, size, tag, mtype="groupchat", mark=mark)


def privmsgs(chan, n, size, tag, mark="BNCH"):
    return [f"PRIVMSG {chan} :{body_text(i, size, tag, mark)}\r\n".encode() for i in range(n)]


# -- gateways ------------------------------------------------------------------------------
class Gateway:
    """One gateway under test: start(), pid, domain, stop()."""
    name = short = domain = ""
    pid = None

    def room(self, chan):
        return f"{chan}%{IRC_SERVER}@{self.domain}"

    def server_jid(self):
        return f"{IRC_SERVER}@{self.domain}"


class SwitchboardGw(Gateway):
    def __init__(self, workdir, server, ircd, archive=True):
        self.history = self.memory = archive  # the archive-off run skips the memory phase
        self.name = "switchboard" if archive else "switchboard, archive off"
        self.short, self.domain = "switchboard" if archive else "switchboard-noarchive", IRC_DOMAIN
        self.secret, self.component_port = IRC_SECRET, server.component_port
        block = "\n".join([
            "[[irc]]", f"domain = {toml_str(IRC_DOMAIN)}", f"secret = {toml_str(IRC_SECRET)}",
            'allow = ["*@localhost"]', "grace_seconds = 1", "flood_per_second = 0", "reconnect_max_seconds = 5",
            f"archive_days = {30 if archive else 0}",
            f'  [irc.servers."{IRC_SERVER}"]', f'  host = "{HOST}"', f"  port = {ircd.port}", "  tls = false"])
        self.sb = Switchboard(os.path.join(workdir, "sb" if archive else "sb-noarchive"), server, domain=IRC_DOMAIN, with_loopback=False,
                              log_level="warn", extra=block)
        self.log_path = self.sb.log_path

    def check(self):
        if not os.access(binary(), os.X_OK):
            return f"binary not found: {binary()} (build it, or set SWITCHBOARD_BIN)"
        rc, out = self.sb.check_config()
        return None if rc == 0 else out.strip()

    def start(self, users):
        self.sb.start(timeout=30)
        self.pid = self.sb.proc.pid

    def stop(self):
        self.sb.cleanup()


class BiboumiGw(Gateway):
    def __init__(self, workdir, server, ircd, history):
        self.history = history
        self.memory = True
        tag = "on" if history else "off"
        self.name = f"Biboumi, history {tag}"
        self.short = f"biboumi-{tag}"
        self.domain, self.secret, self.component_port = BIB_DOMAIN, BIB_SECRET, server.component_port
        self.server, self.ircd, self.proc = server, ircd, None
        self.cfg = os.path.join(workdir, f"biboumi-{tag}.cfg")
        self.log_path = os.path.join(workdir, f"biboumi-{tag}.log")
        with open(self.cfg, "w") as f:
            f.write(f"hostname={BIB_DOMAIN}\npassword={BIB_SECRET}\nxmpp_server_ip={HOST}\n"
                    f"port={server.component_port}\ndb_name={os.path.join(workdir, f'biboumi-{tag}.sqlite')}\n"
                    f"log_file={self.log_path}\nlog_level=2\nidentd_port=0\nrealname_from_jid=false\n"
                    f"policy_directory={workdir}\n")

    def check(self):
        if not os.access(BIBOUMI, os.X_OK):
            return f"{BIBOUMI} not found: install Debian's package (apt-get install biboumi; scripts/setup.sh does)"
        return None

    def start(self, users):
        self.proc = util.spawn([BIBOUMI, self.cfg], self.log_path + ".stdout")
        self.pid = self.proc.pid
        try:
            wait_ready(users[0], BIB_DOMAIN)
        except Exception:
            if self.proc.poll() is not None:
                raise RuntimeError(f"biboumi exited with {self.proc.returncode}: "
                                   f"{util.tail(self.log_path + '.stdout', 20)} {util.tail(self.log_path, 20)}")
            raise
        # Per user: where the IRC server is (its port; no TLS ports to try first) and
        # Biboumi's own flood control off; the history setting of this run.
        for c in users:
            adhoc(c, self.server_jid(), "configure", {"ports": [str(self.ircd.port)], "tls_ports": [],
                                                      "throttle_limit": "-1"})
            adhoc(c, BIB_DOMAIN, "configure", {"record_history": "true" if self.history else "false",
                                               "max_history_length": "20" if self.history else "0"})

    def stop(self):
        if self.proc is not None:
            util.stop_group(self.proc, term_timeout=5)
            self.proc = None


# -- phases -----------------------------------------------------------------------------------
def wait_users(obs, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        n = obs.users()
        if n == expected:
            return
        if time.monotonic() > deadline:
            raise Stuck(f"ngIRCd has {n} users, expected {expected} after {timeout}s")
        time.sleep(0.3)


MODES = ("shared", "own")   # the shared channel first: measured on a gateway that has had no users yet
SETTLE_AFTER_LEAVE = (1.0, 5.0)   # VmRSS samples, seconds after the last leave
# VmRSS with n users is sampled this long after the last join: the steady state of
# users who stay, not the moment of the join burst (the occupant presences the
# server still has to take), which a gateway may hold briefly and give back.
SETTLE_AFTER_JOIN = 5.0


def memory_phase(gw, users, sizes, obs, baseline, ends, out):
    """Fills `out` {label: VmRSS KiB} as it goes: "idle"; then per mode (all users in
    one shared channel first, then each in his own channel) "<mode> base" just before
    the first join, "<mode> <n>" with n users joined for each size, and after all
    left "<mode> left 1s" and "<mode> left" (1 s and 5 s after the last leave was
    sent: a gateway that frees lazily, or closes its IRC connections after a grace
    period, is credited). On a failure the users that joined leave again before the
    error is raised."""
    out["idle"] = vm_rss_kib(gw.pid)
    for mode in MODES:
        joined = []
        settle(ends, 0.3)
        out[f"{mode} base"] = vm_rss_kib(gw.pid)
        try:
            _memory_mode(gw, users, sizes, ends, out, mode, joined)
        finally:
            for i, c in enumerate(joined):
                leave_room(c, gw.room(f"#m{i}" if mode == "own" else "#mshared"), c.user)
            t_left = time.perf_counter()
            for after, key in zip(SETTLE_AFTER_LEAVE, (f"{mode} left 1s", f"{mode} left")):
                settle(ends, until=t_left + after)  # the presences of the leaves keep arriving
                out[key] = vm_rss_kib(gw.pid)
            wait_users(obs, baseline)
        print(f"{gw.short}: {mode}: left: {out[f'{mode} left'] / 1024:.1f} MiB", file=sys.stderr, flush=True)


def _memory_mode(gw, users, sizes, ends, out, mode, joined):
    for n in sizes:
        # Ten joins at a time: each makes a new IRC connection, and ngIRCd listens with a
        # backlog of 10; a burst beyond it stalls connections on SYN-ACK retransmits
        # (seconds), which would measure the kernel, not the gateway.
        while len(joined) < n:
            batch = users[len(joined):min(n, len(joined) + 10)]
            for i, c in enumerate(batch, start=len(joined)):
                join_room(c, gw.room(f"#m{i}" if mode == "own" else "#mshared"), c.user)
            for c in batch:
                wait_self_presence(c)
            joined += batch
        settle(ends, until=time.perf_counter() + SETTLE_AFTER_JOIN)
        out[f"{mode} {n}"] = vm_rss_kib(gw.pid)
        print(f"{gw.short}: {mode} {n} users: {out[f'{mode} {n}'] / 1024:.1f} MiB", file=sys.stderr, flush=True)


def main():
    ap = bench_args(__doc__, messages=5000, roundtrips=300, latency_budget=6.0, window=200)
    ap.add_argument("--path-budget", type=float, default=20.0,
                    help="seconds of throughput runs per path at most; a slower path gets fewer messages (20)")
    ap.add_argument("--users", default="1,50,200", help="memory: user counts (1,50,200)")
    ap.add_argument("--no-biboumi", action="store_true", help="switchboard and the ceilings only")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory phase")
    args = ap.parse_args()
    return run_bench("sb-bench-irc-", args.keep, lambda workdir, stack: bench(args, workdir, stack))


def bench(args, workdir, stack):
    sizes = sorted({int(x) for x in args.users.split(",") if x.strip()})
    nusers = 0 if args.no_memory else max(sizes)
    notes = []
    results = {}   # gw.short -> {"paths": {...}, "mem": {...}, "error": str}
    t_start = time.monotonic()
    if os.access(binary(), os.X_OK):
        snapshot_binary(workdir)
    comps = dict(COMPONENTS)
    comps[BIB_DOMAIN] = BIB_SECRET
    for d in (IRC_DOMAIN, BIB_DOMAIN):  # same_stanzas() sends from these
        comps[twin_domain(d)] = TWIN_SECRET
    server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=True, components=comps, log_level="warn")
    stack.callback(server.cleanup)
    names = ["u0"] + [f"m{i}" for i in range(nusers)]
    add_accounts(server, names)
    server.start()
    ircd = Ngircd(os.path.join(workdir, "ngircd"), max_penalty_time=0, ping_timeout=600, pong_timeout=120)
    stack.callback(ircd.cleanup)
    ircd.start()

    clients = []
    for u in names:
        c = RawClient(server.c2s_port, u)
        stack.callback(c.close)
        c.user = u
        c.send("<presence/>")
        clients.append(c)
    u0, musers = clients[0], clients[1:]
    ircs = []
    for nick in ("benchA", "benchB", "benchObs"):
        ircs.append(RawIrc(ircd.port, nick))
        stack.callback(ircs[-1].close)
    a, b, obs = ircs
    for c in (a, b):
        c.join(CHAN)
        c.join(CEIL_CHAN)
    baseline = obs.users()
    xe, ae, be = XmppEnd(u0), IrcEnd(a), IrcEnd(b)
    all_x = [XmppEnd(c) for c in clients]
    settle(all_x + [ae, be], 0.5)
    pid = {"prosody": server.pid(), "ngircd": ircd.pid()}
    size = args.body_size

    # -- ceilings ----------------------------------------------------------------------
    paths = {}
    p = paths["irc"] = Path("IRC alone: client → ngIRCd → client", "IRC ceiling", {"ngircd": pid["ngircd"]})
    # A run takes tens of ms: more of them, for a median that one slow run cannot move.
    measure_path(p, lambda n, t: privmsgs(CEIL_CHAN, n, size, "c" + t), args, ae, be, [xe],
                 repeat=max(args.repeat, IRC_CEILING_RUNS))
    p = paths["xmpp"] = Path("XMPP alone: client → Prosody → client", "XMPP ceiling", {"prosody": pid["prosody"]})
    measure_path(p, lambda n, t: chat_stanzas(u0.bare, n, size, "p" + t), args, xe, xe, [ae, be])
    rt = paths["irc_rt"] = Path("IRC round trip A → ngIRCd → B → ngIRCd → A", "IRC ceiling rt", {})
    echo_b = IrcEnd(b, echo_to=CEIL_CHAN)
    latencies(rt, lambda n, t: privmsgs(CEIL_CHAN, n, size, t, mark="BNCQ"), args, ae, ae, [echo_b, xe],
              stall=STALL_LIMIT)
    results["ceiling"] = {"paths": paths}

    # -- gateways ------------------------------------------------------------------------
    gws = [SwitchboardGw(workdir, server, ircd), SwitchboardGw(workdir, server, ircd, archive=False)]
    if args.no_biboumi:
        notes.append("Biboumi: skipped (--no-biboumi)")
    else:
        gws.append(BiboumiGw(workdir, server, ircd, history=False))
        gws.append(BiboumiGw(workdir, server, ircd, history=True))
    for gw in gws:
        stack.callback(gw.stop)
        problem = gw.check()
        if problem:
            notes.append(f"{gw.name}: not measured: {problem}")
            print(notes[-1], file=sys.stderr)
            continue
        res = results[gw.short] = {"paths": {}, "mem": {}}
        try:
            run_gateway(gw, args, sizes, u0, musers, a, b, obs, baseline, xe, ae, be, all_x, pid, res)
        except (Stuck, RuntimeError, OSError) as e:
            res["error"] = f"{type(e).__name__}: {e}"
            notes.append(f"{gw.name}: stopped early: {e} (log: {gw.log_path})")
            print(notes[-1], file=sys.stderr)
        finally:
            gw.stop()
            try:
                settle(all_x + [ae, be], 0.3)
                wait_users(obs, baseline, 15)
            except (Stuck, RuntimeError, OSError) as e:
                notes.append(f"after {gw.name}: {e}")
    report(args, results, gws, notes, time.monotonic() - t_start)


def measure_path(path, make, args, sender, receiver, others, **kwargs):
    """benchlib.measure with this bench's sizing: a warm-up of up to 200 messages also
    sizes the timed runs to --path-budget, so one slow gateway cannot stretch the
    bench to many minutes (the table shows the smaller count)."""
    measure(path, make, args, sender, receiver, others, warmup=200, path_budget=args.path_budget,
            stall=STALL_LIMIT, **kwargs)


def room_line_as_received(irc, client, size):
    """One channel line from IRC as the XMPP client receives it: the gateway's
    stanza for IRC → XMPP (the template of benchlib.same_stanzas)."""
    irc.send(f"PRIVMSG {CHAN} :{body_text(0, size, 'sample', mark='BNCS')}\r\n")
    return received_message(client, b"BNCS")


def run_gateway(gw, args, sizes, u0, musers, a, b, obs, baseline, xe, ae, be, all_x, pid, res):
    t0 = time.monotonic()
    gw.start([u0] + musers)
    print(f"{gw.short}: started (pid {gw.pid}) in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
    settle(all_x + [ae, be], 0.3)
    if not args.no_memory and gw.memory:
        try:
            memory_phase(gw, musers, sizes, obs, baseline, all_x + [ae, be], res["mem"])
        except (Stuck, RuntimeError) as e:
            res["note"] = f"memory phase stopped: {e}"
            print(f"{gw.short}: {res['note']}", file=sys.stderr, flush=True)
    # The throughput user joins #bench; its IRC connection becomes an operator with +F.
    join_room(u0, gw.room(CHAN), "u0")
    wait_self_presence(u0)
    for line in (f"OPER {OPER_NAME} {OPER_PASSWORD}", "MODE u0 +F"):
        u0.send(f"<message to='{gw.server_jid()}' type='chat'><body>{line}</body></message>")
    settle(all_x + [ae, be], 0.5)
    if not a.whois_oper("u0"):
        res["note"] = "the raw OPER line did not make u0 an IRC operator: ngIRCd may throttle it"
    settle(all_x + [ae, be], 0.3)
    room = gw.room(CHAN)
    pids = {"gateway": gw.pid, **pid}
    paths = res["paths"]
    p = paths["out"] = Path("XMPP → IRC", "XMPP → IRC", pids)
    measure_path(p, lambda n, t: groupchats(room, n, args.body_size, "o" + t), args, xe, ae, [be])
    p = paths["in"] = Path("IRC → XMPP", "IRC → XMPP", pids)
    measure_path(p, lambda n, t: privmsgs(CHAN, n, args.body_size, "i" + t), args, ae, xe, [be])
    sample = room_line_as_received(a, u0, args.body_size)
    settle(all_x + [ae, be], 0.2)
    p = paths["in_same"] = Path(f"Prosody alone: component → client, {gw.name}'s stanzas", f"{gw.short} stanzas",
                                {"prosody": pid["prosody"]})
    same_stanzas(p, sample, gw.component_port, gw.domain, args, xe, [ae, be], warmup=200,
                 path_budget=args.path_budget, stall=STALL_LIMIT)
    rt = paths["rt"] = Path("round trip", "round trip", {})
    echo_a = IrcEnd(a, echo_to=CHAN)
    latencies(rt, lambda n, t: groupchats(room, n, args.body_size, t, mark="BNCQ"), args, xe, xe, [echo_a, be],
              stall=STALL_LIMIT)
    res["rss_end"] = vm_rss_kib(gw.pid)
    leave_room(u0, room, "u0")


# -- report --------------------------------------------------------------------------------------
def report(args, results, gws, notes, elapsed):
    cpus, model, prosody_ver = machine()
    sb_ver = version_of([binary(), "--version"]) if os.access(binary(), os.X_OK) else "not built"
    print(f"# IRC gateways: switchboard vs Biboumi — {cpus} CPU(s), {model}")
    print(f"switchboard {sb_ver}; Biboumi {dpkg_version('biboumi')}; Prosody {prosody_ver} (nagle = false, no "
          f"mod_limits); ngIRCd {dpkg_version('ngircd')} (MaxPenaltyTime = 0, every IRC connection OPER + mode +F); "
          f"raw-socket clients (the IRC ones acknowledge at once: TCP_QUICKACK)")
    print(f"{args.messages} messages x {args.repeat} runs per path (median; the IRC ceiling "
          f"{max(args.repeat, IRC_CEILING_RUNS)} runs), {args.body_size}-byte bodies, window {args.window}; latency: "
          f"up to {args.roundtrips} one-in-flight messages ({args.latency_budget:g} s max per path); gateways' flood "
          f"control off; log level warning\n")
    ceil = results["ceiling"]["paths"]
    slower = min([ceil[k].median() for k in ("irc", "xmpp") if ceil[k].rates] or [0]) or None

    def rate(p):
        return p.median() if p is not None else None

    def fmt_rate(p):
        r = rate(p)
        if r is None:
            return f"stuck: {p.error}" if p is not None and p.error else "—"
        out = f"{r:,.0f}"
        if p.n is not None and p.n < args.messages:
            out += f" ({p.n} messages)"
        return out + (f" (then stuck: {p.error})" if p.error else "")

    def ratio(p):
        r = rate(p)
        return f"{r / slower:.2f}" if r and slower else "—"

    print("## Throughput and latency\n")
    print("| path | messages/s | one-way p50 ms | one-way p99 ms | ratio to slower ceiling |")
    print("|---|---:|---:|---:|---:|")
    print(f"| IRC ceiling: client → ngIRCd → client | {fmt_rate(ceil['irc'])} | {lat_cells(ceil['irc'])} | "
          f"{ratio(ceil['irc'])} |")
    print(f"| XMPP ceiling: client → Prosody → client | {fmt_rate(ceil['xmpp'])} | {lat_cells(ceil['xmpp'])} | "
          f"{ratio(ceil['xmpp'])} |")
    for gw in gws:
        res = results.get(gw.short)
        if res is None:
            print(f"| {gw.name} | not measured | | | |")
            continue
        for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
            p = res["paths"].get(key)
            print(f"| {gw.name}: {label} | {fmt_rate(p)} | {lat_cells(p)} | {ratio(p)} |")
    print("\n## Round trip (one message in flight)\n")
    print("| path | p50 ms | p99 ms | round trips |")
    print("|---|---:|---:|---:|")
    print(f"| IRC ceiling: A → ngIRCd → B (answers) → ngIRCd → A | {lat_cells(ceil['irc_rt'])} | "
          f"{len(ceil['irc_rt'].lat)} |")
    for gw in gws:
        res = results.get(gw.short)
        p = res["paths"].get("rt") if res else None
        if p is not None:
            print(f"| {gw.name}: XMPP → gateway → IRC (answers) → gateway → XMPP | {lat_cells(p)} | {len(p.lat)} |")

    same_stanza_report(gws, results, ceil, rate, fmt_rate)

    rows = [("IRC ceiling", ceil["irc"]), ("XMPP ceiling", ceil["xmpp"])]
    for gw in gws:
        res = results.get(gw.short)
        for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
            p = res["paths"].get(key) if res else None
            if p is not None:
                rows.append((f"{gw.name}: {label}", p))
        p = res["paths"].get("in_same") if res else None
        if p is not None:
            rows.append((f"Prosody alone with {gw.name}'s IRC → XMPP stanzas", p))
    cols = [("gateway", "gateway"), ("prosody", "Prosody"), ("ngircd", "ngIRCd"), ("client", "bench client (Python)")]
    print("\n## CPU ms per 1000 messages (throughput runs)\n")
    cpu_table(rows, cols)
    print("\n## CPU, % of one core over the throughput runs\n")
    print("Prosody, ngIRCd and the bench client are single-threaded: near 100 % is the bottleneck; a gateway far "
          "below 100 % while another process is near it is not what limits the path.\n")
    cpu_table(rows, cols, unit="%")

    memory_report(gws, results)

    # switchboard vs Biboumi, like for like: archive on vs history on, off vs off
    sbs = {gw.history: results.get(gw.short) for gw in gws if isinstance(gw, SwitchboardGw)}
    if any(r and r["paths"] for r in sbs.values()):
        lines = []
        for gw in gws:
            res = results.get(gw.short)
            sbr = sbs.get(gw.history)
            if isinstance(gw, SwitchboardGw) or not res or not res["paths"] or not sbr or not sbr["paths"]:
                continue
            for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
                a, b = rate(sbr["paths"].get(key)), rate(res["paths"].get(key))
                ca = sbr["paths"].get(key).cpu.get("gateway") if sbr["paths"].get(key) else None
                cb = res["paths"].get(key).cpu.get("gateway") if res["paths"].get(key) else None
                if a and b:
                    sb_name = "switchboard (archive on)" if gw.history else "switchboard, archive off"
                    lines.append(f"| {sb_name} vs {gw.name}: {label} | {a / b:.2f} | " +
                                 (f"{cb / ca:.2f}" if ca and cb else "—") + " |")
        if lines:
            print("\n## switchboard relative to Biboumi\n")
            print("| comparison | throughput ratio (switchboard / Biboumi) | CPU per message ratio (Biboumi / "
                  "switchboard) |")
            print("|---|---:|---:|")
            print("\n".join(lines))
    for gw in gws:
        res = results.get(gw.short)
        if res and res.get("note"):
            notes.append(f"{gw.name}: {res['note']}")
    if notes:
        print("\nnotes:\n" + "\n".join(f"- {n}" for n in notes))
    print("\n" + runs_line([(f"{k}/{pk}", p) for k, res in results.items() for pk, p in res["paths"].items()]))
    print(f"load average at the end: {load_average()}; bench took {elapsed:.0f} s")


def same_stanza_report(gws, results, ceil, rate, fmt_rate):
    rows = []
    for gw in gws:
        res = results.get(gw.short)
        same = res["paths"].get("in_same") if res else None
        got = res["paths"].get("in") if res else None
        if same is None or got is None:
            continue
        r_same, r_got = rate(same), rate(got)
        ratio = f"{r_got / r_same:.2f}" if r_same and r_got else "—"
        pc = [f"{p.cpu['prosody']:.1f}" if p.cpu.get("prosody") is not None else "—" for p in (same, got)]
        rows.append(f"| {gw.name} | {fmt_rate(same)} | {pc[0]} | {fmt_rate(got)} | {pc[1]} | {ratio} |")
    if not rows:
        return
    pceil = ceil["xmpp"].cpu.get("prosody")
    print("\n## IRC → XMPP against Prosody alone carrying the same stanzas\n")
    print("Each gateway's own room-line stanza (taken from what the client received) sent by a raw component on "
          "a domain of the same length, right after the gateway's IRC → XMPP runs: the most Prosody can deliver of "
          "that traffic. Prosody CPU per 1000 messages in the XMPP ceiling (client → client): " +
          (f"{pceil:.1f} ms." if pceil is not None else "—."))
    print("\n| gateway | Prosody alone, its stanzas: msg/s | Prosody ms/1000 | gateway IRC → XMPP msg/s | "
          "Prosody ms/1000 | ratio to Prosody alone |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    for gw in gws:
        res = results.get(gw.short)
        same = res["paths"].get("in_same") if res else None
        if same is not None:
            print(f"\n{gw.name}'s stanza (its domain as the twin's): `{same.sample.decode(errors='replace')}`")


def memory_report(gws, results):
    mems = [(gw, results[gw.short]["mem"]) for gw in gws if gw.short in results and results[gw.short]["mem"]]
    if not mems:
        return
    sizes = sorted({int(k.split()[1]) for _, m in mems for k in m if k.split()[-1].isdigit()})
    cols = ["idle"] + [f"own {n}" for n in sizes] + ["own left"] + [f"shared {n}" for n in sizes] + ["shared left"]
    print("\n## Memory: gateway VmRSS, MiB (each XMPP user has his own IRC connection)\n")
    print(f"Measured in this order: idle, all users in one shared channel, then each in his own channel; "
          f"with n users: {SETTLE_AFTER_JOIN:g} s after the last join; "
          f"\"after leaving\": {SETTLE_AFTER_LEAVE[-1]:g} s after the last leave.\n")
    print("| gateway | " + " | ".join(c.replace("own", "own channels,").replace("shared", "one channel,")
                                     .replace(", left", ": after leaving") for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for gw, m in mems:
        print(f"| {gw.name} | " + " | ".join(f"{m[c] / 1024:.1f}" if c in m else "—" for c in cols) + " |")
    big = sizes[-1]
    if len(mems) > 1 and mems[0][0].short == "switchboard":
        sbm = mems[0][1]
        for gw, m in mems[1:]:
            if all(k in x for x in (sbm, m) for k in (f"own {big}", "own base")):
                print(f"\nper user (own channels, {big} users, above VmRSS just before they joined, in a heap the "
                      f"shared channel grew before): switchboard {(sbm[f'own {big}'] - sbm['own base']) / big:.0f} "
                      f"KiB, {gw.name} {(m[f'own {big}'] - m['own base']) / big:.0f} KiB")

    # The target: at most half Biboumi's memory per user in a shared channel, and memory
    # returned when users leave.
    def per_user(m):
        if f"shared {big}" in m and "shared base" in m:
            return (m[f"shared {big}"] - m["shared base"]) / big
        return None

    def returned(m, key):
        grown = m.get(f"shared {big}", 0) - m.get("shared base", 0)
        if key not in m or grown <= 0:
            return "—"
        return f"{(m[f'shared {big}'] - m[key]) * 100.0 / grown:.0f} %"

    after = [f"{a:g}" for a in SETTLE_AFTER_LEAVE]
    print(f"\n## Memory per user in one shared channel ({big} users)\n")
    print(f"KiB per user above the VmRSS just before they joined; returned: share of that growth given back "
          f"{after[0]} s and {after[1]} s after the last of them left.\n")
    print(f"| gateway | before joins MiB | {big} users MiB | KiB per user | +{after[0]} s MiB | returned at "
          f"+{after[0]} s | +{after[1]} s MiB | returned at +{after[1]} s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    def mib(m, k):
        return f"{m[k] / 1024:.1f}" if k in m else "—"

    for gw, m in mems:
        pu = per_user(m)
        print(f"| {gw.name} | {mib(m, 'shared base')} | {mib(m, f'shared {big}')} | "
              f"{f'{pu:.1f}' if pu is not None else '—'} | {mib(m, 'shared left 1s')} | "
              f"{returned(m, 'shared left 1s')} | {mib(m, 'shared left')} | {returned(m, 'shared left')} |")
    if len(mems) > 1 and mems[0][0].short == "switchboard" and per_user(mems[0][1]):
        sb = per_user(mems[0][1])
        print()
        for gw, m in mems[1:]:
            other = per_user(m)
            if other and other > 0:
                r = sb / other
                print(f"switchboard / {gw.name}, KiB per user in the shared channel: {r:.3f} "
                      f"(target ≤ 0.50: {'met' if r <= 0.5 else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())
