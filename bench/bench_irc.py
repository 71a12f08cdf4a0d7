#!/usr/bin/python3
"""IRC benchmark (not a test): switchboard's [[irc]] transport against Biboumi (the
gateway SPEC §7 is judged against), side by side in one run, between the same real
Prosody and the same real ngIRCd on loopback, beside the ceilings of that setup.

Gateways (one at a time, same servers, same clients):
  switchboard        [[irc]] on irc.localhost, flood control off (flood_per_second = 0)
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
runs. Latency: one in flight; p50/p99 (one way per direction, and the full round trip).
CPU ms per 1000 messages of the gateway, Prosody, ngIRCd and this client
(/proc/<pid>/stat utime+stime over the throughput runs). Memory: the gateway's VmRSS
idle, with 1/50/200 XMPP users each in their own channel, then all in one shared
channel, and after they left (each user has his own IRC connection).

Usage: /usr/bin/python3 bench/bench_irc.py [--messages N] [--repeat K] [--window W]
       [--roundtrips R] [--users 1,50,200] [--no-biboumi] [--no-memory] [--keep]
Quick:  --messages 500 --repeat 1 --roundtrips 50 --users 1,5
Env:    SWITCHBOARD_BIN (default /work/main/build/switchboard)
"""
import argparse
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_e2e import BenchProsody, RawClient, Stuck, cpu_seconds, machine, pct  # noqa: E402
from bench_mqtt import Path, XmppEnd, run_load, version_of  # noqa: E402
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


class IrcEnd:
    """An IRC socket in the load loop: counts PRIVMSG lines whose text starts with
    BNCH, answers PING, and (echo on) answers each BNCQ line with the BNCH line of the
    same number, at once."""

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


def drain(ends, quiet=0.3, limit=30.0):
    """Reads everything until all sockets are quiet for `quiet` s (answering PINGs,
    resetting the XMPP ends' match tails)."""
    sel = selectors.DefaultSelector()
    uniq = []
    for e in ends:
        if any(e.sock is u.sock for u in uniq):
            continue
        uniq.append(e)
        e.sock.setblocking(False)
        sel.register(e.sock, selectors.EVENT_READ, e)
    ends = uniq
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            events = sel.select(quiet)
            if not events:
                break
            for key, _ in events:
                e = key.data
                data = e.sock.recv(262144)
                if not data:
                    raise RuntimeError("peer closed the connection while draining")
                if isinstance(e, IrcEnd):
                    e.feed(data)
                    if e.out:
                        e.sock.setblocking(True)
                        e.sock.sendall(e.out)
                        e.out.clear()
                        e.sock.setblocking(False)
    finally:
        sel.close()
        for e in ends:
            e.sock.setblocking(True)
            e.sock.settimeout(10)
            if isinstance(e, XmppEnd):
                e.tail = e.etail = b""


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


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -- payloads ------------------------------------------------------------------------------
def body_text(i, size, tag, mark="BNCH"):
    return (f"{mark}{tag}{i:07d} " + "x" * size)[:size]


def groupchats(room_jid, n, size, tag, mark="BNCH"):
    return [f"<message to='{room_jid}' type='groupchat' id='{tag}{i}'><body>{body_text(i, size, tag, mark)}"
            f"</body></message>".encode() for i in range(n)]


def privmsgs(chan, n, size, tag):
    return [f"PRIVMSG {chan} :{body_text(i, size, tag)}\r\n".encode() for i in range(n)]


def chats(to, n, size, tag):
    return [f"<message to='{to}' type='chat' id='{tag}{i}'><body>{body_text(i, size, tag)}</body></message>".encode()
            for i in range(n)]


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
    def __init__(self, workdir, server, ircd):
        self.name, self.short, self.domain = "switchboard", "switchboard", IRC_DOMAIN
        block = "\n".join([
            "[[irc]]", f"domain = {toml_str(IRC_DOMAIN)}", f"secret = {toml_str(IRC_SECRET)}",
            'allow = ["*@localhost"]', "grace_seconds = 1", "flood_per_second = 0", "reconnect_max_seconds = 5",
            f'  [irc.servers."{IRC_SERVER}"]', f'  host = "{HOST}"', f"  port = {ircd.port}", "  tls = false"])
        self.sb = Switchboard(os.path.join(workdir, "sb"), server, domain=IRC_DOMAIN, with_loopback=False,
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
        tag = "on" if history else "off"
        self.name = f"Biboumi, history {tag}"
        self.short = f"biboumi-{tag}"
        self.domain = BIB_DOMAIN
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


def memory_phase(gw, users, sizes, obs, baseline, ends, out):
    """Fills `out` {label: VmRSS KiB} as it goes: idle, then own channels at each size,
    after leaving, the shared channel at each size, after leaving. On a failure the
    users that joined leave again before the error is raised."""
    out["idle"] = vm_rss_kib(gw.pid)
    for mode in ("own", "shared"):
        joined = []
        try:
            _memory_mode(gw, users, sizes, ends, out, mode, joined)
        finally:
            for i, c in enumerate(joined):
                leave_room(c, gw.room(f"#m{i}" if mode == "own" else "#mshared"), c.user)
            drain(ends, 0.5)
            wait_users(obs, baseline)
        time.sleep(1.5)  # let the gateway free what it frees
        drain(ends, 0.3)
        out[f"{mode} left"] = vm_rss_kib(gw.pid)


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
        drain(ends, 0.5)
        time.sleep(0.5)
        drain(ends, 0.3)
        out[f"{mode} {n}"] = vm_rss_kib(gw.pid)
        print(f"{gw.short}: {mode} {n} users: {out[f'{mode} {n}'] / 1024:.1f} MiB", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000, help="messages per throughput run (5000)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per path; median shown (3)")
    ap.add_argument("--window", type=int, default=200, help="max messages not yet delivered (200)")
    ap.add_argument("--roundtrips", type=int, default=300, help="one-in-flight messages for latency (300)")
    ap.add_argument("--latency-budget", type=float, default=6.0, help="max seconds of latency runs per path (6)")
    ap.add_argument("--path-budget", type=float, default=20.0,
                    help="seconds of throughput runs per path at most; a slower path gets fewer messages (20)")
    ap.add_argument("--body-size", type=int, default=100, help="body bytes (100)")
    ap.add_argument("--users", default="1,50,200", help="memory: user counts (1,50,200)")
    ap.add_argument("--no-biboumi", action="store_true", help="switchboard and the ceilings only")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory phase")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()
    sizes = sorted({int(x) for x in args.users.split(",") if x.strip()})
    nusers = 0 if args.no_memory else max(sizes)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = tempfile.mkdtemp(prefix="sb-bench-irc-")
    server = ircd = None
    clients, ircs, gws = [], [], []
    notes = []
    results = {}   # gw.short -> {"paths": {...}, "mem": {...}, "error": str}
    t_start = time.monotonic()
    try:
        if os.access(binary(), os.X_OK):
            snapshot_binary(workdir)
        comps = dict(COMPONENTS)
        comps[BIB_DOMAIN] = BIB_SECRET
        server = BenchProsody(os.path.join(workdir, "prosody"), nodelay=True, components=comps, log_level="warn")
        names = ["u0"] + [f"m{i}" for i in range(nusers)]
        add_accounts(server, names)
        server.start()
        ircd = Ngircd(os.path.join(workdir, "ngircd"), max_penalty_time=0, ping_timeout=600, pong_timeout=120).start()

        for u in names:
            c = RawClient(server.c2s_port, u)
            c.user = u
            c.send("<presence/>")
            clients.append(c)
        u0, musers = clients[0], clients[1:]
        a, b, obs = RawIrc(ircd.port, "benchA"), RawIrc(ircd.port, "benchB"), RawIrc(ircd.port, "benchObs")
        ircs += [a, b, obs]
        for c in (a, b):
            c.join(CHAN)
            c.join(CEIL_CHAN)
        baseline = obs.users()
        xe, ae, be = XmppEnd(u0), IrcEnd(a), IrcEnd(b)
        all_x = [XmppEnd(c) for c in clients]
        drain(all_x + [ae, be], 0.5)
        pid = {"prosody": server.pid(), "ngircd": ircd.pid()}
        size = args.body_size

        # -- ceilings ----------------------------------------------------------------------
        paths = {}
        p = paths["irc"] = Path("IRC alone: client → ngIRCd → client", "IRC ceiling", {"ngircd": pid["ngircd"]})
        measure(p, lambda n, t: privmsgs(CEIL_CHAN, n, size, "c" + t), args, ae, be, [xe])
        p = paths["xmpp"] = Path("XMPP alone: client → Prosody → client", "XMPP ceiling",
                                 {"prosody": pid["prosody"]})
        measure(p, lambda n, t: chats(u0.bare, n, size, "p" + t), args, xe, xe, [ae, be])
        rt = paths["irc_rt"] = Path("IRC round trip A → ngIRCd → B → ngIRCd → A", "IRC ceiling rt", {})
        echo_b = IrcEnd(b, echo_to=CEIL_CHAN)
        run_rt(rt, args, ae, ae, [echo_b, xe], lambda n, t: [f"PRIVMSG {CEIL_CHAN} :{body_text(i, size, t, 'BNCQ')}"
                                                             f"\r\n".encode() for i in range(n)])
        results["ceiling"] = {"paths": paths}

        # -- gateways ------------------------------------------------------------------------
        gws.append(SwitchboardGw(workdir, server, ircd))
        if args.no_biboumi:
            notes.append("Biboumi: skipped (--no-biboumi)")
        else:
            gws.append(BiboumiGw(workdir, server, ircd, history=False))
            gws.append(BiboumiGw(workdir, server, ircd, history=True))
        for gw in gws:
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
                    drain(all_x + [ae, be], 0.3)
                    wait_users(obs, baseline, 15)
                except (Stuck, RuntimeError, OSError) as e:
                    notes.append(f"after {gw.name}: {e}")
        report(args, results, gws, notes, time.monotonic() - t_start)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for gw in gws:
            gw.stop()
        for c in ircs:
            c.close()
        for c in clients:
            c.close()
        if ircd is not None:
            ircd.cleanup()
        if server is not None:
            server.cleanup()
        for proc in list(util.LIVE_PROCESSES):
            util.kill_group(proc)
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def measure(path, make, args, sender, receiver, others):
    """make(n, tag) -> packets. A warm-up of up to 200 messages also sizes the timed
    runs: a path slower than --path-budget allows gets fewer messages (shown in the
    table), so one slow gateway cannot stretch the bench to many minutes. Then
    `repeat` throughput runs (CPU measured over them) and one-way latencies. A path
    that stops delivering is recorded (path.error) and the bench goes on."""
    path.window, path.n = args.window, args.messages
    try:
        warm = min(200, args.messages)
        secs = run_load(sender, receiver, others, make(warm, "w"), args.window)
        fits = int(warm / secs * args.path_budget / max(1, args.repeat))
        path.n = n = max(min(args.messages, fits), min(200, args.messages))
        cpu0 = {k: cpu_seconds(p) for k, p in path.pids.items()}
        cpu0["client"] = sum(os.times()[:2])
        for rep in range(args.repeat):
            path.rates.append(n / run_load(sender, receiver, others, make(n, f"r{rep}"), args.window))
        cpu1 = {k: cpu_seconds(p) for k, p in path.pids.items()}
        cpu1["client"] = sum(os.times()[:2])
        path.cpu = {k: (cpu1[k] - cpu0[k]) * 1e6 / (n * args.repeat) for k in cpu0}  # ms per 1000
        run_rt(path, args, sender, receiver, others, make)
    except Stuck as e:
        path.error = str(e)
        print(f"{path.short}: {e}", file=sys.stderr)
    drain([sender, receiver] + list(others), 0.3)
    print(f"{path.short}: done ({', '.join(f'{r:,.0f}' for r in path.rates)} msg/s, {path.n} messages)",
          file=sys.stderr, flush=True)


def run_rt(path, args, sender, receiver, others, make):
    """Latency: one message in flight, stopped after the latency budget."""
    pk = make(args.roundtrips, "q")
    deadline = time.perf_counter() + args.latency_budget
    try:
        for i in range(0, len(pk), 25):
            run_load(sender, receiver, others, pk[i:i + 25], 1, path.lat)
            if time.perf_counter() > deadline:
                break
    except Stuck as e:
        path.error = str(e)
    drain([sender, receiver] + list(others), 0.2)


def run_gateway(gw, args, sizes, u0, musers, a, b, obs, baseline, xe, ae, be, all_x, pid, res):
    t0 = time.monotonic()
    gw.start([u0] + musers)
    print(f"{gw.short}: started (pid {gw.pid}) in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
    drain(all_x + [ae, be], 0.3)
    if not args.no_memory:
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
    drain(all_x + [ae, be], 0.5)
    if not a.whois_oper("u0"):
        res["note"] = "the raw OPER line did not make u0 an IRC operator: ngIRCd may throttle it"
    drain(all_x + [ae, be], 0.3)
    room = gw.room(CHAN)
    pids = {"gateway": gw.pid, **pid}
    paths = res["paths"]
    p = paths["out"] = Path("XMPP → IRC", "XMPP → IRC", pids)
    measure(p, lambda n, t: groupchats(room, n, args.body_size, "o" + t), args, xe, ae, [be])
    p = paths["in"] = Path("IRC → XMPP", "IRC → XMPP", pids)
    measure(p, lambda n, t: privmsgs(CHAN, n, args.body_size, "i" + t), args, ae, xe, [be])
    rt = paths["rt"] = Path("round trip", "round trip", {})
    echo_a = IrcEnd(a, echo_to=CHAN)
    run_rt(rt, args, xe, xe, [echo_a, be],
           lambda n, t: groupchats(room, n, args.body_size, t, mark="BNCQ"))
    res["rss_end"] = vm_rss_kib(gw.pid)
    leave_room(u0, room, "u0")


# -- report --------------------------------------------------------------------------------------
def report(args, results, gws, notes, elapsed):
    cpus, model, prosody_ver = machine()
    ngircd_ver = version_of(["dpkg-query", "-W", "-f=${Version}", "ngircd"])
    bib_ver = version_of(["dpkg-query", "-W", "-f=${Version}", "biboumi"])
    sb_ver = version_of([binary(), "--version"]) if os.access(binary(), os.X_OK) else "not built"
    print(f"# IRC gateways: switchboard vs Biboumi — {cpus} CPU(s), {model}")
    print(f"switchboard {sb_ver}; Biboumi {bib_ver}; Prosody {prosody_ver} (nagle = false, no mod_limits); "
          f"ngIRCd {ngircd_ver} (MaxPenaltyTime = 0, every IRC connection OPER + mode +F); raw-socket clients")
    print(f"{args.messages} messages x {args.repeat} runs per path (median), {args.body_size}-byte bodies, window "
          f"{args.window}; latency: up to {args.roundtrips} one-in-flight messages ({args.latency_budget:g} s max "
          f"per path); gateways' flood control off; log level warning\n")
    ceil = results["ceiling"]["paths"]
    crates = {k: statistics.median(ceil[k].rates) for k in ("irc", "xmpp") if ceil[k].rates}
    slower = min(crates.values()) if crates else None

    def rate(p):
        return statistics.median(p.rates) if p and p.rates else None

    def fmt_rate(p):
        r = rate(p)
        if r is None:
            return f"stuck: {p.error}" if p is not None and p.error else "—"
        out = f"{r:,.0f}"
        if getattr(p, "n", args.messages) < args.messages:
            out += f" ({p.n} messages)"
        return out + (f" (then stuck: {p.error})" if p.error else "")

    def lat(p):
        return (f"{pct(p.lat, 50):.3f} | {pct(p.lat, 99):.3f}") if p is not None and p.lat else "— | —"

    def ratio(p):
        r = rate(p)
        return f"{r / slower:.2f}" if r and slower else "—"

    print("## Throughput and latency\n")
    print("| path | messages/s | one-way p50 ms | one-way p99 ms | ratio to slower ceiling |")
    print("|---|---:|---:|---:|---:|")
    print(f"| IRC ceiling: client → ngIRCd → client | {fmt_rate(ceil['irc'])} | {lat(ceil['irc'])} | "
          f"{ratio(ceil['irc'])} |")
    print(f"| XMPP ceiling: client → Prosody → client | {fmt_rate(ceil['xmpp'])} | {lat(ceil['xmpp'])} | "
          f"{ratio(ceil['xmpp'])} |")
    for gw in gws:
        res = results.get(gw.short)
        if res is None:
            print(f"| {gw.name} | not measured | | | |")
            continue
        for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
            p = res["paths"].get(key)
            print(f"| {gw.name}: {label} | {fmt_rate(p)} | {lat(p)} | {ratio(p)} |")
    print("\n## Round trip (one message in flight)\n")
    print("| path | p50 ms | p99 ms | round trips |")
    print("|---|---:|---:|---:|")
    print(f"| IRC ceiling: A → ngIRCd → B (answers) → ngIRCd → A | {lat(ceil['irc_rt'])} | {len(ceil['irc_rt'].lat)} |")
    for gw in gws:
        res = results.get(gw.short)
        p = res["paths"].get("rt") if res else None
        if p is not None:
            print(f"| {gw.name}: XMPP → gateway → IRC (answers) → gateway → XMPP | {lat(p)} | {len(p.lat)} |")

    print("\n## CPU ms per 1000 messages (throughput runs)\n")
    cols = ("gateway", "prosody", "ngircd", "client")
    print("| path | gateway | Prosody | ngIRCd | bench client (Python) |")
    print("|---|---:|---:|---:|---:|")
    for key, name in (("irc", "IRC ceiling"), ("xmpp", "XMPP ceiling")):
        p = ceil[key]
        print(f"| {name} | " + " | ".join(f"{p.cpu[c]:.1f}" if c in p.cpu else "—" for c in cols) + " |")
    for gw in gws:
        res = results.get(gw.short)
        for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
            p = res["paths"].get(key) if res else None
            if p is not None and p.cpu:
                print(f"| {gw.name}: {label} | " + " | ".join(f"{p.cpu[c]:.1f}" if c in p.cpu else "—"
                                                                for c in cols) + " |")

    mems = [(gw, results[gw.short]["mem"]) for gw in gws if gw.short in results and results[gw.short]["mem"]]
    if mems:
        sizes = sorted({int(k.split()[1]) for _, m in mems for k in m if k.split()[-1].isdigit()})
        cols = ["idle"] + [f"own {n}" for n in sizes] + ["own left"] + [f"shared {n}" for n in sizes] + \
               ["shared left"]
        print("\n## Memory: gateway VmRSS, MiB (each XMPP user has his own IRC connection)\n")
        print("| gateway | " + " | ".join(c.replace("own", "own channels,").replace("shared", "one channel,")
                                         .replace(", left", ": after leaving") for c in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for gw, m in mems:
            print(f"| {gw.name} | " + " | ".join(f"{m[c] / 1024:.1f}" if c in m else "—" for c in cols) + " |")
        if len(mems) > 1 and mems[0][0].short == "switchboard":
            sbm = mems[0][1]
            for gw, m in mems[1:]:
                big = f"own {sizes[-1]}"
                if big in sbm and big in m and "idle" in m:
                    per_sb = (sbm[big] - sbm["idle"]) / sizes[-1]
                    per_b = (m[big] - m["idle"]) / sizes[-1]
                    print(f"\nper user (own channels, {sizes[-1]} users, above idle): switchboard "
                          f"{per_sb:.0f} KiB, {gw.name} {per_b:.0f} KiB")

    # switchboard vs Biboumi
    sbr = results.get("switchboard")
    if sbr and sbr["paths"]:
        lines = []
        for gw in gws[1:]:
            res = results.get(gw.short)
            if not res or not res["paths"]:
                continue
            for key, label in (("out", "XMPP → IRC"), ("in", "IRC → XMPP")):
                a, b = rate(sbr["paths"].get(key)), rate(res["paths"].get(key))
                ca = sbr["paths"].get(key).cpu.get("gateway") if sbr["paths"].get(key) else None
                cb = res["paths"].get(key).cpu.get("gateway") if res["paths"].get(key) else None
                if a and b:
                    lines.append(f"| vs {gw.name}: {label} | {a / b:.2f} | " +
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
    print("\nthroughput runs (msg/s): " + "; ".join(
        f"{k}/{pk}: " + ", ".join(f"{r:,.0f}" for r in p.rates)
        for k, res in results.items() for pk, p in res["paths"].items() if p.rates))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; bench took {elapsed:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
