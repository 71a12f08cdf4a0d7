"""What every XMPP server fixture offers, whatever the implementation."""
import os

HOST = "127.0.0.1"
XMPP_DOMAIN = "localhost"
PASSWORD = "password"
# Accounts every server gets: a user, a second user, an admin (SPEC [admins]).
ACCOUNTS = ("alice", "bob", "admin")
# Component domains every server declares (XEP-0114), with their secrets.
GW_DOMAIN = "gw.localhost"
GW_SECRET = "gw-s3cret"
# The MQTT transport's domain (tests/e2e/test_mqtt.py).
MQTT_DOMAIN = "mqtt.localhost"
MQTT_SECRET = "mqtt-s3cret"
# The IRC transport's domain (tests/e2e/test_irc.py).
IRC_DOMAIN = "irc.localhost"
IRC_SECRET = "irc-s3cret"
# The SMS transport's domain (tests/e2e/test_sms.py).
SMS_DOMAIN = "sms.localhost"
SMS_SECRET = "sms-s3cret"
COMPONENTS = {GW_DOMAIN: GW_SECRET, MQTT_DOMAIN: MQTT_SECRET, IRC_DOMAIN: IRC_SECRET, SMS_DOMAIN: SMS_SECRET}


class XmppServer:
    """Base: ports, accounts, lifecycle. Subclasses implement _start/_stop/_kill/_register."""
    name = "server"

    def __init__(self, workdir, components=None):
        from .util import free_port
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.components = dict(components or COMPONENTS)
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.proc = None
        self.accounts = {}

    def jid(self, user):
        return f"{user}@{XMPP_DOMAIN}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid if self.proc else None

    def wait_ports_closed(self, timeout=10):
        """After a kill the main thread shows as a zombie while the other threads
        still hold the listening sockets: wait until the ports really refuse, or
        a restart's readiness probe would talk to the dying process."""
        from .util import wait_port_closed
        for port in (self.c2s_port, self.component_port):
            wait_port_closed(port, timeout)

    def kill(self):
        """kill -9 of the server's whole process group (for ejabberd: runuser,
        ejabberdctl and beam.smp), as a crash would."""
        from .util import kill_group
        if self.proc is None:
            return
        kill_group(self.proc)
        self.proc = None
        self.wait_ports_closed()
