"""webapp/worker.py: when a request is all there (the main loop's part; the real server is in
tests/webapp/test_slow_clients.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.worker import Refused, request_length

HEAD = 1024
BODY = 100
GET = b"GET / HTTP/1.1\r\nHost: vbg\r\n\r\n"
POST = b"POST /api/rooms HTTP/1.1\r\nHost: vbg\r\nContent-Length: 5\r\n\r\nhello"


def test_a_request_is_complete_with_its_head_and_body():
    assert request_length(GET, HEAD, BODY) == len(GET)
    assert request_length(POST, HEAD, BODY) == len(POST)
    assert request_length(POST + GET, HEAD, BODY) == len(POST)  # pipelined: the first request only


@given(st.integers(min_value=0, max_value=len(POST) - 1))
def test_a_request_cut_anywhere_is_not_complete(cut):
    assert request_length(POST[:cut], HEAD, BODY) is None


@pytest.mark.parametrize("data, status", [
    (b"GET / HTTP/1.1\r\nX: " + b"x" * HEAD, 431),
    (b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", 411),
])
def test_requests_no_route_takes_are_refused_before_a_thread_sees_them(data, status):
    with pytest.raises(Refused) as refused:
        request_length(data, HEAD, BODY)
    assert refused.value.status == status
    assert refused.value.response().startswith(f"HTTP/1.1 {status} ".encode())


def test_a_malformed_length_is_left_to_gunicorn():
    data = b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"
    assert request_length(data, HEAD, BODY) == len(data)
