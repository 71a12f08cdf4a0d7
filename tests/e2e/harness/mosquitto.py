"""A real mosquitto (Debian's /usr/sbin/mosquitto) on a free loopback port, with
a config, a persistence file and a log in its own dir. stop() is graceful
(SIGTERM: mosquitto saves its persistence file), kill() is kill -9 (only what the
last autosave wrote survives; see checkpoint()). start() after either reuses the
same port and persistence, as a restarted broker would. Optional: `tls` makes the
listener TLS (a dict with cafile, certfile, keyfile, and require_certificate), and
`password_file` (made with mosquitto_passwd) turns anonymous access off."""
import os
import re

from . import util
from .servers import HOST

MOSQUITTO = "/usr/sbin/mosquitto"

CONFIG = """\
# written by tests/e2e/harness/mosquitto.py
listener {port} {host}
{listener_extra}allow_anonymous {anonymous}
{global_extra}# Started as root by the harness: stay root, so the 0700 pytest temp dir is writable.
user root
persistence true
persistence_location {workdir}/
persistence_file mosquitto.db
# Save every second (not every 30 min): a kill -9 then loses at most the last second,
# and checkpoint() can wait for a save it can see in the log.
autosave_interval 1
autosave_on_changes false
log_dest file {workdir}/mosquitto.log
log_type all
log_timestamp_format %H:%M:%S
connection_messages true
set_tcp_nodelay true
"""

_SAVE_RX = re.compile(r"Saving in-memory database")


class Mosquitto:
    name = "mosquitto"

    def __init__(self, workdir, port=None, tls=None, password_file=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port or util.free_port()
        self.config_path = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "mosquitto.log")
        self.stdout_path = os.path.join(self.workdir, "mosquitto.stdout")
        self.proc = None
        self.starts = 0
        self.tls = dict(tls) if tls else None
        # Listener-scoped lines go right after `listener` (mosquitto applies them to the last one).
        listener_extra = ""
        if self.tls:
            listener_extra = "".join(f"{k} {self.tls[k]}\n" for k in ("cafile", "certfile", "keyfile") if self.tls.get(k))
            if self.tls.get("require_certificate"):
                listener_extra += "require_certificate true\n"
        global_extra = f"password_file {password_file}\n" if password_file else ""
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(port=self.port, host=HOST, workdir=self.workdir, listener_extra=listener_extra,
                                  anonymous="false" if password_file else "true", global_extra=global_extra))

    @property
    def url(self):
        """The broker address as switchboard's `broker` key wants it."""
        return f"{'ssl' if self.tls else 'tcp'}://{HOST}:{self.port}"

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout=15):
        assert not self.alive(), "mosquitto already running"
        with open(self.log_path, "ab") as f:
            f.write(f"===== harness: start #{self.starts + 1} =====\n".encode())
        self.proc = util.spawn([MOSQUITTO, "-c", self.config_path], self.stdout_path, cwd=self.workdir)
        self.starts += 1
        util.register_log("mosquitto", self.log_path)
        try:
            util.wait_ports([self.port], timeout, self.proc, "mosquitto")
        except Exception:
            self.kill()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=10):
        """Graceful stop (SIGTERM: persistence saved), SIGKILL after `timeout`."""
        if self.proc is None:
            return None
        rc = util.stop_group(self.proc, term_timeout=timeout)
        self.proc = None
        util.wait_port_closed(self.port, 10)
        return rc

    def kill(self):
        """kill -9, as a crash would."""
        if self.proc is None:
            return
        util.kill_group(self.proc)
        self.proc = None
        util.wait_port_closed(self.port, 10)

    def restart(self):
        self.stop()
        return self.start()

    def checkpoint(self, timeout=10):
        """Waits for the next autosave of the persistence file, so that sessions and
        subscriptions made before this call survive a kill()."""
        before = self._saves()
        # The log line comes as a save starts; mosquitto saves on its one thread, so
        # the second line after this call proves a whole save of the state of now.
        util.wait_for(lambda: self._saves() >= before + 2, timeout, interval=0.1,
                      what="mosquitto to save its database")

    def cleanup(self):
        self.stop()
        util.unregister_log("mosquitto")

    # -- observation ---------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _saves(self):
        return len(_SAVE_RX.findall(self.log()))
