"""webapp/rooms/channel.py: queued sends reach the socket in order, close comes last, stuck sockets are cut."""
import threading
import time

from simple_websocket import ConnectionClosed

from webapp.rooms.channel import SocketChannel
from webapp.rooms.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY


class FakeSocket:
    """Stands in for simple_websocket's connection: records frames, can be slow or broken."""

    def __init__(self, delay_s: float = 0.0):
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.delay_s = delay_s
        self.broken = False
        self.event = threading.Event()

    def send(self, text: str) -> None:
        if self.broken:
            raise ConnectionClosed()
        time.sleep(self.delay_s)
        self.sent.append(text)

    def close(self, reason: int) -> None:
        self.closed_with = reason


def test_messages_go_out_in_order_and_close_last():
    ws = FakeSocket()
    channel = SocketChannel(ws)
    channel.send("a")
    channel.send("b")
    channel.close(CLOSE_NORMAL)
    channel.send("after close")  # dropped
    assert ws.sent == [] and ws.closed_with is None  # nothing is written before a flush
    channel.flush()
    assert ws.sent == ["a", "b"] and ws.closed_with == CLOSE_NORMAL and ws.event.is_set()
    channel.close(CLOSE_POLICY)
    channel.flush()
    assert ws.closed_with == CLOSE_NORMAL  # closed once


def test_concurrent_flushes_keep_the_order():
    ws = FakeSocket(delay_s=0.001)
    channel = SocketChannel(ws)
    lock = threading.Lock()  # the registry's: messages are queued in one order

    def sender(worker):
        for n in range(50):
            with lock:
                channel.send(f"{worker}:{n}")
            channel.flush()

    threads = [threading.Thread(target=sender, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ws.sent) == 200
    for worker in range(4):
        assert [int(t.split(":")[1]) for t in ws.sent if t.startswith(f"{worker}:")] == list(range(50))


def test_a_socket_that_stops_reading_is_closed_not_buffered():
    ws = FakeSocket()
    channel = SocketChannel(ws, max_queued_chars=10)
    channel.send("12345")
    channel.send("678901")  # over 10 queued characters
    channel.send("more")
    channel.flush()
    assert ws.sent == [] and ws.closed_with == CLOSE_POLICY


def test_a_broken_socket_drops_what_is_queued():
    ws = FakeSocket()
    ws.broken = True
    channel = SocketChannel(ws)
    channel.send("a")
    channel.send("b")
    channel.flush()
    assert ws.sent == [] and ws.closed_with is None and ws.event.is_set()
    channel.close(CLOSE_GOING_AWAY)
    channel.flush()
    assert ws.closed_with is None  # nothing left to close
