"""Protocol helpers over Client.iq: disco, XEP-0077 registration, XEP-0050 commands.
They return parsed values; the raw reply element is kept where tests need it."""
import xml.etree.ElementTree as ET

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_REGISTER = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"


def expect_result(reply):
    assert reply.get("type") == "result", f"expected a result, got {ET.tostring(reply, encoding='unicode')}"
    return reply


def disco_info(client, jid, node=None):
    """(identities as {(category, type)}, features as a set, reply)."""
    attr = f" node='{node}'" if node else ""
    reply = expect_result(client.iq(jid, "get", f"<query xmlns='{NS_DISCO_INFO}'{attr}/>"))
    q = reply.find(f"{{{NS_DISCO_INFO}}}query")
    identities = {(i.get("category"), i.get("type")) for i in q.findall(f"{{{NS_DISCO_INFO}}}identity")}
    features = {f.get("var") for f in q.findall(f"{{{NS_DISCO_INFO}}}feature")}
    return identities, features, reply


def disco_items(client, jid, node=None):
    """[(jid, node, name)]."""
    attr = f" node='{node}'" if node else ""
    reply = expect_result(client.iq(jid, "get", f"<query xmlns='{NS_DISCO_ITEMS}'{attr}/>"))
    q = reply.find(f"{{{NS_DISCO_ITEMS}}}query")
    return [(i.get("jid"), i.get("node"), i.get("name")) for i in q.findall(f"{{{NS_DISCO_ITEMS}}}item")]


def _form(ftype, form_type, fields):
    x = ET.Element(f"{{{NS_DATA}}}x", {"type": ftype})
    if form_type:
        f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": "FORM_TYPE", "type": "hidden"})
        ET.SubElement(f, f"{{{NS_DATA}}}value").text = form_type
    for var, value in fields.items():
        f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": var})
        ET.SubElement(f, f"{{{NS_DATA}}}value").text = value
    return x


def form_values(x):
    """{var: value or [values]} of a XEP-0004 form element."""
    out = {}
    for f in x.findall(f"{{{NS_DATA}}}field"):
        values = [v.text or "" for v in f.findall(f"{{{NS_DATA}}}value")]
        out[f.get("var")] = values[0] if len(values) == 1 else values
    return out


def register(client, domain, **fields):
    """XEP-0077 §3.1 with a XEP-0004 form (the SPEC §4 way); returns the reply."""
    q = ET.Element(f"{{{NS_REGISTER}}}query")
    q.append(_form("submit", NS_REGISTER, fields))
    return client.iq(domain, "set", ET.tostring(q, encoding="unicode"))


def registration(client, domain):
    """(registered?, {field: value}) from a registration get: form values and legacy fields."""
    reply = expect_result(client.iq(domain, "get", f"<query xmlns='{NS_REGISTER}'/>"))
    q = reply.find(f"{{{NS_REGISTER}}}query")
    registered = q.find(f"{{{NS_REGISTER}}}registered") is not None
    values = {}
    for child in q:
        local = child.tag.split("}", 1)[1]
        if child.tag.startswith(f"{{{NS_REGISTER}}}") and local not in ("registered", "instructions"):
            values[local] = child.text or ""
    x = q.find(f"{{{NS_DATA}}}x")
    if x is not None:
        values.update({k: v for k, v in form_values(x).items() if k != "FORM_TYPE" and v not in ("", [])})
    return registered, values


def unregister(client, domain):
    return client.iq(domain, "set", f"<query xmlns='{NS_REGISTER}'><remove/></query>")


def execute_command(client, jid, node, fields=None):
    """XEP-0050: execute; if the command answers with a form to fill, submit it
    (with `fields`) once. Returns the last reply (result or error)."""
    reply = client.iq(jid, "set", f"<command xmlns='{NS_COMMANDS}' node='{node}' action='execute'/>")
    if reply.get("type") != "result":
        return reply
    cmd = reply.find(f"{{{NS_COMMANDS}}}command")
    if cmd is not None and cmd.get("status") == "executing":
        c = ET.Element(f"{{{NS_COMMANDS}}}command", {"node": node, "sessionid": cmd.get("sessionid", ""),
                                                        "action": "complete"})
        c.append(_form("submit", None, fields or {}))
        reply = client.iq(jid, "set", ET.tostring(c, encoding="unicode"))
    return reply


def text_of(elem):
    """Every text and attribute value under `elem`, for 'does the reply mention X' checks."""
    parts = []
    for e in elem.iter():
        parts.extend(e.attrib.values())
        if e.text:
            parts.append(e.text)
    return "\n".join(parts)

