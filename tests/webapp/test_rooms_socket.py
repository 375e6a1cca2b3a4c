"""The signalling WebSocket against the real server (`vbg serve`, gunicorn) with real WebSocket clients."""
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest
import websocket

from tests.server_process import start_server, stop_server
from tests.webapp.ws_peer import Peer, create_room
from webapp.blueprints.rooms import HARD_CAP_FACTOR
from webapp.rooms.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY
from webapp.rooms.registry import RoomLimits
from webapp.server import GRACEFUL_TIMEOUT_S

MAX_VIEWERS = 3
# Every test here creates rooms from 127.0.0.1 on one shared server.
SHARED_SERVER_ARGS = ["--max-viewers", str(MAX_VIEWERS), "--max-rooms-per-address", "1000"]


@pytest.fixture(scope="module")
def origin():
    server = start_server(SHARED_SERVER_ARGS)
    yield server.origin
    stop_server(server)


@pytest.fixture
def peers(origin):
    """Opens peers on the shared server and closes them after the test."""
    opened = []

    def open_peer() -> Peer:
        peer = Peer(origin)
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _broadcast(origin, peers, viewers: int = 2, passcode: str | None = None):
    """A broadcast with its presenter and viewers joined, their introductions already read."""
    room = create_room(origin, "broadcast", passcode)
    presenter = peers()
    presenter.join(room["room"], "presenter", hostToken=room["hostToken"])
    presenter.expect("viewers", count=0)
    joined = []
    for n in range(viewers):
        viewer = peers()
        viewer.join(room["room"], "viewer", passcode=passcode, name=f"viewer {n}")
        presenter.expect("peer-joined")
        presenter.expect("viewers", count=n + 1)
        joined.append(viewer)
    return room, presenter, joined


def test_presenter_and_viewers_are_introduced_and_relay(origin, peers):
    room = create_room(origin, "broadcast")
    presenter = peers()
    joined = presenter.join(room["room"], "presenter", hostToken=room["hostToken"], name="Teacher")
    assert joined["peers"] == [] and joined["kind"] == "broadcast" and joined["iceServers"] == []
    presenter.expect("viewers", count=0)

    ann, bob = peers(), peers()
    seen = ann.join(room["room"], "viewer", name="Ann")
    assert seen["peers"] == [{"peerId": presenter.peer_id, "role": "presenter", "name": "Teacher"}]
    presenter.expect("peer-joined", peer={"peerId": ann.peer_id, "role": "viewer", "name": "Ann"})
    presenter.expect("viewers", count=1)
    bob.join(room["room"], "viewer", name="Bob")
    presenter.expect("peer-joined", peer={"peerId": bob.peer_id, "role": "viewer", "name": "Bob"})
    presenter.expect("viewers", count=2)

    offer = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 500}
    presenter.send("signal", to=ann.peer_id, data=offer)
    ann.expect("signal", **{"from": presenter.peer_id, "data": offer})
    ann.send("signal", to=presenter.peer_id, data={"type": "answer", "sdp": "v=0"})
    presenter.expect("signal", **{"from": ann.peer_id, "data": {"type": "answer", "sdp": "v=0"}})

    ann.send("signal", to=bob.peer_id, data={"candidate": "x"})  # viewers talk only to the presenter
    ann.expect_error("not-allowed")
    ann.send("signal", to="nobody", data={})
    ann.expect_error("unknown-peer")
    bob.expect_quiet()
    presenter.send("signal", to=bob.peer_id, data={"n": 1})  # the room is unaffected
    bob.expect("signal", data={"n": 1})

    ann.send("ping")
    ann.expect("pong")
    ann.send("leave")
    assert ann.expect_close() == CLOSE_NORMAL
    presenter.expect("peer-left", peerId=ann.peer_id)
    presenter.expect("viewers", count=1)


def test_viewers_wait_for_the_presenter(origin, peers):
    room = create_room(origin, "broadcast")
    early = peers()
    assert early.join(room["room"], "viewer")["peers"] == []
    presenter = peers()
    joined = presenter.join(room["room"], "presenter", hostToken=room["hostToken"])
    assert [peer["peerId"] for peer in joined["peers"]] == [early.peer_id]
    presenter.expect("viewers", count=1)
    early.expect("peer-joined", peer={"peerId": presenter.peer_id, "role": "presenter", "name": ""})
    late = peers()  # a late joiner finds the presenter there
    assert late.join(room["room"], "viewer")["peers"][0]["peerId"] == presenter.peer_id


def test_presenter_ends_the_broadcast(origin, peers):
    room, presenter, viewers = _broadcast(origin, peers)
    assert _status(origin + room["url"])[0] == 200
    viewers[0].send("end")  # only the presenter may
    viewers[0].expect_error("not-allowed")
    presenter.send("end")
    for peer in [*viewers, presenter]:
        peer.expect("ended", reason="presenter-ended")
        assert peer.expect_close() == CLOSE_NORMAL
    status, body = _status(origin + room["url"])
    assert status == 404 and "This broadcast has ended or the link is wrong" in body
    late = peers()
    late.send("join", room=room["room"], role="viewer")
    late.expect_error("unknown-room")
    assert late.expect_close() == CLOSE_POLICY


def test_a_reconnecting_presenter_replaces_the_old_socket(origin, peers):
    room, old, (viewer,) = _broadcast(origin, peers, viewers=1)
    new = peers()
    joined = new.join(room["room"], "presenter", hostToken=room["hostToken"])
    assert [peer["peerId"] for peer in joined["peers"]] == [viewer.peer_id]
    new.expect("viewers", count=1)
    old.expect("ended", reason="replaced")
    assert old.expect_close() == CLOSE_NORMAL
    viewer.expect("peer-left", peerId=old.peer_id)
    viewer.expect("peer-joined", peer={"peerId": new.peer_id, "role": "presenter", "name": ""})
    new.send("signal", to=viewer.peer_id, data={"sdp": "again"})
    viewer.expect("signal", **{"from": new.peer_id})


def test_a_crashed_presenter_leaves_the_room_open(origin, peers):
    room, presenter, (viewer,) = _broadcast(origin, peers, viewers=1)
    presenter.crash()
    viewer.expect("peer-left", peerId=presenter.peer_id)
    assert _status(origin + room["url"])[0] == 200  # open for the grace period
    back = peers()
    back.join(room["room"], "presenter", hostToken=room["hostToken"])
    viewer.expect("peer-joined")


def test_a_meeting_of_three(origin, peers):
    room = create_room(origin, "meeting", passcode="staff")
    ann, bob, cat = peers(), peers(), peers()
    assert ann.join(room["room"], "participant", passcode="staff", name="Ann")["peers"] == []
    ann.send("state", muted=True, cameraOff=False)
    ann.send("ping")
    ann.expect("pong")  # the state is in before Bob comes
    joined = bob.join(room["room"], "participant", passcode="staff", name="Bob")
    assert joined["peers"] == [{"peerId": ann.peer_id, "role": "participant", "name": "Ann", "muted": True,
                                "cameraOff": False}]
    ann.expect("peer-joined", peer={"peerId": bob.peer_id, "role": "participant", "name": "Bob", "muted": False,
                                    "cameraOff": False})
    joined = cat.join(room["room"], "participant", passcode="staff")
    assert {peer["peerId"] for peer in joined["peers"]} == {ann.peer_id, bob.peer_id}
    ann.expect("peer-joined")
    bob.expect("peer-joined")

    cat.send("signal", to=ann.peer_id, data={"type": "offer"})  # the newcomer offers to everyone
    cat.send("signal", to=bob.peer_id, data={"type": "offer"})
    ann.expect("signal", **{"from": cat.peer_id})
    bob.expect("signal", **{"from": cat.peer_id})
    bob.send("signal", to=cat.peer_id, data={"type": "answer"})
    cat.expect("signal", **{"from": bob.peer_id, "data": {"type": "answer"}})
    bob.send("state", muted=False, cameraOff=True)
    for peer in (ann, cat):
        peer.expect("peer-state", peerId=bob.peer_id, muted=False, cameraOff=True)

    bob.send("leave")
    assert bob.expect_close() == CLOSE_NORMAL
    for peer in (ann, cat):
        peer.expect("peer-left", peerId=bob.peer_id)
    cat.crash()
    ann.expect("peer-left", peerId=cat.peer_id)
    ann.send("ping")
    ann.expect("pong")


def test_a_full_meeting_refuses_the_next_participant(origin, peers):
    room = create_room(origin, "meeting")
    members = [peers() for _ in range(RoomLimits.max_meeting_size)]
    for member in members:
        member.join(room["room"], "participant")
    extra = peers()
    extra.send("join", room=room["room"], role="participant")
    extra.expect_error("room-full")
    assert extra.expect_close() == CLOSE_POLICY
    for _ in members[1:]:
        members[0].expect("peer-joined")
    members[0].expect_quiet()  # never heard of the one refused


def test_a_full_broadcast_refuses_the_next_viewer(origin, peers):
    room, presenter, _ = _broadcast(origin, peers, viewers=MAX_VIEWERS)
    extra = peers()
    extra.send("join", room=room["room"], role="viewer")
    extra.expect_error("room-full")
    presenter.expect_quiet()


@pytest.mark.parametrize("role, fields, code", [
    ("viewer", {"passcode": "wrong"}, "wrong-passcode"),
    ("viewer", {}, "wrong-passcode"),
    ("presenter", {"hostToken": "guessed"}, "bad-token"),
    ("participant", {"passcode": "1234"}, "wrong-role"),
])
def test_refused_joins_close_the_socket(origin, peers, role, fields, code):
    room, presenter, _ = _broadcast(origin, peers, viewers=0, passcode="1234")
    intruder = peers()
    intruder.send("join", room=room["room"], role=role, **fields)
    intruder.expect_error(code)
    assert intruder.expect_close() == CLOSE_POLICY
    presenter.expect_quiet()


def test_unknown_room_and_messages_before_join(origin, peers):
    lost = peers()
    lost.send("join", room="no-such-room", role="viewer")
    lost.expect_error("unknown-room")
    assert lost.expect_close() == CLOSE_POLICY
    early = peers()
    early.send_text("{oops")  # a malformed first message is only an error
    early.expect_error("bad-json")
    early.send("ping")  # a valid one that is not a join ends the socket
    early.expect_error("not-joined-yet")
    assert early.expect_close() == CLOSE_POLICY


def test_bad_messages_are_errors_to_the_sender_only(origin, peers):
    room, presenter, (ann, bob) = _broadcast(origin, peers)
    limit = RoomLimits.max_message_bytes
    for text, code in [
        ("{not json", "bad-json"),
        ('"a string"', "bad-message"),
        ('{"type": "dance"}', "unknown-type"),
        ('{"type": "signal", "to": "x"}', "bad-field"),
        ('{"type": "join", "room": "r", "role": "viewer"}', "already-joined"),
        ('{"type": "state", "muted": true, "cameraOff": true}', "not-allowed"),
        (json.dumps({"type": "signal", "to": presenter.peer_id, "data": {"sdp": "x" * limit}}), "too-large"),
    ]:
        ann.send_text(text)
        ann.expect_error(code)
    ann.ws.send_binary(b"\x00\x01")
    ann.expect_error("bad-message")
    presenter.expect_quiet()
    bob.expect_quiet()
    ann.send("signal", to=presenter.peer_id, data={"still": "here"})
    presenter.expect("signal", **{"from": ann.peer_id, "data": {"still": "here"}})
    presenter.send("signal", to=bob.peer_id, data={"n": 2})
    bob.expect("signal", data={"n": 2})


def test_a_message_past_the_hard_cap_closes_the_socket(origin, peers):
    room, presenter, (viewer,) = _broadcast(origin, peers, viewers=1)
    viewer.send_text("x" * (HARD_CAP_FACTOR * RoomLimits.max_message_bytes + 1))
    assert viewer.expect_close() == 1009  # message too big
    presenter.expect("peer-left", peerId=viewer.peer_id)


def test_a_flood_is_rate_limited_and_the_socket_recovers(origin, peers):
    room, presenter, (viewer,) = _broadcast(origin, peers, viewers=1)
    sent = RoomLimits.message_burst + 50
    for _ in range(sent):
        viewer.send("ping")
    answers = [viewer.receive()["type"] for _ in range(sent)]
    assert answers.count("pong") >= RoomLimits.message_burst - 1  # the join took a token
    assert answers.count("error") >= 1
    time.sleep(2 / RoomLimits.messages_per_s)  # a couple of tokens back
    viewer.send("signal", to=presenter.peer_id, data={"after": "flood"})
    presenter.expect("signal", data={"after": "flood"})


def test_a_presenter_may_send_for_every_viewer(origin, peers):
    room, presenter, _ = _broadcast(origin, peers, viewers=0)
    for _ in range(MAX_VIEWERS * RoomLimits.message_burst):
        presenter.send("ping")
    answers = [presenter.receive()["type"] for _ in range(MAX_VIEWERS * RoomLimits.message_burst)]
    assert set(answers) == {"pong"}


def test_sockets_from_other_sites_are_refused(origin):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(origin.replace("http", "ws") + "/ws", origin="https://evil.example", timeout=5)
    assert refused.value.status_code == 403
    websocket.create_connection(origin.replace("http", "ws") + "/ws", origin=origin, timeout=5).close()


def test_sockets_per_address_are_limited():
    server = start_server(["--max-sockets-per-address", "2"])
    try:
        first, _, third = Peer(server.origin), Peer(server.origin), Peer(server.origin)
        third.expect_error("too-many-sockets")
        assert third.expect_close() == CLOSE_POLICY
        first.close()
        deadline = time.monotonic() + 5
        while True:  # admitted once the server has counted the closed socket out
            fourth = Peer(server.origin)
            fourth.send("ping")
            code = fourth.receive()["code"]
            if code != "too-many-sockets" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert code == "not-joined-yet"  # the refusal is now about joining, not the limit
    finally:
        stop_server(server)


def test_sigterm_tells_every_socket_the_server_is_going_away():
    server = start_server()
    try:
        room = create_room(server.origin, "broadcast")
        presenter, viewer, lobby = Peer(server.origin), Peer(server.origin), Peer(server.origin)
        presenter.join(room["room"], "presenter", hostToken=room["hostToken"])
        viewer.join(room["room"], "viewer")
        for introduction in ("viewers", "peer-joined", "viewers"):
            presenter.expect(introduction)
        started = time.monotonic()
    finally:
        output = stop_server(server)
    assert server.process.returncode == 0, output
    assert time.monotonic() - started < GRACEFUL_TIMEOUT_S  # the open sockets did not hold the server up
    for peer in (presenter, viewer, lobby):
        peer.expect("ended", reason="server-shutdown")
        assert peer.expect_close() == CLOSE_GOING_AWAY


def test_rooms_work_over_tls_and_stop_promptly(tmp_path):
    server = start_server(["--tls"], env={"VBG_INSTANCE_DIR": str(tmp_path)}, scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "self-signed-cert.pem"))
        room = create_room(server.origin, "meeting", context=context)
        ann, bob = Peer(server.origin, context), Peer(server.origin, context)
        ann.join(room["room"], "participant")
        bob.join(room["room"], "participant")
        ann.expect("peer-joined")
        bob.send("signal", to=ann.peer_id, data={"type": "offer", "sdp": "v=0\r\n" * 300})
        ann.expect("signal", **{"from": bob.peer_id})
        started = time.monotonic()
    finally:
        output = stop_server(server)
    assert server.process.returncode == 0, output
    assert time.monotonic() - started < GRACEFUL_TIMEOUT_S
    for peer in (ann, bob):
        peer.expect("ended", reason="server-shutdown")
