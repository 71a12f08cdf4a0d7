"""The built switchboard binary (SWITCHBOARD_BIN), run from a config written into
a temp dir, wired to one XMPP server's component port."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

from . import util
from .servers import GW_DOMAIN, HOST, MQTT_DOMAIN

DEFAULT_BIN = "/work/main/build/switchboard"


_snapshot = None  # a private copy taken at session start (see snapshot_binary)


def binary():
    return _snapshot or os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)


def snapshot_binary(dest_dir):
    """Copies the binary once per test session, so a rebuild during the run
    cannot swap versions (or a half-linked file) under the tests."""
    global _snapshot
    src = os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)
    if not os.access(src, os.X_OK):
        return None
    dest = os.path.join(str(dest_dir), "switchboard")
    shutil.copy2(src, dest)
    r = subprocess.run([dest, "--version"], capture_output=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"{src} --version failed ({r.returncode}); is it being rebuilt?")
    _snapshot = dest
    return dest


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return toml_str(v)


class Switchboard:
    def __init__(self, workdir, server=None, *, domain=GW_DOMAIN, secret=None, allow=("*@localhost",),
                 admins=("admin@localhost",), loopback=None, xmpp=None, xmpp_port=None, log_level="debug",
                 mqtt=None, mqtt_devices=(), mqtt_allow=None, with_loopback=True, extra=None,
                 http_port=None):
        """`server` gives the component port and the domain's secret unless
        `xmpp_port` / `secret` override them (the fake server of test 8).
        `loopback` and `xmpp` are extra keys for [[loopback]] and [xmpp].
        `mqtt` (a dict of keys, at least `broker`) adds an [[mqtt]] block on
        MQTT_DOMAIN (secret from `server`, allow = `mqtt_allow` or `allow`), with one
        [[mqtt.device]] table per dict in `mqtt_devices`; `with_loopback=False`
        leaves the [[loopback]] block out. `extra` is TOML text appended as is
        (the [[irc]] and [[sms]] blocks of their tests); `http_port` fixes the
        [http] port (e.g. for an SMS public_url), else a free one is taken."""
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.domain = domain
        self.secret = secret if secret is not None else server.components[domain]
        self.xmpp_port = xmpp_port if xmpp_port is not None else server.component_port
        self.http_port = http_port if http_port is not None else util.free_port()
        self.config_path = os.path.join(self.workdir, "switchboard.toml")
        self.log_path = os.path.join(self.workdir, "switchboard.log")
        self.proc = None
        self.starts = 0
        lines = ["[xmpp]", f"host = {toml_str(HOST)}", f"port = {self.xmpp_port}"]
        lines += [f"{k} = {toml_value(v)}" for k, v in (xmpp or {}).items()]
        lines += ["", "[storage]", f"path = {toml_str(os.path.join(self.workdir, 'switchboard.sqlite'))}",
                  "", "[http]", f"listen = {toml_str(f'{HOST}:{self.http_port}')}",
                  "", "[log]", f"level = {toml_str(log_level)}",
                  "", "[admins]", f"jids = {toml_value(list(admins))}"]
        if with_loopback:
            lines += ["", "[[loopback]]", f"domain = {toml_str(domain)}", f"secret = {toml_str(self.secret)}",
                      f"allow = {toml_value(list(allow))}"]
            lines += [f"{k} = {toml_value(v)}" for k, v in (loopback or {}).items()]
        self.mqtt_domain = MQTT_DOMAIN if mqtt is not None else None
        if mqtt is not None:
            if not with_loopback:
                self.domain = MQTT_DOMAIN
            lines += ["", "[[mqtt]]", f"domain = {toml_str(MQTT_DOMAIN)}",
                      f"secret = {toml_str(server.components[MQTT_DOMAIN])}",
                      f"allow = {toml_value(list(mqtt_allow if mqtt_allow is not None else allow))}"]
            lines += [f"{k} = {toml_value(v)}" for k, v in mqtt.items()]
            for dev in mqtt_devices:
                lines += ["", "[[mqtt.device]]"] + [f"{k} = {toml_value(v)}" for k, v in dev.items()]
        if extra:
            lines += ["", extra]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def check_config(self):
        """(exit code, output) of `switchboard --check-config` on this config."""
        r = subprocess.run([binary(), "--check-config", self.config_path], capture_output=True, text=True,
                           timeout=20)
        return r.returncode, r.stdout + r.stderr

    # -- lifecycle ---------------------------------------------------------
    def start(self, wait_healthy=True, timeout=20):
        assert not self.alive(), "switchboard already running"
        with open(self.log_path, "ab") as f:
            f.write(f"===== harness: start #{self.starts + 1} =====\n".encode())
        self.proc = util.spawn([binary(), "--config", self.config_path], self.log_path, cwd=self.workdir)
        self.starts += 1
        util.register_log("switchboard", self.log_path)
        if wait_healthy:
            self.wait_healthy(timeout)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, limit=5.0):
        """SIGTERM; returns (exit code, seconds taken). If it has not exited within
        `limit` (SPEC §1: graceful stop within 5 s) it is killed and AssertionError raised."""
        assert self.alive(), "switchboard is not running"
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            util.kill_group(self.proc)
            raise AssertionError(f"switchboard did not exit within {limit}s of SIGTERM")
        elapsed = time.monotonic() - t0
        util.kill_group(self.proc)  # reaps nothing left, forgets the process
        return rc, elapsed

    def kill(self):
        """kill -9."""
        if self.proc is not None:
            util.kill_group(self.proc)

    def restart(self, wait_healthy=True):
        """Graceful stop (asserting exit 0 within 5 s), then start on the same config and storage."""
        rc, _ = self.terminate()
        assert rc == 0, f"switchboard exited {rc} on SIGTERM"
        return self.start(wait_healthy=wait_healthy)

    def cleanup(self):
        if self.alive():
            try:
                self.terminate()
            except AssertionError:
                pass
        self.kill()
        util.unregister_log("switchboard")

    # -- observation ---------------------------------------------------------
    def healthz(self):
        """(HTTP status, parsed JSON or None); (None, None) if nothing answers."""
        url = f"http://{HOST}:{self.http_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except (urllib.error.URLError, OSError):
            return None, None
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    def wait_healthy(self, timeout=20):
        def ok():
            if not self.alive():
                raise RuntimeError(f"switchboard exited with {self.proc.returncode} while starting")
            return self.healthz()[0] == 200
        util.wait_for(ok, timeout, interval=0.1, what="switchboard /healthz to return 200")

    def component_health(self, domain=None):
        _, doc = self.healthz()
        return (doc or {}).get("components", {}).get(domain or self.domain)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def wait_log(self, pattern, timeout=10, count=1, flags=re.IGNORECASE):
        """Waits until `pattern` matches at least `count` log lines; returns the matching lines."""
        rx = re.compile(pattern, flags)

        def found():
            lines = [ln for ln in self.log().splitlines() if rx.search(ln)]
            return lines if len(lines) >= count else None
        return util.wait_for(found, timeout, interval=0.1, what=f"{count} log line(s) matching {pattern!r}")
