"""webapp/blueprints/janus_proxy.py: /janus forwarded to a fake Janus, only what a broadcast needs."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webapp import create_app
from webapp.blueprints import janus_proxy
from webapp.config import TestConfig

SESSION_ID = 4_503_599_627_370_495  # Janus ids go up to 2^53
HANDLE_ID = 1_234_567


class FakeJanus(BaseHTTPRequestHandler):
    """Answers like Janus's HTTP transport and records what reached it: (method, path, body)."""

    seen: list = []
    answer: tuple = (200, "application/json", b'{"janus": "success", "data": {"id": 1}}')

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.path, json.loads(body)))
        self._answer()

    def do_GET(self):
        self.seen.append(("GET", self.path, None))
        self._answer()

    def _answer(self):
        status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_janus():
    """A fake Janus on a free loopback port: (base URL, its handler class)."""
    handler = type("Handler", (FakeJanus,), {"seen": [], "answer": FakeJanus.answer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/janus", handler
    server.shutdown()
    server.server_close()


def _client(models_dir, tmp_path, **overrides):
    config = TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path / "instance", **overrides)
    return create_app(config).test_client()


@pytest.fixture
def janus_client(models_dir, tmp_path, fake_janus):
    url, _ = fake_janus
    return _client(models_dir, tmp_path, sfu="janus", janus_url=url)


def test_absent_unless_janus_mode(client):
    assert client.post("/janus", json={"janus": "create", "transaction": "t"}).status_code == 404
    assert client.get(f"/janus/{SESSION_ID}").status_code == 404


def test_requests_reach_janus_and_its_answers_come_back(janus_client, fake_janus):
    _, janus = fake_janus
    create = {"janus": "create", "transaction": "t1"}
    response = janus_client.post("/janus", json=create)
    assert response.status_code == 200 and response.json == {"janus": "success", "data": {"id": 1}}
    assert response.headers["Cache-Control"] == "no-store"
    attach = {"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": "t2"}
    assert janus_client.post(f"/janus/{SESSION_ID}", json=attach).status_code == 200
    offer = {"janus": "message", "transaction": "t3", "body": {"request": "publish", "audio": True},
             "jsep": {"type": "offer", "sdp": "v=0\r\n"}}
    assert janus_client.post(f"/janus/{SESSION_ID}/{HANDLE_ID}", json=offer).status_code == 200
    assert janus_client.get(f"/janus/{SESSION_ID}").status_code == 200
    assert janus.seen == [
        ("POST", "/janus", create),
        ("POST", f"/janus/{SESSION_ID}", attach),
        ("POST", f"/janus/{SESSION_ID}/{HANDLE_ID}", offer),
        ("GET", f"/janus/{SESSION_ID}?maxev={janus_proxy.LONG_POLL_MAX_EVENTS}", None),
    ]


def test_janus_errors_pass_through(janus_client, fake_janus):
    _, janus = fake_janus
    janus.answer = (404, "application/json", b'{"janus": "error", "error": {"code": 458, "reason": "No such session"}}')
    response = janus_client.get(f"/janus/{SESSION_ID}")
    assert response.status_code == 404 and response.json["error"]["code"] == 458


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b"[]", 400),
    (json.dumps({"janus": "info"}).encode(), 403),
    (json.dumps({"janus": "attach", "plugin": "janus.plugin.streaming"}).encode(), 403),
    (json.dumps({"janus": "message", "body": "create"}).encode(), 400),
    (json.dumps({"janus": "message", "body": {"request": "rtp_forward", "room": 1}}).encode(), 403),
    (json.dumps({"janus": "message", "body": {"request": "create", "room": 1, "record": True}}).encode(), 403),
    (json.dumps({"janus": "message", "body": {"request": "create", "room": 1, "permanent": True}}).encode(), 403),
    (json.dumps({"janus": "message", "body": {"request": "join", "ptype": "publisher", "filename": "/x"}}).encode(),
     403),
])
def test_malformed_or_unneeded_requests_are_refused(janus_client, fake_janus, body, status):
    _, janus = fake_janus
    response = janus_client.post(f"/janus/{SESSION_ID}/{HANDLE_ID}", data=body, content_type="application/json")
    assert response.status_code == status and response.json["message"]
    assert janus.seen == []


def test_only_json_of_a_bounded_size(janus_client, fake_janus):
    _, janus = fake_janus
    form = janus_client.post("/janus", data="janus=create", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    padding = "x" * janus_proxy.MAX_REQUEST_BYTES
    huge = janus_client.post(f"/janus/{SESSION_ID}", json={"janus": "keepalive", "transaction": padding})
    assert huge.status_code == 413
    assert janus.seen == []


def test_only_janus_ids_name_a_path(janus_client, fake_janus):
    _, janus = fake_janus
    for path in ("/janus/info", "/janus/admin", "/janus/1/2/3", "/janus/..%2Fadmin"):
        assert janus_client.get(path).status_code == 404, path
    assert janus.seen == []


def test_an_answer_that_is_not_json_is_not_forwarded(janus_client, fake_janus):
    _, janus = fake_janus
    janus.answer = (200, "text/html", b"<script>alert(1)</script>")
    assert janus_client.get(f"/janus/{SESSION_ID}").status_code == 502


def test_janus_down_is_a_bad_gateway(models_dir, tmp_path):
    client = _client(models_dir, tmp_path, sfu="janus", janus_url="http://127.0.0.1:9/janus")  # discard port
    response = client.post("/janus", json={"janus": "create", "transaction": "t"})
    assert response.status_code == 502 and "Janus" in response.json["message"]

