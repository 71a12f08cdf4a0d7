"""End-to-end harness: real XMPP servers, the built switchboard binary, and a
synchronous slixmpp client, all on free loopback ports in temp dirs."""
