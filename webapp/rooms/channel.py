"""A member's WebSocket as the registry sees it: queue now, write later, close after the last message.

Any thread may queue (the registry does, under its lock, for whichever member an operation concerns);
the first thread to flush writes everything queued, in order, while others go on with their work.
"""
import socket
import struct
import threading
from collections import deque

from simple_websocket import ConnectionClosed

from webapp.rooms.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY

# Past this much unwritten text (a browser that stopped reading), the socket is closed rather than the
# server's memory growing; a few hundred ICE candidates and offers are well under it.
MAX_QUEUED_CHARS = 4 * 1024 * 1024
# A write that cannot complete this soon (a browser that stopped reading, a machine gone from the network)
# fails, and the socket is dropped: otherwise the thread writing, another member's, would wait forever.
WRITE_TIMEOUT_S = 10.0
# How long a closing socket waits for the browser's close frame before the TCP connection is cut.
CLOSE_HANDSHAKE_S = 2.0
# How long the reader thread is given to notice a cut connection. The server closes the socket once the
# handler returns, and a reader still waiting on it then would never wake.
READER_EXIT_S = 1.0


class ReaderThread(threading.Thread):
    """simple_websocket's reader thread, as a daemon: one stuck on a dead socket cannot hold up the exit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, daemon=True, **kwargs)


class SocketChannel:
    """Ordered, non-blocking sends over a simple_websocket connection."""

    def __init__(self, ws, max_queued_chars: int = MAX_QUEUED_CHARS):
        self._ws = ws
        self._max_queued_chars = max_queued_chars
        self._state = threading.Lock()  # guards the fields below; never held while writing
        self._queue: deque[str] = deque()
        self._queued_chars = 0
        self._close_code: int | None = None
        self._closed = False
        self._writer = threading.Lock()  # held by the one thread writing to the socket
        sock = getattr(ws, "sock", None)
        if sock is not None:
            # SO_SNDTIMEO bounds send() alone; a socket timeout would also end the reader's blocking recv().
            seconds = int(WRITE_TIMEOUT_S)
            timeval = struct.pack("ll", seconds, int((WRITE_TIMEOUT_S - seconds) * 1e6))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)

    def send(self, text: str) -> None:
        """Queue a message; dropped once the channel is closing."""
        with self._state:
            if self._close_code is not None:
                return
            if self._queued_chars + len(text) > self._max_queued_chars:
                self._queue.clear()
                self._queued_chars = 0
                self._close_code = CLOSE_POLICY  # too slow: the registry sees it drop and tells its peers
                return
            self._queue.append(text)
            self._queued_chars += len(text)

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Close after the messages queued so far."""
        with self._state:
            if self._close_code is None:
                self._close_code = code

    def flush(self) -> None:
        """Write what is queued unless another thread is already doing so (it then writes ours too)."""
        while self._writer.acquire(blocking=False):
            try:
                while (step := self._next()) is not None:
                    text, code = step
                    if text is not None:
                        self._write(text)
                    else:
                        self._close_socket(code)
            finally:
                self._writer.release()
            if not self._pending():
                return  # else a message was queued while we let go of the writer lock: loop

    def finish(self) -> None:
        """Close (if not done yet), let the browser answer the close frame briefly, then cut the connection."""
        self.close(CLOSE_NORMAL)
        self.flush()
        reader = getattr(self._ws, "thread", None)
        if reader is not None:
            reader.join(CLOSE_HANDSHAKE_S)
            if reader.is_alive():
                self._cut()
                reader.join(READER_EXIT_S)

    def _cut(self) -> None:
        sock = getattr(self._ws, "sock", None)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread blocked in recv
        except OSError:
            pass

    def _next(self) -> tuple[str | None, int | None] | None:
        with self._state:
            if self._queue:
                text = self._queue.popleft()
                self._queued_chars -= len(text)
                return text, None
            if self._close_code is not None and not self._closed:
                self._closed = True
                return None, self._close_code
            return None

    def _pending(self) -> bool:
        with self._state:
            return bool(self._queue) or (self._close_code is not None and not self._closed)

    def _write(self, text: str) -> None:
        try:
            self._ws.send(text)
        except (ConnectionClosed, OSError):
            with self._state:  # the socket is gone or stuck: nothing more can reach it
                self._queue.clear()
                self._queued_chars = 0
                self._close_code = self._close_code or CLOSE_GOING_AWAY
                self._closed = True
            self._cut()  # the reader thread ends, the handler's receive() raises, the member is dropped
            self._ws.event.set()

    def _close_socket(self, code: int) -> None:
        try:
            self._ws.close(reason=code)
        except (ConnectionClosed, OSError):
            pass
        # Wake the handler thread blocked in receive(): it finds the socket closed and returns.
        self._ws.event.set()
