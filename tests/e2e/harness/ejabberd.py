"""A real ejabberd 23.01, run in the foreground as the `ejabberd` user from a
config written into a temp dir. Erlang distribution goes straight to a per-start
port on loopback (ERL_DIST_PORT: no epmd), with a cookie per instance."""
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

from . import util
from .servers import HOST, XMPP_DOMAIN, XmppServer

CONFIG = """\
# written by tests/e2e/harness/ejabberd.py
loglevel: {level}
hosts:
  - "{domain}"
listen:
  -
    port: {c2s_port}
    ip: "{host}"
    module: ejabberd_c2s
    starttls_required: false
    max_stanza_size: 1048576
  -
    port: {component_port}
    ip: "{host}"
    module: ejabberd_service
    hosts:
{components}
auth_method: internal
auth_password_format: plain
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
shaper_rules:
  max_user_sessions: 10
  # Test 7 parks thousands of messages offline; the shipped default is 100.
  max_user_offline_messages: 100000
  # No c2s shaper: the tests stream thousands of stanzas per second.
  c2s_shaper: none
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_version: {{}}
  mod_offline:
    access_max_user_messages: max_user_offline_messages
"""

CTL_CONFIG = """\
ERL_OPTIONS="-setcookie {cookie} -env ERL_CRASH_DUMP_BYTES 0"
ERL_DIST_PORT={dist_port}
INET_DIST_INTERFACE={host}
EJABBERD_PID_PATH={workdir}/ejabberd.pid
"""


class EjabberdServer(XmppServer):
    name = "ejabberd"

    def __init__(self, workdir=None, components=None, log_level="info"):
        # The ejabberd user must reach its files, and pytest's base temp dir is 0700
        # root: so the instance lives in its own /tmp dir, removed by cleanup().
        self._own_dir = tempfile.mkdtemp(prefix="sb-e2e-ejabberd-")
        os.chmod(self._own_dir, 0o755)
        super().__init__(self._own_dir, components)
        self.log_level = log_level
        self.node = f"ejabberd_{self.c2s_port}@localhost"
        self.cookie = secrets.token_hex(12)
        self.config_path = os.path.join(self.workdir, "ejabberd.yml")
        self.ctl_config_path = os.path.join(self.workdir, "ejabberdctl.cfg")
        self.logs_dir = os.path.join(self.workdir, "logs")
        self.spool_dir = os.path.join(self.workdir, "spool")
        self.log_path = os.path.join(self.logs_dir, "ejabberd.log")
        self.stdout_path = os.path.join(self.workdir, "ejabberd.stdout")
        for d in (self.logs_dir, self.spool_dir):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.workdir, "inetrc"), "w") as f:
            f.write("{lookup, [file, native]}.\n")
        comps = "".join(f'      "{d}":\n        password: "{s}"\n' for d, s in self.components.items())
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(level=log_level, domain=XMPP_DOMAIN, host=HOST, c2s_port=self.c2s_port,
                                  component_port=self.component_port, components=comps))
        self._chown()

    def _chown(self):
        pw = pwd.getpwnam("ejabberd")
        for root, dirs, files in os.walk(self.workdir):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)

    def _write_ctl_config(self):
        # A fresh distribution port per start: after a kill -9 the old one may linger.
        with open(self.ctl_config_path, "w") as f:
            f.write(CTL_CONFIG.format(cookie=self.cookie, dist_port=util.free_port(), host=HOST,
                                      workdir=self.workdir))
        self._chown()

    def _ctl_argv(self, *args):
        return ["runuser", "-u", "ejabberd", "--", "env", f"HOME={self.workdir}",
                "ejabberdctl", "--config-dir", self.workdir, "--config", self.config_path,
                "--ctl-config", self.ctl_config_path, "--logs", self.logs_dir, "--spool", self.spool_dir,
                "--node", self.node, *args]

    def ctl(self, *args, timeout=60):
        return subprocess.run(self._ctl_argv(*args), capture_output=True, text=True, timeout=timeout,
                              cwd=self.workdir)

    def start(self, timeout=60):
        assert not self.alive(), "ejabberd already running"
        self._write_ctl_config()
        env = dict(os.environ, ERL_EPMD_ADDRESS=HOST)
        self.proc = util.spawn(self._ctl_argv("foreground"), self.stdout_path, env=env, cwd=self.workdir)
        util.register_log("ejabberd", self.log_path)
        try:
            util.wait_ports([self.c2s_port, self.component_port], timeout, self.proc, "ejabberd")
        except Exception:
            self.kill()
            raise
        return self

    def register(self, user, password):
        r = self.ctl("register", user, XMPP_DOMAIN, password)
        if r.returncode != 0 and "already registered" not in (r.stdout + r.stderr):
            raise RuntimeError(f"ejabberdctl register {user} failed: rc={r.returncode} {r.stdout} {r.stderr}")
        self.accounts[user] = password

    def stop(self, timeout=20):
        """`ejabberdctl stop`, then SIGTERM, then SIGKILL of the group we started; bounded."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.ctl("stop", timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        util.stop_group(self.proc, term_timeout=5)
        self.proc = None
        self.wait_ports_closed()


    def checkpoint(self):
        """Makes everything so far durable against kill -9: Mnesia may still hold
        a just-registered account in its log buffer, so stop cleanly and start."""
        self.stop()
        self.start()

    def cleanup(self):
        self.stop()
        if not os.environ.get("SB_E2E_KEEP"):
            shutil.rmtree(self._own_dir, ignore_errors=True)
