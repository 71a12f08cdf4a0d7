#!/usr/bin/python3
"""A working local demo: Prosody on loopback with demo accounts, switchboard
connected to it, and how to log in with any XMPP client. Ctrl-C stops it all.

Besides Prosody: mosquitto with a simulated thermostat (scripts/demo_device.py) for
the MQTT gateway, and a local ngIRCd on 127.0.0.1 with a channel #demo where an IRC
bot (scripts/demo_ircbot.py) talks now and then, for the IRC gateway on
irc.localhost (when the binary has the IRC transport built in). For the SMS gateway
on sms.localhost, a fake SMS provider speaking Twilio's API
(tests/e2e/harness/fake_sms_provider.py) in this process: alice owns +15550001111,
and a bot answers every text she sends.

Reuses the end-to-end harness (tests/e2e/harness) so the demo and the tests start
servers the same way. Prefers the standard ports (5222 for clients, 5347 for
components) so a client needs no port setting; falls back to free ones.
"""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import util  # noqa: E402
from harness.fake_sms_provider import FakeSmsProvider  # noqa: E402
from harness.mosquitto import Mosquitto  # noqa: E402
from harness.ngircd import Ngircd  # noqa: E402
from harness.prosody import ProsodyServer  # noqa: E402
from harness.servers import GW_DOMAIN, IRC_DOMAIN, IRC_SECRET, MQTT_DOMAIN, PASSWORD  # noqa: E402
from harness.servers import SMS_DOMAIN, SMS_SECRET  # noqa: E402
from harness.switchboard import Switchboard, toml_str  # noqa: E402

DEVICE = "thermostat"
IRC_CHANNEL = "#demo"
IRC_BOT = "demobot"
ALICE_NUMBER = "+15550001111"   # alice's phone number at the (fake) SMS provider
SMS_BOT = "+15557654321"        # any number works: the fake provider's bot answers every text

WORK = os.path.join(ROOT, ".demo")


def pick(preferred):
    return preferred if not util.port_open(preferred) else util.free_port()


def irc_block(port):
    """The [[irc]] block: the local ngIRCd as server "127.0.0.1", so a room is
    #demo%127.0.0.1@irc.localhost (Biboumi's address form, SPEC §7)."""
    return "\n".join([
        "[[irc]]", f"domain = {toml_str(IRC_DOMAIN)}", f"secret = {toml_str(IRC_SECRET)}",
        'allow = ["*@localhost"]', 'realname = "switchboard demo user"',
        '  [irc.servers."127.0.0.1"]', '  host = "127.0.0.1"', f"  port = {port}", "  tls = false"]) + "\n"


def sms_block(fake, public_url):
    """The [[sms]] block: provider "twilio" pointed at the local fake provider; alice
    owns ALICE_NUMBER. Twilio signs its webhooks over public_url (SPEC §8)."""
    return "\n".join([
        "[[sms]]", f"domain = {toml_str(SMS_DOMAIN)}", f"secret = {toml_str(SMS_SECRET)}", 'allow = ["*@localhost"]',
        'provider = "twilio"', f"api_base = {toml_str(fake.url)}", f"account = {toml_str(fake.account)}",
        f"token = {toml_str(fake.token)}", 'webhook = "/sms/twilio"', f"public_url = {toml_str(public_url)}",
        "  [[sms.numbers]]", f"  number = {toml_str(ALICE_NUMBER)}", '  owner = "alice@localhost"']) + "\n"


def make_switchboard(prosody, broker, irc_port, sms_extra, http_port):
    """switchboard with the MQTT, loopback and (if built in) IRC and SMS gateways;
    returns (Switchboard, whether IRC is on, whether SMS is on)."""
    blocks = {"irc": irc_block(irc_port), "sms": sms_extra}

    def build():
        return Switchboard(os.path.join(WORK, "switchboard"), prosody, log_level="info", http_port=http_port,
                           loopback={"emit_interval_ms": 500},
                           mqtt={"broker": broker.url, "client_id": "switchboard-demo"},
                           mqtt_devices=[{"name": "Demo thermostat", "jid": "{id}", "state": "home/{id}/state",
                                          "command": "home/{id}/set", "availability": "home/{id}/status",
                                          "format": "json",
                                          "body": "{/temperature} °C, {/humidity} % humidity, {/state}",
                                          "subscribers": ["alice@localhost"], "qos": 1}],
                           extra="\n".join(blocks.values()) or None)
    sb = build()
    rc, out = sb.check_config()
    missing = [k for k in blocks if f"transport '{k}' is not built into this switchboard" in out]
    for k in missing:
        print(f"note: this switchboard has no {k.upper()} transport built in; the {k.upper()} part of the demo is off",
              file=sys.stderr)
        del blocks[k]
    if missing:
        sb = build()
    return sb, "irc" in blocks, "sms" in blocks


def main():
    os.environ.setdefault("SWITCHBOARD_BIN", os.path.join(ROOT, "build", "switchboard"))
    os.makedirs(WORK, exist_ok=True)
    prosody = ProsodyServer(os.path.join(WORK, "prosody"))
    prosody.c2s_port = pick(5222)
    prosody.component_port = pick(5347)
    prosody._write_config()
    prosody.start()
    for user in ("alice", "bob", "admin"):
        prosody.register(user, PASSWORD)
    broker = Mosquitto(os.path.join(WORK, "mosquitto"), port=pick(1883))
    broker.start()
    device = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "demo_device.py"), "--host", "127.0.0.1",
                               "--port", str(broker.port), "--id", DEVICE],
                              stdout=open(os.path.join(WORK, "device.log"), "w"), stderr=subprocess.STDOUT)
    ircd = Ngircd(os.path.join(WORK, "ngircd"), port=pick(6667), server_name="irc.demo")
    ircd.start()
    bot = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "demo_ircbot.py"), "--host", "127.0.0.1",
                            "--port", str(ircd.port), "--channel", IRC_CHANNEL, "--nick", IRC_BOT],
                           stdout=open(os.path.join(WORK, "ircbot.log"), "w"), stderr=subprocess.STDOUT)
    # A fake SMS provider speaking Twilio's API on loopback: it "sends" what switchboard
    # posts, calls back "sent" then "delivered" (receipts), and its bot answers every
    # text with "you said: ..." through a signed webhook to switchboard's [http].
    http_port = util.free_port()
    public_url = f"http://127.0.0.1:{http_port}/sms/twilio"
    sms = FakeSmsProvider("twilio", webhook_url=public_url, bot=True, bot_delay=1.0,
                          auto_status=("sent", "delivered"), status_delay=0.5).start()
    sb, with_irc, with_sms = make_switchboard(prosody, broker, ircd.port, sms_block(sms, public_url), http_port)

    def stop_helpers():
        sms.stop()
        for proc in (device, bot):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        ircd.stop()
        broker.stop()
        prosody.stop()
    try:
        sb.start()
    except Exception:
        print(util.tail(sb.log_path), file=sys.stderr)
        stop_helpers()
        raise
    room = f"{IRC_CHANNEL}%127.0.0.1@{IRC_DOMAIN}"
    irc_help = f"""
  - IRC: join the room {room} with any nickname (in Gajim/Dino "Join group chat", in
    profanity '/join {room}'). The local ngIRCd on 127.0.0.1:{ircd.port} has the bot {IRC_BOT} in
    {IRC_CHANNEL}: it is the channel operator (a moderator in your occupant list), greets you, talks every
    ~20 s and answers "{IRC_BOT}: ping" and "{IRC_BOT}: time". Chat privately with
    {IRC_BOT}%127.0.0.1@{IRC_DOMAIN}; a message to 127.0.0.1@{IRC_DOMAIN} is sent as one raw IRC line
    (e.g. "TOPIC {IRC_CHANNEL} :new topic"). Any IRC client can join too: irc://127.0.0.1:{ircd.port}/{IRC_CHANNEL[1:]}""" \
        if with_irc else "\n  - (IRC: not built into this switchboard binary)"
    sms_help = f"""
  - SMS: register with {SMS_DOMAIN} (no fields needed: alice owns {ALICE_NUMBER} in the config). Text
    {SMS_BOT}@{SMS_DOMAIN} (any +E.164 number works; the gateway's XEP-0100 prompt turns "+1 555 765 4321"
    into that address): the fake provider "sends" it, reports it delivered (a XEP-0184 receipt when your
    client asks for one), and its bot answers "you said: ..." through a signed Twilio webhook.
    What the provider received: {sms.url}/_fake/messages""" \
        if with_sms else "\n  - (SMS: not built into this switchboard binary)"
    print(f"""
switchboard demo is running (logs: {sb.log_path}, {prosody.log_path})

  XMPP server     Prosody on 127.0.0.1:{prosody.c2s_port} (no TLS; plain login allowed on loopback)
  accounts        alice@localhost, bob@localhost, admin@localhost   password: {PASSWORD}
  gateways        {MQTT_DOMAIN}  (MQTT: mosquitto on 127.0.0.1:{broker.port}, one simulated device)
                  {GW_DOMAIN}  (the loopback test transport: echo, counter)
                  {IRC_DOMAIN + "  (IRC: ngIRCd on 127.0.0.1:" + str(ircd.port) + ", channel " + IRC_CHANNEL + ")"
                   if with_irc else "(" + IRC_DOMAIN + ": IRC transport not built in)"}
                  {SMS_DOMAIN + "  (SMS: a fake Twilio on " + sms.url + "; alice's number is " + ALICE_NUMBER + ")"
                   if with_sms else "(" + SMS_DOMAIN + ": SMS transport not built in)"}
  health          http://127.0.0.1:{sb.http_port}/healthz     metrics: http://127.0.0.1:{sb.http_port}/metrics

Log in with any XMPP client (Gajim, Dino, Profanity, Conversations on this machine) as
alice@localhost, server 127.0.0.1 port {prosody.c2s_port}, and allow unencrypted connections. Then:
  - Register with {MQTT_DOMAIN} (service discovery, or any client's "register" action; no fields needed).
    alice is configured as a subscriber of {DEVICE}@{MQTT_DOMAIN}: its readings arrive every few seconds.
    Add {DEVICE}@{MQTT_DOMAIN} to your roster to see it online; send it "on", "off" or "toggle".
    The ad-hoc command "devices" on {MQTT_DOMAIN} lists the devices with their last state.
  - Service discovery on {GW_DOMAIN}: the gateway, its features and commands; register there.
  - Chat with echo@{GW_DOMAIN}: everything you send comes back.
  - Send "5" to counter@{GW_DOMAIN}: it counts to five, one message every half second.
  - Send "down" / "up" to backend@{GW_DOMAIN}: the gateway's presence follows.
  - As admin@localhost: ad-hoc commands on {GW_DOMAIN} list users and show statistics.{irc_help}{sms_help}
For example with profanity:  profanity -a alice   (after '/account add alice', '/account set alice jid alice@localhost',
  '/account set alice server 127.0.0.1', '/account set alice port {prosody.c2s_port}', '/account set alice tls allow')

Ctrl-C stops everything.""", flush=True)
    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop["now"] and sb.alive() and prosody.alive():
            time.sleep(0.5)
    finally:
        print("\nstopping...", flush=True)
        sb.cleanup()
        stop_helpers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
