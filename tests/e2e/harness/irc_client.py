"""A small raw-socket IRC client for the tests (SPEC §7): the IRC side of the
bridge, and the recorder of what ngIRCd really relayed.

Every line it receives is kept with its arrival time (time.monotonic()), raw bytes
and parsed form, so a test can assert exactly which IRC commands happened (the
no-injection tests: a smuggled "JOIN #evil" would show up as its own line). It
answers PING by itself. Lines are sent as given (bytes pass untouched), so a test
can also send latin-1 text or mIRC colour codes as a real IRC user would.

    c = IrcClient(ngircd.port, "carol").connect()
    c.join("#room")
    c.privmsg("#room", "hello")
    line = c.wait_privmsg("#room", lambda text: text == "hi", frm="alice")
    c.names("#room")   # {"carol": "@", "alice": ""}
"""
import socket
import threading
import time

from .servers import HOST


class Line:
    """One received line: `raw` bytes (without CR LF), `text` (UTF-8, invalid bytes
    replaced), and the RFC 2812 parts. `nick` is the prefix up to '!'."""

    def __init__(self, raw, ts):
        self.raw, self.ts = raw, ts
        self.text = raw.decode("utf-8", errors="replace")
        self.tags, self.prefix, self.command, self.params = parse(self.text)
        self.nick = self.prefix.split("!", 1)[0].split("@", 1)[0] if self.prefix else ""

    def param(self, i):
        return self.params[i] if i < len(self.params) else ""

    def __repr__(self):
        return f"<irc {self.text[:200]!r}>"


def parse(text):
    """(tags dict, prefix, COMMAND, params) of one line; tolerant of odd input."""
    tags, prefix = {}, ""
    rest = text
    if rest.startswith("@"):
        head, _, rest = rest.partition(" ")
        for kv in head[1:].split(";"):
            k, _, v = kv.partition("=")
            tags[k] = v
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    params = []
    while rest:
        rest = rest.lstrip(" ")
        if not rest:
            break
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        word, _, rest = rest.partition(" ")
        params.append(word)
    command = params.pop(0).upper() if params else ""
    return tags, prefix, command, params


def lower(s):
    """RFC 1459 case folding as ngIRCd uses it (CASEMAPPING=ascii there, a subset)."""
    return s.lower()


class IrcClient:
    def __init__(self, port, nick, host=HOST, user=None, realname=None):
        self.addr = (host, port)
        self.nick = nick
        self.user = user or nick[:9].lower() or "user"
        self.realname = realname or f"test user {nick}"
        self.lines = []          # every Line received, in order
        self.sent = []           # every line sent (bytes, without CR LF)
        self._cond = threading.Condition()
        self._sock = None
        self._thread = None
        self._wlock = threading.Lock()
        self.closed = False

    # -- lifecycle ---------------------------------------------------------
    def connect(self, timeout=10):
        """Connects, registers (NICK/USER) and waits for 001; raises with the server's
        reply on a refused nick."""
        self._sock = socket.create_connection(self.addr, timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(None)
        self.closed = False
        self._thread = threading.Thread(target=self._reader, name=f"irc-{self.nick}", daemon=True)
        self._thread.start()
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.user} 0 * :{self.realname}")
        got = self.wait(lambda ln: ln.command in ("001", "432", "433", "436", "ERROR"), timeout,
                        what="registration (001)")
        if got.command != "001":
            self.close()
            raise RuntimeError(f"IRC registration of {self.nick} refused: {got.text}")
        self.nick = got.param(0) or self.nick
        return self

    def close(self, reason=None):
        if self._sock is None:
            return
        if reason is not None and not self.closed:
            try:
                self.send(f"QUIT :{reason}")
                self.wait(lambda ln: ln.command == "ERROR", 3, what="ERROR after QUIT")
            except (OSError, TimeoutError):
                pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if self._thread is not None:
            self._thread.join(3)
        self._sock = None

    def _reader(self):
        buf = b""
        sock = self._sock
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self.closed = True
                    self._cond.notify_all()
                return
            buf += data
            while True:
                # A line ends at LF (CR LF on the wire; a lone LF is tolerated).
                i = buf.find(b"\n")
                if i < 0:
                    break
                raw, buf = buf[:i].rstrip(b"\r"), buf[i + 1:]
                if not raw:
                    continue
                line = Line(raw, time.monotonic())
                if line.command == "PING":
                    try:
                        self.send(b"PONG :" + raw.split(b" ", 1)[1].lstrip(b":") if b" " in raw else b"PONG")
                    except OSError:
                        pass
                elif line.command == "NICK" and lower(line.nick) == lower(self.nick):
                    self.nick = line.param(0)
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()

    # -- sending -----------------------------------------------------------
    def send(self, line):
        """Sends one line (str as UTF-8, or bytes as is) plus CR LF. Nothing is
        sanitised: a test may send what a hostile or odd IRC client would."""
        data = line.encode("utf-8") if isinstance(line, str) else bytes(line)
        with self._wlock:
            self.sent.append(data)
            self._sock.sendall(data + b"\r\n")

    def mark(self):
        """An index into `lines`: wait(..., since=mark) only looks at what came after."""
        with self._cond:
            return len(self.lines)

    def join(self, channel, key=None, timeout=10):
        """JOIN and wait for the end of the NAMES reply (366): the join is complete."""
        m = self.mark()
        self.send(f"JOIN {channel}" + (f" {key}" if key else ""))
        self.wait(lambda ln: ln.command in ("366", "403", "405", "471", "473", "474", "475") and
                  lower(ln.param(1)) == lower(channel), timeout, since=m, what=f"JOIN {channel} to complete")
        return self

    def part(self, channel, reason=None):
        self.send(f"PART {channel}" + (f" :{reason}" if reason is not None else ""))

    def privmsg(self, target, text):
        self.send(f"PRIVMSG {target} :{text}" if isinstance(text, str) else
                  f"PRIVMSG {target} :".encode() + text)

    def notice(self, target, text):
        self.send(f"NOTICE {target} :{text}")

    def action(self, target, text):
        self.privmsg(target, f"\x01ACTION {text}\x01")

    def topic(self, channel, text, timeout=10):
        """Sets the topic and waits until the server confirms it (our own TOPIC echoed)."""
        m = self.mark()
        self.send(f"TOPIC {channel} :{text}")
        self.wait(lambda ln: ln.command == "TOPIC" and lower(ln.nick) == lower(self.nick) and
                  lower(ln.param(0)) == lower(channel), timeout, since=m, what=f"TOPIC on {channel}")

    def mode(self, target, *args, wait=True, timeout=10):
        m = self.mark()
        self.send(" ".join(["MODE", target, *args]))
        if wait:
            self.wait(lambda ln: ln.command == "MODE" and lower(ln.param(0)) == lower(target), timeout, since=m,
                      what=f"MODE {target} {' '.join(args)}")

    def kick(self, channel, nick, reason="", timeout=10):
        m = self.mark()
        self.send(f"KICK {channel} {nick} :{reason}")
        self.wait(lambda ln: ln.command == "KICK" and lower(ln.param(1)) == lower(nick), timeout, since=m,
                  what=f"KICK {nick} from {channel}")

    def change_nick(self, new, timeout=10):
        m = self.mark()
        old = self.nick
        self.send(f"NICK {new}")
        self.wait(lambda ln: ln.command == "NICK" and lower(ln.nick) == lower(old), timeout, since=m,
                  what=f"NICK {old} -> {new}")

    def oper(self, name, password, timeout=10):
        """OPER, then user mode +F (ngIRCd: relaxed flood protection, opers only)."""
        m = self.mark()
        self.send(f"OPER {name} {password}")
        self.wait(lambda ln: ln.command in ("381", "464", "491"), timeout, since=m, what="OPER reply")
        if not any(ln.command == "381" for ln in self.lines[m:]):
            raise RuntimeError(f"OPER refused: {self.lines[m:]}")
        self.mode(self.nick, "+F")

    def quit(self, reason="bye"):
        self.close(reason)

    # -- queries -------------------------------------------------------------
    def names(self, channel, timeout=10):
        """{nick: prefixes} of `channel` from a fresh NAMES reply ("@", "+", "" ...)."""
        m = self.mark()
        self.send(f"NAMES {channel}")
        self.wait(lambda ln: ln.command == "366" and lower(ln.param(1)) == lower(channel), timeout, since=m,
                  what=f"NAMES {channel}")
        out = {}
        with self._cond:
            got = self.lines[m:]
        for ln in got:
            if ln.command == "366" and lower(ln.param(1)) == lower(channel):
                break
            if ln.command == "353" and lower(ln.param(2)) == lower(channel):
                for entry in ln.params[-1].split():
                    i = 0
                    while i < len(entry) and entry[i] in "~&@%+":
                        i += 1
                    out[entry[i:]] = entry[:i]
        return out

    def channels(self, timeout=10):
        """{channel: users} of every channel LIST shows (visible ones)."""
        m = self.mark()
        self.send("LIST")
        self.wait(lambda ln: ln.command == "323", timeout, since=m, what="LIST")
        with self._cond:
            return {ln.param(1): int(ln.param(2) or 0) for ln in self.lines[m:] if ln.command == "322"}

    def whois(self, nick, timeout=10):
        """The channels `nick` is in (from 319, prefixes stripped), or None if no such nick."""
        m = self.mark()
        self.send(f"WHOIS {nick}")
        end = self.wait(lambda ln: ln.command in ("318", "401") and lower(ln.param(1)) == lower(nick), timeout,
                        since=m, what=f"WHOIS {nick}")
        with self._cond:
            got = self.lines[m:]
        if end.command == "401" or any(ln.command == "401" and lower(ln.param(1)) == lower(nick) for ln in got):
            return None
        chans = set()
        for ln in got:
            if ln.command == "319" and lower(ln.param(1)) == lower(nick):
                chans.update(c.lstrip("~&@%+") for c in ln.params[-1].split())
        return chans

    # -- waiting -------------------------------------------------------------
    def wait(self, pred, timeout=10, since=0, what="line"):
        """Waits for the first line (from index `since`) with pred(line) true; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ln in self.lines[since:]:
                    if pred(ln):
                        return ln
                since = max(since, len(self.lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"IRC {self.nick}: timed out after {timeout}s waiting for {what}; "
                                       f"last lines {self.lines[-8:]}")
                if self.closed:
                    raise ConnectionError(f"IRC {self.nick}: connection closed while waiting for {what}; "
                                          f"last lines {self.lines[-8:]}")
                self._cond.wait(min(left, 0.5))

    def wait_privmsg(self, target, match=None, frm=None, timeout=10, since=0, command="PRIVMSG"):
        """The first PRIVMSG (or `command`) to `target` (a channel, or our nick) from nick
        `frm` whose text satisfies match(text)."""
        def ok(ln):
            return (ln.command == command and lower(ln.param(0)) == lower(target) and
                    (frm is None or lower(ln.nick) == lower(frm)) and (match is None or match(ln.param(1))))
        return self.wait(ok, timeout, since, what=f"{command} to {target} from {frm or 'anyone'}")

    def privmsgs(self, target, frm=None, since=0, command="PRIVMSG"):
        """Texts of every PRIVMSG to `target` (from `frm`) received so far, in order."""
        with self._cond:
            return [ln.param(1) for ln in self.lines[since:]
                    if ln.command == command and lower(ln.param(0)) == lower(target) and
                    (frm is None or lower(ln.nick) == lower(frm))]

    def snapshot(self, since=0):
        with self._cond:
            return list(self.lines[since:])

    def wait_quiet(self, seconds=0.3, timeout=10):
        """Waits until nothing has arrived for `seconds` (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.mark()
            time.sleep(seconds)
            if self.mark() == n:
                return
