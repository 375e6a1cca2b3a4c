"""The gunicorn worker: gthread, except that a request is read in full, head and body, before a thread
serves it.

gunicorn's gthread worker gives a connection to a thread as soon as it is readable, and the thread then
reads the request with blocking calls and no deadline: a client that sends half a request keeps its thread
as long as it likes, and a few hundred such clients hold every thread (benchmarks/slow_clients.py: with 300
half-sent requests open, no page loaded within 10 s). Here the worker's main loop, which already waits on
every idle kept-alive connection, also does the TLS handshake and reads each request without blocking; a
thread gets the request only once it is all there. A request still incomplete REQUEST_READ_TIMEOUT_S after
its connection opened (or came back from keep-alive) is answered 408, and one client address may hold at
most Config.connections_per_address() connections at once: more are refused as they are accepted.

What still holds a thread for long is counted elsewhere: room sockets by the room registry, Janus long
polls by the Janus proxy, both below the thread pool.
"""
import errno
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from functools import partial

import gunicorn
from gunicorn import http
from gunicorn import sock as gunicorn_sock
from gunicorn.workers.gthread import TConn, ThreadWorker

from webapp.blueprints.rooms import registry_of
from webapp.config import MAX_REQUEST_HEAD_BYTES, REQUEST_READ_TIMEOUT_S

# The gthread internals overridden here (TConn, enqueue_req, murder_pending, the parser's unreader) are
# gunicorn 27's; another major version may move them, so it is refused here rather than misbehave.
GUNICORN_MAJOR = 27
if gunicorn.version_info[0] != GUNICORN_MAJOR:
    raise ImportError(f"webapp.worker needs gunicorn {GUNICORN_MAJOR}.x, not {gunicorn.__version__}")

RECV_BYTES = 64 * 1024  # one non-blocking read; a request larger than this takes several
# On SIGINT/SIGQUIT (Ctrl-C) gunicorn exits at once; this long is given to the goodbye to every socket first.
QUIT_NOTICE_S = 1.0
# A stopping worker still reads the requests it has begun for this long (as gunicorn keeps kept-alive ones).
STOP_READ_LINGER_S = 2.0
HEAD_END = b"\r\n\r\n"


class Refused(Exception):
    """A request answered from the main loop, without a thread: an HTTP status and its reason phrase."""

    def __init__(self, status: int, reason: str, text: str):
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.text = status, reason, text

    def response(self) -> bytes:
        """The whole HTTP response; the connection closes after it."""
        body = (self.text + "\n").encode()
        return (f"HTTP/1.1 {self.status} {self.reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def request_length(data: bytes, max_head_bytes: int, max_body_bytes: int) -> int | None:
    """Bytes of the first HTTP/1.1 request in data once it is all there (head and body), None while more is
    due; Refused for one no route would take. Malformed heads pass: gunicorn's parser answers them 400."""
    head_end = data.find(HEAD_END, 0, max_head_bytes + len(HEAD_END))
    if head_end < 0:
        if len(data) > max_head_bytes:
            raise Refused(431, "Request Header Fields Too Large", f"A request head may be at most {max_head_bytes} bytes.")
        return None
    body_bytes = 0
    for line in data[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            # Browsers send bodies with a Content-Length; a chunked one could trickle in for ever.
            raise Refused(411, "Length Required", "Send the body with a Content-Length.")
        if name == b"content-length" and value.strip().isdigit():
            body_bytes = max(body_bytes, int(value))
    if body_bytes > max_body_bytes:
        raise Refused(413, "Content Too Large", f"A request body may be at most {max_body_bytes} bytes.")
    total = head_end + len(HEAD_END) + body_bytes
    return total if len(data) >= total else None


def _host(address) -> str:
    return address[0] if isinstance(address, tuple) else str(address)


class _Conn(TConn):
    """A client connection: the request read so far, its deadline, and who to tell when it closes."""

    def __init__(self, cfg, sock, client, server, on_close):
        super().__init__(cfg, sock, client, server)
        self.on_close = on_close
        self.request = bytearray()
        self.deadline = 0.0
        self.watching = 0  # the selector events the main loop waits for, 0 while not registered
        self.handshaken = False

    def close(self, graceful=False):
        super().close(graceful)
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close(self)


class Worker(ThreadWorker):
    """gunicorn's gthread worker that reads requests before threads serve them, limits connections per
    address, and closes the room sockets when told to stop."""

    def run(self):
        # The app is loaded by now (in init_process, which then calls run).
        config = self.wsgi.config["VBG"]
        self._max_body_bytes = self.wsgi.config["MAX_CONTENT_LENGTH"]
        self._max_per_address = config.connections_per_address()
        self._per_address: Counter[str] = Counter()
        self._per_address_lock = threading.Lock()  # connections close on the main loop, but cheap to be sure
        self._reading: dict[_Conn, None] = {}  # in deadline order: each deadline is its start + the timeout
        self._stopping_since: float | None = None
        self._tls = gunicorn_sock.ssl_context(self.cfg) if self.cfg.is_ssl else None
        super().run()

    # --------------------------------------------------------------- accepting

    def accept(self, listener):
        """Accept a connection, or refuse it when its address holds its share of them already."""
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        host = _host(address)
        with self._per_address_lock:
            admitted = self._per_address[host] < self._max_per_address
            if admitted:
                self._per_address[host] += 1
        if not admitted:
            self._refuse_at_accept(client)
            return
        self.nr_conns += 1
        self.enqueue_req(_Conn(self.cfg, client, address, listener.getsockname(), self._forget))

    def _forget(self, conn: _Conn) -> None:
        host = _host(conn.client)
        with self._per_address_lock:
            self._per_address[host] -= 1
            if not self._per_address[host]:
                del self._per_address[host]

    def _refuse_at_accept(self, client: socket.socket) -> None:
        try:
            client.setblocking(False)
            if self._tls is None:  # over TLS a plain-text answer would be noise: the client sees a closed connection
                client.send(Refused(503, "Service Unavailable", "Too many connections from this address.").response())
        except OSError:
            pass
        client.close()

    # ----------------------------------------------------------------- reading

    def enqueue_req(self, conn: _Conn):
        """Read the connection's next request on the main loop; a thread serves it once it is all there."""
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + REQUEST_READ_TIMEOUT_S
        if conn.parser is not None:  # kept alive: what the last request read ahead of itself comes first
            conn.request = bytearray(conn.parser.unreader.take_buffered())
        self._reading[conn] = None
        try:
            if not self._complete(conn):
                self._read(conn)
        except Refused as refused:
            self._answer(conn, refused)

    def _read(self, conn: _Conn, _fileobj=None) -> None:
        try:
            if not conn.handshaken:
                self._handshake(conn)
            while True:
                chunk = conn.sock.recv(RECV_BYTES)
                if not chunk:  # the client went away
                    self._drop(conn)
                    return
                conn.request += chunk
                if self._complete(conn):
                    return
        except (BlockingIOError, ssl.SSLWantReadError):
            self._watch(conn, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
        except Refused as refused:
            self._answer(conn, refused)
        except OSError:  # reset, or a failed TLS handshake
            self._drop(conn)

    def _handshake(self, conn: _Conn) -> None:
        if self._tls is not None:
            if not isinstance(conn.sock, ssl.SSLSocket):
                conn.sock = self._tls.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False,
                                                  suppress_ragged_eofs=self.cfg.suppress_ragged_eofs)
            conn.sock.do_handshake()
        conn.handshaken = True

    def _complete(self, conn: _Conn) -> bool:
        """Hand the request to a thread if it is all there."""
        if request_length(bytes(conn.request), MAX_REQUEST_HEAD_BYTES, self._max_body_bytes) is None:
            return False
        self._unwatch(conn)
        del self._reading[conn]
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.request))
        conn.request = bytearray()
        conn.initialized = conn.data_ready = True  # gthread's handle() then neither waits nor wraps again
        super().enqueue_req(conn)
        return True

    def _watch(self, conn: _Conn, events: int) -> None:
        if conn.watching == events:
            return
        if conn.watching:
            self.poller.modify(conn.sock, events, partial(self._read, conn))
        else:
            self.poller.register(conn.sock, events, partial(self._read, conn))
        conn.watching = events

    def _unwatch(self, conn: _Conn) -> None:
        if conn.watching:
            self.poller.unregister(conn.sock)
            conn.watching = 0

    def _answer(self, conn: _Conn, refused: Refused) -> None:
        try:
            conn.sock.send(refused.response())  # best effort: the socket has room for a few hundred bytes
        except OSError:
            pass
        self._drop(conn)

    def _drop(self, conn: _Conn) -> None:
        self._unwatch(conn)
        self._reading.pop(conn, None)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """gunicorn's sweep of idle connections, every second of the main loop; also ends slow requests."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive:
            self._stopping_since = self._stopping_since or now
        stopped = self._stopping_since is not None and now - self._stopping_since >= STOP_READ_LINGER_S
        for conn in list(self._reading):
            if conn.deadline > now and not stopped:
                break
            self._answer(conn, Refused(408, "Request Timeout",
                                       f"The request did not arrive within {REQUEST_READ_TIMEOUT_S:g} s."))

    # ---------------------------------------------------------------- stopping

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        self._close_rooms()

    def handle_quit(self, sig, frame):
        self._close_rooms().join(QUIT_NOTICE_S)
        super().handle_quit(sig, frame)

    def _close_rooms(self) -> threading.Thread:
        # An open WebSocket keeps its thread until the browser leaves, so without this a SIGTERM would wait the
        # whole graceful timeout and then kill the sockets without a word to the browsers. A signal handler
        # must not block on sockets: the browsers are told from a thread of its own.
        thread = threading.Thread(target=registry_of(self.wsgi).shutdown, name="vbg-rooms-shutdown", daemon=True)
        thread.start()
        return thread
