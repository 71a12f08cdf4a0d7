"""A tiny fake XMPP server for XEP-0114 misbehaviour tests: it accepts any
handshake, then sends whatever bytes the test chose. Records every connection
and everything the component sent on it."""
import re
import socket
import threading

from . import util

STREAM_HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                 "xmlns:stream='http://etherx.jabber.org/streams' from='{domain}' id='{sid}'>")


class FakeComponentServer:
    def __init__(self, after_handshake, domain):
        """`after_handshake`: bytes sent once the handshake is accepted."""
        self.after_handshake = after_handshake
        self.domain = domain
        self.port = util.free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = []  # list of bytearray: what the component sent on each
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            received = bytearray()
            with self.lock:
                self.connections.append(received)
            threading.Thread(target=self._serve, args=(conn, received, len(self.connections)), daemon=True).start()

    def _read_until(self, conn, received, pattern):
        rx = re.compile(pattern, re.S)
        while not rx.search(received):
            chunk = conn.recv(65536)
            if not chunk:
                return False
            with self.lock:
                received.extend(chunk)
        return True

    def _serve(self, conn, received, n):
        conn.settimeout(30)
        try:
            if not self._read_until(conn, received, rb"<stream:stream[^>]*>"):
                return
            conn.sendall(STREAM_HEADER.format(domain=self.domain, sid=f"fake{n}").encode())
            if not self._read_until(conn, received, rb"</handshake>|<handshake\s*/>"):
                return
            conn.sendall(b"<handshake/>")
            conn.sendall(self.after_handshake)
            # Keep reading what the component answers (a stream error, the close)
            # until it hangs up.
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                with self.lock:
                    received.extend(chunk)
        except OSError:
            return
        finally:
            conn.close()

    def connection_count(self):
        with self.lock:
            return len(self.connections)

    def received(self, i):
        with self.lock:
            return bytes(self.connections[i])

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(2)
