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



# -- XEP-0045 multi-user chat (the IRC transport's rooms) ------------------------------
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"


def _xml_attr(s):
    return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")


def muc_join(client, room, nick, history_stanzas=None, password=None, raw_nick=None):
    """XEP-0045 §7.2: presence to room/nick carrying <x xmlns='…muc'/>. `raw_nick` is
    put into the 'to' attribute unescaped (character references allowed), for tests
    that send what a sloppy client would."""
    inner = ""
    if history_stanzas is not None:
        inner += f"<history maxstanzas='{int(history_stanzas)}'/>"
    if password is not None:
        inner += f"<password>{_xml_attr(password)}</password>"
    to = f"{room}/{raw_nick if raw_nick is not None else _xml_attr(nick)}"
    client.send_raw(f"<presence to='{to}'><x xmlns='{NS_MUC}'>{inner}</x></presence>")


def muc_leave(client, room, nick, status=None):
    st = f"<status>{_xml_attr(status)}</status>" if status else ""
    client.send_raw(f"<presence type='unavailable' to='{room}/{_xml_attr(nick)}'>{st}</presence>")


def muc_send(client, room, body=None, subject=None, raw_body=None):
    """A groupchat message to the room; `raw_body` goes in unescaped (character
    references such as '&#13;' allowed)."""
    parts = ""
    if subject is not None:
        parts += f"<subject>{_xml_attr(subject)}</subject>"
    if raw_body is not None:
        parts += f"<body>{raw_body}</body>"
    elif body is not None:
        parts += f"<body>{_xml_attr(body)}</body>"
    client.send_raw(f"<message to='{room}' type='groupchat'>{parts}</message>")


class MucUser:
    """The muc#user data of a presence: status codes and the one <item/>."""

    def __init__(self, x):
        self.codes = {int(s.get("code")) for s in x.findall(f"{{{NS_MUC_USER}}}status") if
                      (s.get("code") or "").isdigit()}
        item = x.find(f"{{{NS_MUC_USER}}}item")
        item = item if item is not None else ET.Element("item")
        self.affiliation = item.get("affiliation")
        self.role = item.get("role")
        self.jid = item.get("jid")
        self.nick = item.get("nick")
        reason = item.find(f"{{{NS_MUC_USER}}}reason")
        self.reason = reason.text if reason is not None else None
        actor = item.find(f"{{{NS_MUC_USER}}}actor")
        self.actor = actor.get("nick") if actor is not None else None

    def __repr__(self):
        return (f"<muc codes={sorted(self.codes)} aff={self.affiliation} role={self.role} nick={self.nick} "
                f"reason={self.reason!r}>")


def muc_user(rec):
    """MucUser of a recorded presence (harness.client.Record), or None without muc#user."""
    elem = ET.fromstring(rec.xml)
    x = elem.find(f"{{{NS_MUC_USER}}}x")
    return MucUser(x) if x is not None else None


def muc_subject(rec):
    """The <subject/> text of a recorded message ("" for an empty subject), or None."""
    elem = ET.fromstring(rec.xml)
    s = elem.find("{jabber:client}subject")
    if s is None:
        return None
    return s.text or ""


def resource_of(jid):
    return jid.split("/", 1)[1] if "/" in jid else ""


NS_GATEWAY = "jabber:iq:gateway"


def gateway_prompt(client, jid):
    """XEP-0100 §6.3 (jabber:iq:gateway) get: (desc, prompt) texts, or raises on an error reply."""
    reply = expect_result(client.iq(jid, "get", f"<query xmlns='{NS_GATEWAY}'/>"))
    q = reply.find(f"{{{NS_GATEWAY}}}query")
    return q.findtext(f"{{{NS_GATEWAY}}}desc"), q.findtext(f"{{{NS_GATEWAY}}}prompt")


def gateway_resolve(client, jid, text):
    """XEP-0100 §6.3 set: what the user typed -> (the JID the gateway answers or None, reply)."""
    q = ET.Element(f"{{{NS_GATEWAY}}}query")
    ET.SubElement(q, f"{{{NS_GATEWAY}}}prompt").text = text
    reply = client.iq(jid, "set", ET.tostring(q, encoding="unicode"))
    if reply.get("type") != "result":
        return None, reply
    rq = reply.find(f"{{{NS_GATEWAY}}}query")
    # XEP-0100 §6.3: <jid/>; servers written before 2005 answered in <prompt/>.
    found = rq.findtext(f"{{{NS_GATEWAY}}}jid") if rq is not None else None
    if found is None and rq is not None:
        found = rq.findtext(f"{{{NS_GATEWAY}}}prompt")
    return found, reply
