"""Clients that open a request and never finish it (slowloris), and a timed page load, against a server.

Shared by tests/webapp/test_slow_clients.py and benchmarks/slow_clients.py.
"""
import selectors
import socket
import ssl
import time
import urllib.request
from contextlib import contextmanager
from urllib.parse import urlsplit

# What each kind of slow client sends before it stops: nothing at all (over TLS: not even its handshake),
# part of a request head, or a whole head announcing a body it never sends. Browsers' own requests look the
# same up to the stall.
HALF_SENT = {
    "silent": b"",
    "head": b"GET / HTTP/1.1\r\nHost: vbg\r\nUser-Agent: slow",
    "body": b"POST /api/rooms HTTP/1.1\r\nHost: vbg\r\nContent-Type: application/json\r\n"
            b"Content-Length: 40\r\n\r\n{\"kind\": ",
}
CONNECT_TIMEOUT_S = 5.0
# Linux routes all of 127.0.0.0/8 to lo: slow clients on these source addresses are other machines to the
# server, and the page loads come from 127.0.0.1.
OTHER_LOOPBACK_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(2, 12))


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a test server's self-signed certificate
    return context


@contextmanager
def half_sent_requests(url: str, count: int, kind: str = "head", sources: tuple[str, ...] = ("127.0.0.1",)):
    """Open `count` connections to the server at `url` from the source addresses in turn, each stalled after
    HALF_SENT[kind]; closed on exit."""
    parts = urlsplit(url)
    context = _tls_context() if parts.scheme == "https" else None
    opened: list[socket.socket] = []
    try:
        for index in range(count):
            conn = socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT_S,
                                            source_address=(sources[index % len(sources)], 0))
            opened.append(conn)
            if context is not None and HALF_SENT[kind]:
                conn = context.wrap_socket(conn)  # the handshake completes: only the request is slow
                opened[-1] = conn
            if HALF_SENT[kind]:
                conn.sendall(HALF_SENT[kind])
        yield opened
    finally:
        for conn in opened:
            conn.close()


def timed_page_load(url: str, timeout_s: float) -> tuple[float, int | str]:
    """Seconds a GET of `url` took and its status, or the error's name when it did not answer in time."""
    context = _tls_context() if url.startswith("https:") else None
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            response.read()
            status: int | str = response.status
    except OSError as error:  # URLError, a timeout, a reset
        status = type(getattr(error, "reason", error)).__name__
    return time.perf_counter() - start, status


def closed_by_server(conns: list[socket.socket], wait_s: float) -> int:
    """How many of the connections the server answers or closes within wait_s (a refusal does either)."""
    closed = set()
    deadline = time.monotonic() + wait_s
    with selectors.DefaultSelector() as selector:
        for conn in conns:
            selector.register(conn, selectors.EVENT_READ)
        while len(closed) < len(conns) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                conn = key.fileobj
                try:
                    conn.setblocking(False)
                    conn.recv(1)  # an answer, or b"" once closed
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue  # only TLS housekeeping (a session ticket): still open
                except OSError:
                    pass  # reset
                closed.add(conn)
                selector.unregister(conn)
    return len(closed)
