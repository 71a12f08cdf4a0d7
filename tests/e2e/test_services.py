"""SPEC §4: what every component domain answers, from a real client through a
real server: disco, in-band registration (persisted), ping, version, unknown
namespaces, admin commands."""
from harness.client import error_condition, iq_error
from harness.servers import GW_DOMAIN
from harness.xep import (NS_COMMANDS, NS_VERSION, disco_info, disco_items, execute_command, register,
                         registration, text_of, unregister)


def test_disco_info_of_the_domain(switchboard, connect):
    identities, features, _ = disco_info(connect("alice"), GW_DOMAIN)
    assert ("gateway", "loopback") in identities
    for feature in ("jabber:iq:register", NS_COMMANDS, "urn:xmpp:ping", NS_VERSION,
                    "http://jabber.org/protocol/disco#info"):
        assert feature in features, f"{feature} missing from {sorted(features)}"


def test_registration_round_trip_survives_restart(switchboard, connect):
    alice = connect("alice")
    assert registration(alice, GW_DOMAIN)[0] is False
    reply = register(alice, GW_DOMAIN, nick="alice1")
    assert reply.get("type") == "result", iq_error(reply)
    registered, values = registration(alice, GW_DOMAIN)
    assert registered and values.get("nick") == "alice1", values

    switchboard.restart()  # SIGTERM -> exit 0 within 5 s, then start on the same storage
    registered, values = registration(alice, GW_DOMAIN)
    assert registered and values.get("nick") == "alice1", values

    assert unregister(alice, GW_DOMAIN).get("type") == "result"
    assert registration(alice, GW_DOMAIN)[0] is False


def test_registration_refuses_invalid_nick(switchboard, connect):
    alice = connect("alice")
    reply = register(alice, GW_DOMAIN, nick="has space")
    assert reply.get("type") == "error"
    condition, text = error_condition(reply)
    assert condition in ("not-acceptable", "bad-request")
    assert "space" in (text or ""), "the error should tell the user what is wrong"
    assert registration(alice, GW_DOMAIN)[0] is False


def test_ping_and_version(switchboard, connect):
    alice = connect("alice")
    assert alice.iq(GW_DOMAIN, "get", "<ping xmlns='urn:xmpp:ping'/>").get("type") == "result"
    reply = alice.iq(GW_DOMAIN, "get", f"<query xmlns='{NS_VERSION}'/>")
    assert reply.get("type") == "result"
    q = reply.find(f"{{{NS_VERSION}}}query")
    assert q.findtext(f"{{{NS_VERSION}}}name") == "switchboard"
    assert q.findtext(f"{{{NS_VERSION}}}version")


def test_unknown_iq_namespace_is_service_unavailable(switchboard, connect):
    alice = connect("alice")
    for itype in ("get", "set"):
        reply = alice.iq(GW_DOMAIN, itype, "<query xmlns='urn:example:no-such-thing'/>")
        assert reply.get("type") == "error"
        assert iq_error(reply) == "service-unavailable"


def list_users_node(client):
    items = disco_items(client, GW_DOMAIN, node=NS_COMMANDS)
    for _jid, node, name in items:
        key = f"{node} {name}".lower()
        if "list" in key and "user" in key:
            return node
    raise AssertionError(f"no list-users command among {items}")


def test_admin_lists_users_and_non_admin_is_forbidden(switchboard, connect):
    alice, admin, bob = connect("alice"), connect("admin"), connect("bob")
    assert register(alice, GW_DOMAIN, nick="alice1").get("type") == "result"

    node = list_users_node(admin)
    reply = execute_command(admin, GW_DOMAIN, node)
    assert reply.get("type") == "result", iq_error(reply)
    assert "alice@localhost" in text_of(reply)
    assert "bob@localhost" not in text_of(reply)

    reply = bob.iq(GW_DOMAIN, "set", f"<command xmlns='{NS_COMMANDS}' node='{node}' action='execute'/>")
    assert reply.get("type") == "error"
    assert iq_error(reply) == "forbidden"
