"""webapp/worker.py in the real server: slow clients hold no thread, and one address holds its share of the
connections at most (benchmarks/slow_clients.py measures the same over more counts)."""
import socket

import pytest

from tests.server_process import start_server, stop_server
from tests.slow_clients import (
    HALF_SENT, OTHER_LOOPBACK_ADDRESSES, closed_by_server, half_sent_requests, timed_page_load,
)
from webapp.config import MAX_REQUEST_BODY_BYTES, Config

HALF_SENT_COUNT = 300  # each kind: over twice the server's 128 threads
PAGE_LOAD_LIMIT_S = 2.0
SPREAD_OVER = OTHER_LOOPBACK_ADDRESSES[:5]  # 60 connections each: under one address's share
REFUSAL_WAIT_S = 2.0  # how long the server gets to close the connections it refuses


@pytest.fixture(params=["http", "https"])
def server(request):
    running = start_server(["--tls"] if request.param == "https" else [], scheme=request.param)
    yield running
    stop_server(running)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(HALF_SENT))
def test_a_page_loads_while_hundreds_of_requests_are_half_sent(server, kind):
    with half_sent_requests(server.url, HALF_SENT_COUNT, kind, SPREAD_OVER):
        seconds, status = timed_page_load(server.url, timeout_s=PAGE_LOAD_LIMIT_S)
        assert status == 200, f"with {HALF_SENT_COUNT} {kind!r} requests open: {status} after {seconds:.1f} s"


@pytest.mark.slow
def test_one_address_holds_its_share_of_the_connections_at_most(server):
    allowed = Config().connections_per_address()
    with half_sent_requests(server.url, HALF_SENT_COUNT, "silent", OTHER_LOOPBACK_ADDRESSES[:1]) as conns:
        assert closed_by_server(conns, REFUSAL_WAIT_S) == HALF_SENT_COUNT - allowed
        seconds, status = timed_page_load(server.url, timeout_s=PAGE_LOAD_LIMIT_S)
        assert status == 200, f"{status} after {seconds:.1f} s"


@pytest.mark.slow
def test_a_body_larger_than_any_route_takes_is_refused_before_it_is_sent():
    running = start_server()
    try:
        with socket.create_connection(("127.0.0.1", int(running.origin.rsplit(":", 1)[1])), timeout=5) as conn:
            conn.sendall(b"POST /api/rooms HTTP/1.1\r\nHost: vbg\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % (MAX_REQUEST_BODY_BYTES + 1))
            assert conn.recv(64).startswith(b"HTTP/1.1 413 ")
    finally:
        stop_server(running)
