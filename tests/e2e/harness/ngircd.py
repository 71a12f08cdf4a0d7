"""A real ngIRCd 26 (Debian's /usr/sbin/ngircd) on a free loopback port, for the
IRC transport's tests (SPEC §7), the demo and the IRC bench. It runs in the
foreground (`ngircd -n -f CONF`, so the PID we hold is the server's) with a config
written into its own dir: no PAM, no IDENT or DNS look-ups (a connection is
registered at once, without a 'Looking up your hostname' pause), no per-IP
connection limit, unlimited joins, 30-character nicks, an IRC operator account
(`OPER oper operpass`, for kicks and the flood exemption +F) and a short ping
timeout so a dead client is noticed quickly. No PidFile: run as root, ngIRCd
drops to user nobody, who cannot write into pytest's 0700 temp dirs, and with -n
the PID we spawned is the server's own. kill() is kill -9; start() after
stop() or kill() comes back on the same port, as a restarted server would.

Keys are those of ngircd.conf(5) of ngIRCd 26.1 (the installed version);
`configtest()` runs `ngircd --configtest` on the written file."""
import os
import subprocess

from . import util
from .servers import HOST

NGIRCD = "/usr/sbin/ngircd"
SERVER_NAME = "irc.test"
OPER_NAME = "oper"
OPER_PASSWORD = "operpass"

CONFIG = """\
# written by tests/e2e/harness/ngircd.py
[Global]
Name = {name}
Info = switchboard test server
Listen = {host}
Ports = {port}
AdminInfo1 = switchboard tests
AdminInfo2 = loopback
AdminEMail = root@localhost
MotdPhrase = switchboard test server
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxListSize = 1000
PingTimeout = {ping_timeout}
PongTimeout = {pong_timeout}
{limits}
[Options]
PAM = no
Ident = no
DNS = no
# An IRC operator may set channel modes without being a channel op (tests that op someone).
OperCanUseMode = yes
OperChanPAutoOp = yes
MorePrivacy = no
ScrubCTCP = no
{options}
[Operator]
Name = {oper_name}
Password = {oper_password}
{extra}
"""


class Ngircd(util.ManagedServer):
    name = "ngircd"

    def __init__(self, workdir, port=None, *, server_name=SERVER_NAME, max_penalty_time=None,
                 ping_timeout=30, pong_timeout=20, extra="", options=""):
        """`max_penalty_time=0` switches ngIRCd's penalty (flood) delays off (the bench);
        `extra` is appended as is (e.g. [Channel] blocks), `options` goes into [Options]."""
        super().__init__(workdir, port)
        self.server_name = server_name
        self.config_path = os.path.join(self.workdir, "ngircd.conf")
        self.log_path = os.path.join(self.workdir, "ngircd.log")
        limits = f"MaxPenaltyTime = {max_penalty_time}" if max_penalty_time is not None else ""
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(name=server_name, host=HOST, port=self.port, workdir=self.workdir,
                                  ping_timeout=ping_timeout, pong_timeout=pong_timeout, limits=limits,
                                  options=options, oper_name=OPER_NAME, oper_password=OPER_PASSWORD,
                                  extra=extra))

    @property
    def host(self):
        return HOST

    def configtest(self):
        """(exit code, output) of `ngircd --configtest` on this config."""
        r = subprocess.run([NGIRCD, "--configtest", "-f", self.config_path], capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout + r.stderr

    def _argv(self):
        # -n: foreground, logging to stdout/stderr (our log file); -p: no server links.
        return [NGIRCD, "-n", "-p", "-f", self.config_path]
