"""webapp/blueprints/janus_proxy.py and webapp/janus_rooms.py: /janus forwarded to a fake Janus, only what a
broadcast needs, only with a credential from the room socket; Janus rooms made and ended by the server."""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.server_process import start_server, stop_server
from tests.webapp.ws_peer import Peer, create_room
from webapp import create_app
from webapp.blueprints import janus_proxy
from webapp.blueprints.rooms import registry_of
from webapp.config import HTTP_RESERVED_THREADS, TestConfig
from webapp.janus_rooms import JanusApi, JanusLimits, JanusRooms, janus_rooms_of
from webapp.rooms.protocol import Join, ProtocolError
from webapp.rooms.registry import Registry, RoomLimits

FIRST_SESSION_ID = 4_503_599_627_370_000  # Janus ids go up to 2^53
HANDLE_ID = 1_234_567
JANUS_ROOM = 987_654_321  # the number the fake Janus gives every room it creates
PUBLISHER = {"janus": "message", "body": {"request": "join", "ptype": "publisher"}}
SUBSCRIBER = {"janus": "message", "body": {"request": "join", "ptype": "subscriber", "streams": [{"feed": 5}]}}
ADDRESS_A, ADDRESS_B = "10.0.0.1", "10.0.0.2"


class FakeJanus(BaseHTTPRequestHandler):
    """Answers like Janus's HTTP transport and records what reached it: (method, path, body).

    Sessions get increasing ids; VideoRoom's synchronous requests succeed (create gives JANUS_ROOM,
    listparticipants lists `participants`); other plugin requests are acknowledged; a long poll waits for
    `release` and answers []. `answer`, when set, is sent for everything instead."""

    seen: list = []
    answer: tuple | None = None
    participants: list = []
    lost_rooms: set = set()  # rooms this Janus forgot (it restarted)
    release: threading.Event
    next_session = FIRST_SESSION_ID

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("POST", self.path, body))
        kind, reply = body.get("janus"), {"janus": "success", "transaction": body.get("transaction")}
        if kind == "create":
            type(self).next_session += 1
            reply["data"] = {"id": type(self).next_session}
        elif kind == "attach":
            reply["data"] = {"id": HANDLE_ID}
        elif kind == "message":
            request = body["body"]["request"]
            if body["body"].get("room") in self.lost_rooms:
                self.lost_rooms.discard(body["body"]["room"])
                data = {"videoroom": "event", "error_code": 426, "error": "No such room"}
            else:
                data = {"create": {"videoroom": "created", "room": JANUS_ROOM},
                        "listparticipants": {"videoroom": "participants", "participants": self.participants},
                        }.get(request, {"videoroom": "success"})
            if request in {"create", "listparticipants", "kick", "allowed", "destroy"}:
                reply["plugindata"] = {"plugin": "janus.plugin.videoroom", "data": data}
            else:
                reply = {"janus": "ack", "transaction": body.get("transaction")}
        self._answer(200, "application/json", json.dumps(reply).encode())

    def do_GET(self):
        self.seen.append(("GET", self.path, None))
        self.release.wait(5)
        self._answer(200, "application/json", b"[]")

    def _answer(self, status, content_type, body):
        if self.answer is not None:
            status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

    @classmethod
    def requests(cls, name: str) -> list[dict]:
        """The VideoRoom requests of this name that reached Janus."""
        return [body["body"] for _, _, body in cls.seen if body and body.get("janus") == "message"
                and body["body"].get("request") == name]


@pytest.fixture
def fake_janus():
    """A fake Janus on a free loopback port: (base URL, its handler class)."""
    release = threading.Event()
    release.set()
    handler = type("Handler", (FakeJanus,), {"seen": [], "participants": [], "lost_rooms": set(), "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/janus", handler
    release.set()
    server.shutdown()
    server.server_close()


def _app(models_dir, tmp_path, **overrides):
    config = TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path / "instance", **overrides)
    return create_app(config)


@pytest.fixture
def janus_app(models_dir, tmp_path, fake_janus):
    url, _ = fake_janus
    return _app(models_dir, tmp_path, sfu="janus", janus_url=url)


@pytest.fixture
def janus_client(janus_app):
    return janus_app.test_client()


def _open_session(client, address="127.0.0.1") -> int:
    response = client.post("/janus", json={"janus": "create"}, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.json
    return response.json["data"]["id"]


class Channel:
    """A room member's connection as the registry sees it; keeps nothing."""

    def send(self, text):
        pass

    def close(self, code):
        pass

    def flush(self):
        pass


def _broadcast(app, passcode=None):
    """A broadcast with its presenter joined: (room id, presenter member)."""
    registry = registry_of(app)
    info, host_token = registry.create_room("broadcast", passcode, "127.0.0.1")
    return info.id, registry.join(Join(info.id, "presenter", host_token=host_token), Channel())


# ------------------------------------------------------------------ forwarding


def test_absent_unless_janus_mode(client):
    assert client.post("/janus", json={"janus": "create", "transaction": "t"}).status_code == 404
    assert client.get(f"/janus/{FIRST_SESSION_ID}").status_code == 404


def test_requests_reach_janus_and_its_answers_come_back(janus_client, fake_janus):
    _, janus = fake_janus
    create = {"janus": "create", "transaction": "t1"}
    response = janus_client.post("/janus", json=create)
    assert response.status_code == 200 and response.json["data"]["id"] == FIRST_SESSION_ID + 1
    assert response.headers["Cache-Control"] == "no-store"
    session = response.json["data"]["id"]
    attach = {"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": "t2"}
    assert janus_client.post(f"/janus/{session}", json=attach).json["data"]["id"] == HANDLE_ID
    offer = {"janus": "message", "transaction": "t3", "body": {"request": "publish", "audio": True},
             "jsep": {"type": "offer", "sdp": "v=0\r\n"}}
    assert janus_client.post(f"/janus/{session}/{HANDLE_ID}", json=offer).json["janus"] == "ack"
    assert janus_client.get(f"/janus/{session}").json == []
    assert janus.seen == [
        ("POST", "/janus", create),
        ("POST", f"/janus/{session}", attach),
        ("POST", f"/janus/{session}/{HANDLE_ID}", offer),
        ("GET", f"/janus/{session}?maxev={janus_proxy.LONG_POLL_MAX_EVENTS}", None),
    ]


def test_janus_errors_pass_through_and_a_lost_session_is_forgotten(janus_client, fake_janus):
    _, janus = fake_janus
    session = _open_session(janus_client)
    janus.answer = (404, "application/json", b'{"janus": "error", "error": {"code": 458, "reason": "No such session"}}')
    response = janus_client.get(f"/janus/{session}")
    assert response.status_code == 404 and response.json["error"]["code"] == 458
    janus.answer = None
    polls = len(janus.seen)
    assert janus_client.get(f"/janus/{session}").status_code == 404  # Janus lost it: so do we
    assert len(janus.seen) == polls


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b"[]", 400),
    (json.dumps({"janus": "info"}).encode(), 403),
    (json.dumps({"janus": "attach", "plugin": "janus.plugin.streaming"}).encode(), 403),
    (json.dumps({"janus": "message", "body": "create"}).encode(), 400),
    (json.dumps({"janus": "message", "body": {"request": "rtp_forward", "room": 1}}).encode(), 403),
    (json.dumps({"janus": "message", "body": {"request": "join", "ptype": "publisher", "filename": "/x"}}).encode(),
     403),
])
def test_malformed_or_unneeded_requests_are_refused(janus_client, fake_janus, body, status):
    _, janus = fake_janus
    response = janus_client.post(f"/janus/{FIRST_SESSION_ID}/{HANDLE_ID}", data=body, content_type="application/json")
    assert response.status_code == status and response.json["message"]
    assert janus.seen == []


def test_only_json_of_a_bounded_size(janus_client, fake_janus):
    _, janus = fake_janus
    form = janus_client.post("/janus", data="janus=create", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    padding = "x" * janus_proxy.MAX_REQUEST_BYTES
    huge = janus_client.post(f"/janus/{FIRST_SESSION_ID}", json={"janus": "keepalive", "transaction": padding})
    assert huge.status_code == 413
    assert janus.seen == []


def test_only_janus_ids_name_a_path(janus_client, fake_janus):
    _, janus = fake_janus
    for path in ("/janus/info", "/janus/admin", "/janus/1/2/3", "/janus/..%2Fadmin"):
        assert janus_client.get(path).status_code == 404, path
    assert janus.seen == []


def test_an_answer_that_is_not_json_is_not_forwarded(janus_client, fake_janus):
    _, janus = fake_janus
    session = _open_session(janus_client)
    janus.answer = (200, "text/html", b"<script>alert(1)</script>")
    assert janus_client.get(f"/janus/{session}").status_code == 502


def test_janus_down_is_a_bad_gateway(models_dir, tmp_path):
    client = _app(models_dir, tmp_path, sfu="janus", janus_url="http://127.0.0.1:9/janus").test_client()  # discard port
    response = client.post("/janus", json={"janus": "create", "transaction": "t"})
    assert response.status_code == 502 and "Janus" in response.json["message"]
    assert client.post("/janus", json={"janus": "create", "transaction": "t"}).status_code == 502  # nothing held


# ---------------------------------------------------------------- gatekeeping


@pytest.mark.parametrize("request_body", [
    {"request": "create", "room": 1234, "permanent": False, "is_private": True, "publishers": 1},
    {"request": "destroy", "room": 1234},
    {"request": "kick", "room": 1234, "id": 5},
    {"request": "allowed", "room": 1234, "action": "disable"},
    {"request": "edit", "room": 1234, "new_pin": "x"},
    {"request": "listparticipants", "room": 1234},
    {"request": "joinandconfigure", "room": 1234, "ptype": "publisher"},
    {"request": "configure", "audio": True},
])
def test_pages_do_not_administer_janus_rooms(janus_client, fake_janus, request_body):
    _, janus = fake_janus
    session = _open_session(janus_client)
    response = janus_client.post(f"/janus/{session}/{HANDLE_ID}", json={"janus": "message", "body": request_body})
    assert response.status_code == 403 and response.json["message"]
    assert janus.requests(request_body["request"]) == []


@pytest.mark.parametrize("join", [
    {"request": "join", "ptype": "publisher"},
    {"request": "join", "ptype": "subscriber", "streams": [{"feed": 5}]},
    {"request": "join", "ptype": "subscriber", "token": "made-up", "streams": [{"feed": 5}]},
    {"request": "join", "ptype": "publisher", "token": 7},
    # The old way: a room number and pin worked out from the share link.
    {"request": "join", "ptype": "publisher", "room": 1234, "pin": "ROOM-ID-FROM-THE-LINK"},
    {"request": "join", "ptype": "subscriber", "room": 1234, "pin": "ROOM-ID-FROM-THE-LINK", "streams": [{"feed": 5}]},
])
def test_a_join_without_a_credential_never_reaches_janus(janus_app, janus_client, fake_janus, join):
    _, janus = fake_janus
    _broadcast(janus_app)
    session = _open_session(janus_client)
    response = janus_client.post(f"/janus/{session}/{HANDLE_ID}", json={"janus": "message", "body": join})
    assert response.status_code == 403 and response.json["message"]
    assert janus.requests("join") == []


def test_the_presenter_credential_makes_the_room_and_admits_one_publisher_join(janus_app, janus_client, fake_janus):
    _, janus = fake_janus
    room_id, presenter = _broadcast(janus_app)
    rooms = janus_rooms_of(janus_app)
    token = rooms.credential(room_id, "presenter", presenter.peer_id)

    [created] = janus.requests("create")
    secret, pin = created["secret"], created["pin"]
    assert created["publishers"] == 1 and created["is_private"] and created["permanent"] is False
    assert created["allowed"] == [] and "room" not in created  # Janus picks the number; only tokens publish
    for hidden in (secret, pin):  # random, nothing a page holds
        assert len(hidden) >= 32 and room_id not in hidden and hidden != token
    assert janus.requests("allowed") == [{"request": "allowed", "action": "add", "room": JANUS_ROOM, "secret": secret,
                                          "allowed": [token]}]

    session = _open_session(janus_client)
    join = {"janus": "message", "body": {"request": "join", "ptype": "publisher", "token": token}}
    assert janus_client.post(f"/janus/{session}/{HANDLE_ID}", json=join).status_code == 200
    assert janus.requests("join") == [{"request": "join", "ptype": "publisher", "token": token,
                                       "room": JANUS_ROOM, "pin": pin}]
    again = janus_client.post(f"/janus/{session}/{HANDLE_ID}", json=join)
    assert again.status_code == 403  # once
    assert len(janus.requests("join")) == 1


def test_a_viewer_credential_only_subscribes(janus_app, janus_client, fake_janus):
    _, janus = fake_janus
    room_id, presenter = _broadcast(janus_app, passcode="owl")
    rooms = janus_rooms_of(janus_app)
    rooms.credential(room_id, "presenter", presenter.peer_id)
    pin = janus.requests("create")[0]["pin"]
    session = _open_session(janus_client)

    as_publisher = rooms.credential(room_id, "viewer", "viewer-1")
    join = {"janus": "message", "body": {"request": "join", "ptype": "publisher", "token": as_publisher}}
    assert janus_client.post(f"/janus/{session}/{HANDLE_ID}", json=join).status_code == 403
    assert janus.requests("join") == []

    token = rooms.credential(room_id, "viewer", "viewer-1")
    join = {"janus": "message", "body": {**SUBSCRIBER["body"], "token": token}}
    assert janus_client.post(f"/janus/{session}/{HANDLE_ID}", json=join).status_code == 200
    assert janus.requests("join") == [{**SUBSCRIBER["body"], "token": token, "room": JANUS_ROOM, "pin": pin}]


def test_credentials_expire_and_each_member_holds_one(fake_janus):
    url, janus = fake_janus
    now = [100.0]
    rooms = JanusRooms(JanusApi(url), credential_ttl_s=30.0, clock=lambda: now[0])
    rooms.credential("room", "presenter", "presenter")
    first = rooms.credential("room", "viewer", "viewer-1")
    second = rooms.credential("room", "viewer", "viewer-1")  # the first one is void now
    late = rooms.credential("room", "viewer", "viewer-2")
    assert rooms.redeem(first, "subscriber") is None
    assert rooms.redeem(second, "subscriber").room == JANUS_ROOM
    now[0] += 30.0
    assert rooms.redeem(late, "subscriber") is None


def test_viewers_wait_for_the_presenter(fake_janus):
    url, janus = fake_janus
    rooms = JanusRooms(JanusApi(url))
    with pytest.raises(ProtocolError) as refused:
        rooms.credential("room", "viewer", "viewer-1")
    assert refused.value.code == "not-live"
    assert janus.seen == []  # a viewer never makes a Janus room


def test_a_presenter_who_comes_back_takes_the_publisher_slot_back(fake_janus):
    url, janus = fake_janus
    rooms = JanusRooms(JanusApi(url))
    before = rooms.credential("room", "presenter", "presenter-before-reload")
    janus.participants = [{"id": 41, "publisher": True}]  # its publication, left behind by the reload
    after = rooms.credential("room", "presenter", "presenter-after-reload")
    [created] = janus.requests("create")  # the same room: viewers keep their place
    assert janus.requests("kick") == [{"request": "kick", "room": JANUS_ROOM, "secret": created["secret"], "id": 41}]
    allowed = {"request": "allowed", "room": JANUS_ROOM, "secret": created["secret"]}
    assert janus.requests("allowed")[1:] == [{**allowed, "action": "remove", "allowed": [before]},
                                             {**allowed, "action": "add", "allowed": [after]}]
    assert rooms.redeem(after, "publisher") is not None


def test_a_room_janus_forgot_is_made_again(fake_janus):
    url, janus = fake_janus
    rooms = JanusRooms(JanusApi(url))
    rooms.credential("room", "presenter", "presenter")
    janus.lost_rooms.add(JANUS_ROOM)  # Janus restarted
    token = rooms.credential("room", "presenter", "presenter")
    first, again = janus.requests("create")
    assert again["secret"] != first["secret"]
    assert rooms.redeem(token, "publisher").pin == again["pin"]


def test_janus_down_refuses_a_credential_clearly(models_dir, tmp_path):
    rooms = JanusRooms(JanusApi("http://127.0.0.1:9/janus"))  # discard port
    with pytest.raises(ProtocolError) as refused:
        rooms.credential("room", "presenter", "presenter")
    assert refused.value.code == "janus-unavailable" and "Janus" in refused.value.message


# ----------------------------------------------------------------- room ends


def _followed(url, clock):
    registry = Registry(RoomLimits(vacancy_grace_s=10.0), clock=clock)
    rooms = JanusRooms(JanusApi(url))
    rooms.follow(registry)
    info, host_token = registry.create_room("broadcast", None, "127.0.0.1")
    presenter = registry.join(Join(info.id, "presenter", host_token=host_token), Channel())
    rooms.credential(info.id, "presenter", presenter.peer_id)
    return registry, rooms, info.id, presenter


@pytest.mark.parametrize("how", ["presenter-ended", "expired", "server-shutdown"])
def test_the_janus_room_is_destroyed_when_the_broadcast_ends(fake_janus, how):
    url, janus = fake_janus
    now = [100.0]
    registry, rooms, room_id, presenter = _followed(url, lambda: now[0])
    viewer_token = rooms.credential(room_id, "viewer", "viewer-1")
    if how == "presenter-ended":
        registry.end(presenter)
    elif how == "expired":
        registry.leave(presenter)
        now[0] += 10.0
        assert registry.expire() == [room_id]
    else:
        registry.shutdown()
    secret = janus.requests("create")[0]["secret"]
    assert janus.requests("destroy") == [{"request": "destroy", "room": JANUS_ROOM, "secret": secret,
                                          "permanent": False}]
    assert rooms.redeem(viewer_token, "subscriber") is None
    assert rooms.stats() == {"rooms": 0, "credentials": 0}


def test_a_room_that_ends_while_its_janus_room_is_made_does_not_leak_it(fake_janus):
    url, janus = fake_janus
    registry = Registry()
    rooms = JanusRooms(JanusApi(url))
    rooms.follow(registry)
    info, host_token = registry.create_room("broadcast", None, "127.0.0.1")
    presenter = registry.join(Join(info.id, "presenter", host_token=host_token), Channel())
    original = rooms._create

    def create_then_end(request, room_id):
        made = original(request, room_id)
        registry.end(presenter)  # "End broadcast" while Janus was making the room
        return made

    rooms._create = create_then_end
    with pytest.raises(ProtocolError) as refused:
        rooms.credential(info.id, "presenter", presenter.peer_id)
    assert refused.value.code == "not-live"
    assert len(janus.requests("destroy")) == 1 and rooms.stats()["rooms"] == 0


# -------------------------------------------------------------- session caps


def test_sessions_are_capped_per_address_and_in_total(models_dir, tmp_path, fake_janus):
    url, janus = fake_janus
    # 6 threads for long connections: 3 room sockets and 3 Janus sessions.
    app = _app(models_dir, tmp_path, sfu="janus", janus_url=url, threads=HTTP_RESERVED_THREADS + 6,
               max_janus_sessions_per_address=2)
    client = app.test_client()
    first = _open_session(client, ADDRESS_A)
    _open_session(client, ADDRESS_A)
    refused = client.post("/janus", json={"janus": "create"}, environ_base={"REMOTE_ADDR": ADDRESS_A})
    assert refused.status_code == 429 and "this address" in refused.json["message"]
    _open_session(client, ADDRESS_B)
    full = client.post("/janus", json={"janus": "create"}, environ_base={"REMOTE_ADDR": ADDRESS_B})
    assert full.status_code == 429 and "full" in full.json["message"]
    assert [path for _, path, _ in janus.seen].count("/janus") == 3  # the refused ones never reached Janus

    # A destroyed session stops counting.
    destroyed = client.post(f"/janus/{first}", json={"janus": "destroy"}, environ_base={"REMOTE_ADDR": ADDRESS_A})
    assert destroyed.status_code == 200
    _open_session(client, ADDRESS_A)


def test_a_session_is_served_only_to_its_address(janus_client, fake_janus):
    _, janus = fake_janus
    session = _open_session(janus_client, ADDRESS_A)
    other = {"REMOTE_ADDR": ADDRESS_B}
    assert janus_client.get(f"/janus/{session}", environ_base=other).status_code == 404
    assert janus_client.post(f"/janus/{session}", json={"janus": "keepalive"}, environ_base=other).status_code == 404
    assert janus_client.get(f"/janus/{FIRST_SESSION_ID}").status_code == 404  # never created through us
    assert [path for method, path, _ in janus.seen] == ["/janus"]


def test_long_polls_are_one_per_session(janus_app, fake_janus):
    _, janus = fake_janus
    session = _open_session(janus_app.test_client())
    janus.release.clear()  # Janus holds the first poll
    first = {}
    waiting = threading.Thread(target=lambda: first.update(response=janus_app.test_client().get(f"/janus/{session}")))
    waiting.start()
    try:
        deadline = time.monotonic() + 5
        while not any(method == "GET" for method, _, _ in janus.seen):
            assert time.monotonic() < deadline and waiting.is_alive()
            time.sleep(0.01)
        second = janus_app.test_client().get(f"/janus/{session}")
        assert second.status_code == 429 and "one long poll" in second.json["message"]
    finally:
        janus.release.set()
        waiting.join(5)
    assert first["response"].status_code == 200
    assert janus_app.test_client().get(f"/janus/{session}").status_code == 200  # the next one, after it


def test_idle_sessions_stop_counting():
    now = [0.0]
    sessions = janus_proxy.BrowserSessions(JanusLimits(max_sessions_per_address=1, max_sessions=1, session_idle_s=75.0),
                                           clock=lambda: now[0])
    sessions.reserve(ADDRESS_A)
    sessions.opened(ADDRESS_A, 1)
    with pytest.raises(janus_proxy.Refused):
        sessions.reserve(ADDRESS_A)
    sessions.use(1, ADDRESS_A, poll=True)  # a waiting long poll keeps it alive
    now[0] += 100.0
    with pytest.raises(janus_proxy.Refused):
        sessions.reserve(ADDRESS_A)
    sessions.done_polling(1)
    now[0] += 76.0  # Janus dropped it (session_timeout) with no request from its page
    sessions.reserve(ADDRESS_A)


# ---------------------------------------------------------- the room socket


@pytest.fixture
def janus_server(fake_janus):
    url, _ = fake_janus
    server = start_server(["--sfu", "janus", "--janus-url", url])
    yield server
    stop_server(server)


def _post(origin: str, path: str, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(origin + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_only_the_room_socket_after_its_checks_hands_out_credentials(janus_server, fake_janus):
    _, janus = fake_janus
    origin = janus_server.origin
    room = create_room(origin, "broadcast", passcode="blue-owl")
    peers = []
    try:
        stranger = Peer(origin)  # has the link, not the passcode
        peers.append(stranger)
        stranger.send("join", room=room["room"], role="viewer")
        stranger.expect_error("wrong-passcode")
        impostor = Peer(origin)  # asks before joining
        peers.append(impostor)
        impostor.send("janus-token")
        impostor.expect_error("not-joined-yet")

        viewer = Peer(origin)
        peers.append(viewer)
        viewer.join(room["room"], "viewer", passcode="blue-owl")
        viewer.send("janus-token")
        viewer.expect_error("not-live")  # no Janus room before the presenter's first credential
        presenter = Peer(origin)
        peers.append(presenter)
        presenter.join(room["room"], "presenter", hostToken=room["hostToken"])
        presenter.expect("viewers", count=1)
        presenter.send("janus-token")
        assert re.fullmatch(r"[\w-]{32}", presenter.expect("janus-token")["token"])
        viewer.expect("peer-joined")
        viewer.send("janus-token")
        token = viewer.expect("janus-token")["token"]

        participant = Peer(origin)  # meetings are peer to peer, Janus mode or not
        peers.append(participant)
        participant.join(create_room(origin, "meeting")["room"], "participant")
        participant.send("janus-token")
        participant.expect_error("not-allowed")

        session = _post(origin, "/janus", {"janus": "create"})[1]["data"]["id"]
        status, _ = _post(origin, f"/janus/{session}/{HANDLE_ID}",
                          {"janus": "message", "body": {"request": "join", "ptype": "subscriber", "token": token,
                                                        "streams": [{"feed": 5}]}})
        assert status == 200
        pin = janus.requests("create")[0]["pin"]
        assert janus.requests("join")[0]["pin"] == pin and pin != room["room"]
    finally:
        for peer in peers:
            peer.ws.close()
