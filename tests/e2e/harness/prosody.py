"""A real Prosody 0.12, run in the foreground from a config written into a temp dir."""
import os
import subprocess

from . import util
from .servers import HOST, XMPP_DOMAIN, XmppServer

CONFIG = """\
-- written by tests/e2e/harness/prosody.py
run_as_root = true                      -- the harness runs as root; keep the PID we started
pidfile = "{workdir}/prosody.pid"
data_path = "{workdir}/data"
certificates = "{workdir}/certs"
interfaces = {{ "{host}" }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
component_ports = {{ {component_port} }}
component_interfaces = {{ "{host}" }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
log = {{ {{ levels = {{ min = "{level}" }}, to = "file", filename = "{workdir}/prosody.log" }} }}
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
-- No mod_limits: it caps a client at a few dozen stanzas per second.
modules_enabled = {{ "roster", "saslauth", "disco", "ping", "presence", "offline", "posix", "version" }}
modules_disabled = {{ "s2s", "limits", "tls" }}

VirtualHost "{domain}"
{components}
"""


class ProsodyServer(XmppServer):
    name = "prosody"

    def __init__(self, workdir, components=None, log_level="info"):
        super().__init__(workdir, components)
        self.config_path = os.path.join(self.workdir, "prosody.cfg.lua")
        self.log_path = os.path.join(self.workdir, "prosody.log")
        self.stdout_path = os.path.join(self.workdir, "prosody.stdout")
        self.log_level = log_level
        os.makedirs(os.path.join(self.workdir, "data"), exist_ok=True)
        os.makedirs(os.path.join(self.workdir, "certs"), exist_ok=True)
        self._write_config()

    def _write_config(self):
        comps = "".join(f'Component "{d}"\n  component_secret = "{s}"\n' for d, s in self.components.items())
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(workdir=self.workdir, host=HOST, c2s_port=self.c2s_port,
                                  component_port=self.component_port, level=self.log_level,
                                  domain=XMPP_DOMAIN, components=comps))

    def start(self, timeout=20):
        assert not self.alive(), "prosody already running"
        self.proc = util.spawn(["prosody", "-F", "--config", self.config_path], self.stdout_path)
        util.register_log("prosody", self.log_path)
        try:
            util.wait_ports([self.c2s_port, self.component_port], timeout, self.proc, "prosody")
        except Exception:
            self.kill()
            raise
        return self

    def register(self, user, password):
        # prosodyctl writes the account file into data_path; works whether or not
        # the server runs (internal_plain storage is read on each login).
        r = subprocess.run(["prosodyctl", "--config", self.config_path, "register", user, XMPP_DOMAIN, password],
                           capture_output=True, text=True, timeout=30)
        acct = os.path.join(self.workdir, "data", XMPP_DOMAIN, "accounts", f"{user}.dat")
        if not os.path.exists(acct):
            raise RuntimeError(f"prosodyctl register {user} failed: rc={r.returncode} {r.stdout} {r.stderr}")
        self.accounts[user] = password

    def stop(self, timeout=10):
        """Graceful stop (SIGTERM), then SIGKILL; bounded."""
        if self.proc is None:
            return
        util.stop_group(self.proc, term_timeout=timeout)
        self.proc = None
        self.wait_ports_closed()


    def cleanup(self):
        self.stop()

    def checkpoint(self):
        """Makes everything so far durable against kill -9: Prosody writes its
        account and offline files synchronously, so nothing to do."""
