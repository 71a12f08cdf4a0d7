#!/usr/bin/python3
"""An IRC user for the demo (SPEC §7): it sits in #demo on the demo's local ngIRCd,
keeps the channel alive and gives a newcomer from XMPP something to see.

- joins the channel first (so it is its operator: it shows as a moderator in the
  XMPP client's occupant list) and sets the topic;
- greets everyone who joins ("welcome, <nick>!"), with a /me on a nick change;
- says something every --interval seconds (a numbered line of small talk);
- answers "<botnick>: ping" with "pong", "<botnick>: time" with the time, and any
  private message with an echo of it;
- reconnects (1 s doubling to 30 s) if the server goes away.

Standard library only (a raw socket), so it runs with any python3:

    /usr/bin/python3 scripts/demo_ircbot.py --host 127.0.0.1 --port 6667 --channel '#demo'
"""
import argparse
import random
import signal
import socket
import sys
import threading
import time

LINES = [
    "anyone here from XMPP? say hi!",
    "tip: /me works both ways (it becomes a CTCP ACTION on IRC)",
    "tip: send a private message to demobot%127.0.0.1@irc.localhost and it echoes it",
    "the gateway maps @ to moderator and + to participant in your occupant list",
    "long messages are split into several IRC lines, and joined nowhere: IRC has no multi-line",
    "mIRC \x02bold\x02 and \x0304colours\x03 are stripped before they reach XMPP",
]


class Bot:
    def __init__(self, args):
        self.args = args
        self.nick = args.nick
        self.stop = threading.Event()
        self.sock = None
        self.wlock = threading.Lock()
        self.count = 0
        self.registered = False

    def log(self, text):
        print(f"[{self.args.nick}] {text}", flush=True)

    def send(self, line):
        with self.wlock:
            # Our own lines never carry CR/LF: one send, one IRC command.
            line = line.replace("\r", " ").replace("\n", " ").replace("\0", "")
            self.sock.sendall(line.encode("utf-8", errors="replace")[:510] + b"\r\n")

    def say(self, text):
        self.send(f"PRIVMSG {self.args.channel} :{text}")

    def run(self):
        backoff = 1.0
        while not self.stop.is_set():
            try:
                self.session()
                backoff = 1.0
            except OSError as e:
                self.log(f"connection lost: {e}")
            if self.stop.wait(backoff):
                break
            backoff = min(backoff * 2, 30.0)

    def session(self):
        self.sock = socket.create_connection((self.args.host, self.args.port), timeout=10)
        self.sock.settimeout(1.0)
        self.nick = self.args.nick
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick[:9]} 0 * :switchboard demo bot")
        buf = b""
        next_talk = time.monotonic() + self.args.interval
        try:
            while not self.stop.is_set():
                if time.monotonic() >= next_talk and self.registered:
                    self.count += 1
                    self.say(f"[{self.count}] {LINES[(self.count - 1) % len(LINES)]}")
                    next_talk = time.monotonic() + self.args.interval * random.uniform(0.8, 1.2)
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    raise OSError("server closed the connection")
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    self.handle(raw.rstrip(b"\r").decode("utf-8", errors="replace"))
        finally:
            self.registered = False
            try:
                if self.stop.is_set():
                    self.send("QUIT :demo over")
            except OSError:
                pass
            self.sock.close()

    def handle(self, line):
        if not line:
            return
        prefix = ""
        if line.startswith(":"):
            prefix, _, line = line[1:].partition(" ")
        head, _, trailing = line.partition(" :")
        words = head.split()
        if not words:
            return
        cmd, params = words[0].upper(), words[1:] + ([trailing] if " :" in line else [])
        who = prefix.split("!", 1)[0]
        if cmd == "PING":
            self.send(f"PONG :{params[0] if params else ''}")
        elif cmd == "001":
            self.registered = True
            self.nick = params[0] if params else self.nick
            self.log(f"registered as {self.nick}")
            self.send(f"JOIN {self.args.channel}")
        elif cmd in ("433", "432"):
            self.nick += "_"
            self.send(f"NICK {self.nick}")
        elif cmd == "JOIN":
            chan = params[0] if params else ""
            if who == self.nick:
                self.log(f"joined {chan}")
                self.send(f"TOPIC {chan} :{self.args.topic}")
            else:
                self.say(f"welcome, {who}!")
        elif cmd == "NICK" and who != self.nick:
            self.say(f"\x01ACTION notes that {who} is now known as {params[0] if params else '?'}\x01")
        elif cmd == "PRIVMSG" and len(params) >= 2:
            target, text = params[0], params[1]
            if target == self.nick:  # private
                self.send(f"PRIVMSG {who} :you said: {text}")
                return
            low = text.lower()
            if low.startswith(self.nick.lower()):
                ask = low[len(self.nick):].lstrip(":, ").strip()
                if ask == "ping":
                    self.say(f"{who}: pong")
                elif ask == "time":
                    self.say(f"{who}: it is {time.strftime('%H:%M:%S')} here")
                else:
                    self.say(f"{who}: I know 'ping' and 'time'")


def main(argv=None):
    p = argparse.ArgumentParser(description="An IRC bot that talks in the switchboard demo channel.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6667)
    p.add_argument("--channel", default="#demo")
    p.add_argument("--nick", default="demobot")
    p.add_argument("--topic", default="switchboard demo: XMPP users and IRC users in one room")
    p.add_argument("--interval", type=float, default=20.0, help="seconds between small-talk lines")
    args = p.parse_args(argv)
    bot = Bot(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: bot.stop.set())
    bot.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
