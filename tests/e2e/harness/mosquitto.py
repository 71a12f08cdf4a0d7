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


class Mosquitto(util.ManagedServer):
    name = "mosquitto"

    def __init__(self, workdir, port=None, tls=None, password_file=None):
        super().__init__(workdir, port)
        self.config_path = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "mosquitto.log")
        self.stdout_path = os.path.join(self.workdir, "mosquitto.stdout")
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

    def _argv(self):
        return [MOSQUITTO, "-c", self.config_path]

    def checkpoint(self, timeout=10):
        """Waits for the next autosave of the persistence file, so that sessions and
        subscriptions made before this call survive a kill()."""
        before = self._saves()
        # The log line comes as a save starts; mosquitto saves on its one thread, so
        # the second line after this call proves a whole save of the state of now.
        util.wait_for(lambda: self._saves() >= before + 2, timeout, interval=0.1,
                      what="mosquitto to save its database")

    # -- observation ---------------------------------------------------------
    def _saves(self):
        return len(_SAVE_RX.findall(self.log()))
