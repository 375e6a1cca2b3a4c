"""webapp/rooms/registry.py: rooms, roles, routing, limits and lifetimes, without sockets."""
import base64
import json
import os
import random
import re
import secrets
import threading
import time

import numpy as np
import pytest

from webapp.rooms.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, Join, ProtocolError
from webapp.rooms.registry import Registry, RoomLimits, TokenBucket

ROOM_ID_SAMPLES = 2000  # 32,000 id bytes: 125 of each value expected
ROOMS_PER_REGISTRY = 200  # well under a server's limit on live rooms
# Both far in the tails for truly random ids (chi-square with 255 degrees of freedom has mean 255 and
# standard deviation 23; 6 sigmas of a fair bit happen once in 10^9), so the test never flakes.
BYTE_CHI_SQUARE_MAX = 400
BIT_SIGMAS = 6


class FakeChannel:
    """Records what the registry queues and when it closes."""

    def __init__(self):
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self.flushes = 0

    def send(self, text: str) -> None:
        if self.close_code is None:
            self.messages.append(json.loads(text))

    def close(self, code: int) -> None:
        self.close_code = self.close_code or code

    def flush(self) -> None:
        self.flushes += 1

    def take(self) -> list[dict]:
        """The messages since the last take."""
        taken, self.messages = self.messages, []
        return taken


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def rooms(clock):
    return Registry(RoomLimits(max_viewers=2, max_meeting_size=3, max_rooms_per_address=3, max_sockets=5,
                               max_sockets_per_address=4),
                    ice_servers=[{"urls": "stun:stun.example.org"}], clock=clock)


def _join(rooms, room, role, **fields):
    channel = FakeChannel()
    member = rooms.join(Join(room.id, role, **fields), channel)
    return member, channel


@pytest.fixture
def broadcast(rooms):
    room, token = rooms.create_room("broadcast", None, "10.0.0.1")
    return room, token


def _id_bytes(room_id: str) -> bytes:
    """A room id as the bytes it encodes (URL-safe base64 without padding)."""
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", room_id), room_id
    return base64.urlsafe_b64decode(room_id + "==")


def test_room_ids_are_128_random_bits_from_secrets(monkeypatch):
    """A room's link cannot be guessed: its id is 128 bits from the OS's CSPRNG, not a counter or a PRNG."""
    # Many ids: all distinct, every byte value and every one of the 128 bits equally likely (a counter or
    # a short id padded to length fails here; a hash of a counter or a clock does not, the last check does).
    ids = []
    for _ in range(ROOM_ID_SAMPLES // ROOMS_PER_REGISTRY):
        batch = Registry(RoomLimits(max_rooms_per_address=ROOMS_PER_REGISTRY))
        ids += [batch.create_room("meeting", None, "10.0.0.1")[0].id for _ in range(ROOMS_PER_REGISTRY)]
    assert len(set(ids)) == len(ids)
    bits = np.unpackbits(np.frombuffer(b"".join(map(_id_bytes, ids)), np.uint8).reshape(len(ids), 16), axis=1)
    expected = len(ids) * 16 / 256
    byte_counts = np.bincount(np.packbits(bits, axis=1).ravel(), minlength=256)
    chi_square = float(((byte_counts - expected) ** 2 / expected).sum())
    assert chi_square < BYTE_CHI_SQUARE_MAX, f"byte values are not uniform: chi-square {chi_square:.0f}"
    ones = bits.sum(axis=0)
    spread = BIT_SIGMAS * np.sqrt(len(ids) / 4)
    assert np.all(np.abs(ones - len(ids) / 2) < spread), f"biased bits: {ones.tolist()}"

    # Not Python's random (its Mersenne Twister can be predicted from its outputs, or seeded): the same
    # seed gives other ids.
    random.seed(0)
    first = Registry().create_room("meeting", None, "10.0.0.1")[0].id
    random.seed(0)
    assert Registry().create_room("meeting", None, "10.0.0.1")[0].id != first

    # The id's 16 bytes are bytes the secrets module (the OS's CSPRNG) handed out.
    handed_out = []

    def token_bytes(nbytes=None):
        value = os.urandom(nbytes)
        handed_out.append(value)
        return value

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    room, token = Registry().create_room("meeting", None, "10.0.0.1")
    assert _id_bytes(room.id) in handed_out, "the room id is not bytes the secrets module handed out"
    assert base64.urlsafe_b64decode(token + "=") in handed_out and len(token) == 43  # 256 bits


def test_rooms_keep_no_secret_in_clear(rooms):
    room, token = rooms.create_room("meeting", "open sesame", "10.0.0.1")
    assert room.has_passcode and rooms.room(room.id) == room
    stored = vars(rooms._rooms[room.id])
    assert all(value not in (token, "open sesame") for value in stored.values())
    assert rooms.room("nope") is None


def test_rooms_per_address_are_limited(rooms):
    for _ in range(3):
        rooms.create_room("meeting", None, "10.0.0.1")
    with pytest.raises(ProtocolError) as refused:
        rooms.create_room("broadcast", None, "10.0.0.1")
    assert refused.value.code == "too-many-rooms"
    rooms.create_room("broadcast", None, "10.0.0.2")  # another address is not affected


def test_presenter_and_viewers_are_introduced(rooms, broadcast):
    room, token = broadcast
    presenter, p = _join(rooms, room, "presenter", host_token=token)
    joined, count = p.take()
    assert joined["type"] == "joined" and joined["role"] == "presenter" and joined["peers"] == []
    assert joined["iceServers"] == [{"urls": "stun:stun.example.org"}] and joined["kind"] == "broadcast"
    assert count == {"type": "viewers", "count": 0}

    viewer, v = _join(rooms, room, "viewer", name="Ann")
    assert v.take() == [{"type": "joined", "peerId": viewer.peer_id, "role": "viewer", "kind": "broadcast",
                         "peers": [{"peerId": presenter.peer_id, "role": "presenter", "name": ""}],
                         "iceServers": [{"urls": "stun:stun.example.org"}]}]
    assert p.take() == [{"type": "peer-joined", "peer": {"peerId": viewer.peer_id, "role": "viewer", "name": "Ann"}},
                        {"type": "viewers", "count": 1}]
    second, v2 = _join(rooms, room, "viewer")
    v2.take()
    assert [m["type"] for m in p.take()] == ["peer-joined", "viewers"]
    assert v.take() == []  # viewers do not hear of each other

    rooms.leave(viewer)
    rooms.leave(viewer)  # idempotent: a leave message, then the socket's close
    assert p.take() == [{"type": "peer-left", "peerId": viewer.peer_id}, {"type": "viewers", "count": 1}]
    assert v2.take() == []


def test_viewers_wait_for_a_presenter(rooms, broadcast):
    room, token = broadcast
    viewer, v = _join(rooms, room, "viewer")
    assert v.take()[0]["peers"] == []
    presenter, p = _join(rooms, room, "presenter", host_token=token)
    assert p.take()[0]["peers"] == [{"peerId": viewer.peer_id, "role": "viewer", "name": ""}]
    assert v.take() == [{"type": "peer-joined", "peer": {"peerId": presenter.peer_id, "role": "presenter", "name": ""}}]


@pytest.mark.parametrize("kind, role, fields, code", [
    ("broadcast", "presenter", {}, "bad-token"),
    ("broadcast", "presenter", {"host_token": "guess"}, "bad-token"),
    ("broadcast", "participant", {}, "wrong-role"),
    ("meeting", "viewer", {}, "wrong-role"),
    ("meeting", "presenter", {}, "wrong-role"),
    ("meeting", "participant", {}, "wrong-passcode"),
    ("meeting", "participant", {"passcode": "wrong"}, "wrong-passcode"),
])
def test_joins_are_refused_with_a_code(rooms, kind, role, fields, code):
    room, _ = rooms.create_room(kind, "right" if kind == "meeting" else None, "10.0.0.1")
    with pytest.raises(ProtocolError) as refused:
        _join(rooms, room, role, **fields)
    assert refused.value.code == code
    assert rooms.stats()["members"] == 0


def test_unknown_room_is_refused(rooms):
    with pytest.raises(ProtocolError, match="unknown-room"):
        rooms.join(Join("nope", "viewer"), FakeChannel())


def test_rooms_fill_up(rooms, broadcast):
    room, token = broadcast
    _join(rooms, room, "viewer")
    _join(rooms, room, "viewer")
    with pytest.raises(ProtocolError, match="room-full"):
        _join(rooms, room, "viewer")
    _join(rooms, room, "presenter", host_token=token)  # the presenter is not a viewer
    meeting, _ = rooms.create_room("meeting", "pw", "10.0.0.1")
    for _ in range(3):
        _join(rooms, meeting, "participant", passcode="pw")
    with pytest.raises(ProtocolError, match="room-full"):
        _join(rooms, meeting, "participant", passcode="pw")


def test_signals_follow_the_roles(rooms, broadcast):
    room, token = broadcast
    presenter, p = _join(rooms, room, "presenter", host_token=token)
    ann, a = _join(rooms, room, "viewer")
    bob, b = _join(rooms, room, "viewer")
    for channel in (p, a, b):
        channel.take()
    rooms.relay(ann, presenter.peer_id, '{"sdp":"answer"}')
    assert p.take() == [{"type": "signal", "from": ann.peer_id, "data": {"sdp": "answer"}}]
    rooms.relay(presenter, bob.peer_id, '{"sdp":"offer"}')
    assert b.take() == [{"type": "signal", "from": presenter.peer_id, "data": {"sdp": "offer"}}]
    with pytest.raises(ProtocolError, match="not-allowed"):
        rooms.relay(ann, bob.peer_id, "{}")
    for to in ("nobody", ann.peer_id):
        with pytest.raises(ProtocolError, match="unknown-peer"):
            rooms.relay(ann, to, "{}")
    assert a.take() == b.take() == p.take() == []


def test_a_new_presenter_socket_replaces_the_old(rooms, broadcast):
    room, token = broadcast
    old, o = _join(rooms, room, "presenter", host_token=token)
    viewer, v = _join(rooms, room, "viewer")
    v.take()
    new, n = _join(rooms, room, "presenter", host_token=token)
    assert o.messages[-1] == {"type": "ended", "reason": "replaced"} and o.close_code == CLOSE_NORMAL
    assert v.take() == [{"type": "peer-left", "peerId": old.peer_id},
                        {"type": "peer-joined", "peer": {"peerId": new.peer_id, "role": "presenter", "name": ""}}]
    assert n.take()[0]["peers"] == [{"peerId": viewer.peer_id, "role": "viewer", "name": ""}]
    rooms.relay(old, viewer.peer_id, "{}")  # a late message from the replaced socket goes nowhere
    rooms.leave(old)
    assert v.take() == [] and room.id in rooms._rooms


def test_meeting_members_see_each_other_and_their_state(rooms):
    room, _ = rooms.create_room("meeting", None, "10.0.0.1")
    ann, a = _join(rooms, room, "participant", name="Ann")
    rooms.set_state(ann, True, False)
    bob, b = _join(rooms, room, "participant", name="Bob")
    assert b.take()[0]["peers"] == [{"peerId": ann.peer_id, "role": "participant", "name": "Ann", "muted": True,
                                     "cameraOff": False}]
    a.take()
    rooms.set_state(bob, False, True)
    assert a.take() == [{"type": "peer-state", "peerId": bob.peer_id, "muted": False, "cameraOff": True}]
    rooms.relay(bob, ann.peer_id, '{"candidate":"x"}')
    assert a.take() == [{"type": "signal", "from": bob.peer_id, "data": {"candidate": "x"}}]
    rooms.leave(bob)
    assert a.take() == [{"type": "peer-left", "peerId": bob.peer_id}]
    with pytest.raises(ProtocolError, match="not-allowed"):
        rooms.end(ann)  # nobody ends a meeting for the others


def test_viewers_hear_when_the_presenter_pauses_the_camera_or_mutes(rooms, broadcast):
    room, token = broadcast
    presenter, p = _join(rooms, room, "presenter", host_token=token)
    ann, a = _join(rooms, room, "viewer")
    a.take()
    p.take()
    rooms.set_state(presenter, False, True)
    paused = {"type": "peer-state", "peerId": presenter.peer_id, "muted": False, "cameraOff": True}
    assert a.take() == [paused] and p.take() == []
    late, v = _join(rooms, room, "viewer")  # joins while the camera is paused: told right after joined
    assert [m["type"] for m in v.take()] == ["joined", "peer-state"]
    p.take()
    rooms.set_state(presenter, False, False)
    assert a.take() == v.take() == [{**paused, "cameraOff": False}]
    with pytest.raises(ProtocolError, match="not-allowed"):
        rooms.set_state(ann, True, True)  # a viewer sends nothing to pause
    assert p.take() == [] and v.take() == []
    rooms.leave(late)
    bob, b = _join(rooms, room, "viewer")  # nothing paused: no state message
    assert [m["type"] for m in b.take()] == ["joined"]


def test_presenter_ends_the_broadcast_for_everyone(rooms, broadcast):
    room, token = broadcast
    viewer, v = _join(rooms, room, "viewer")
    with pytest.raises(ProtocolError, match="not-allowed"):
        rooms.end(viewer)
    presenter, p = _join(rooms, room, "presenter", host_token=token)
    rooms.end(presenter)
    for channel in (v, p):
        assert channel.messages[-1] == {"type": "ended", "reason": "presenter-ended"}
        assert channel.close_code == CLOSE_NORMAL and channel.flushes
    assert rooms.room(room.id) is None and rooms.stats()["members"] == 0


def test_a_broadcast_waits_for_its_presenter_then_expires(rooms, broadcast, clock):
    room, token = broadcast
    presenter, _ = _join(rooms, room, "presenter", host_token=token)
    viewer, v = _join(rooms, room, "viewer")
    clock.now += 3600
    assert rooms.expire() == []  # the presenter is in: no limit on a broadcast's length
    rooms.leave(presenter)  # its socket dropped
    clock.now += rooms.limits.vacancy_grace_s - 1
    _join(rooms, room, "viewer")  # viewers coming and going do not extend the wait
    assert rooms.expire() == []
    clock.now += 1
    assert rooms.expire() == [room.id]
    assert v.messages[-1] == {"type": "ended", "reason": "expired"} and v.close_code == CLOSE_NORMAL
    assert rooms.room(room.id) is None


def test_a_returning_presenter_keeps_the_room(rooms, broadcast, clock):
    room, token = broadcast
    presenter, _ = _join(rooms, room, "presenter", host_token=token)
    rooms.leave(presenter)
    clock.now += rooms.limits.vacancy_grace_s - 1
    _join(rooms, room, "presenter", host_token=token)
    clock.now += rooms.limits.vacancy_grace_s
    assert rooms.expire() == []


def test_unused_and_empty_rooms_expire_and_free_the_address(rooms, clock):
    unused = [rooms.create_room("meeting", None, "10.0.0.1")[0] for _ in range(3)]
    ann, _ = _join(rooms, unused[0], "participant")
    clock.now += rooms.limits.vacancy_grace_s
    assert sorted(rooms.expire()) == sorted(room.id for room in unused[1:])
    rooms.leave(ann)
    clock.now += rooms.limits.vacancy_grace_s
    assert rooms.expire() == [unused[0].id]
    for _ in range(3):
        rooms.create_room("meeting", None, "10.0.0.1")


def test_sockets_are_limited_per_address_and_in_all(rooms):
    channels = [FakeChannel() for _ in range(6)]
    for channel in channels[:4]:
        rooms.open_socket(channel, "10.0.0.1")
    with pytest.raises(ProtocolError, match="too-many-sockets"):
        rooms.open_socket(channels[4], "10.0.0.1")
    rooms.open_socket(channels[4], "10.0.0.2")
    with pytest.raises(ProtocolError, match="too-many-sockets"):
        rooms.open_socket(channels[5], "10.0.0.3")  # max_sockets=5 in all
    rooms.close_socket(channels[0])
    rooms.close_socket(channels[0])
    rooms.open_socket(channels[5], "10.0.0.1")
    assert rooms.stats()["sockets"] == 5


def test_shutdown_tells_every_socket(rooms, broadcast):
    room, token = broadcast
    lobby = FakeChannel()  # open, not in a room yet
    rooms.open_socket(lobby, "10.0.0.1")
    _, p = _join(rooms, room, "presenter", host_token=token)
    rooms.open_socket(p, "10.0.0.1")
    rooms.shutdown()
    for channel in (lobby, p):
        assert channel.messages[-1] == {"type": "ended", "reason": "server-shutdown"}
        assert channel.close_code == CLOSE_GOING_AWAY and channel.flushes
    with pytest.raises(ProtocolError, match="server-shutdown"):
        rooms.open_socket(FakeChannel(), "10.0.0.1")
    with pytest.raises(ProtocolError, match="server-shutdown"):
        rooms.create_room("meeting", None, "10.0.0.1")


class YieldingChannel(FakeChannel):
    """Gives the other threads a turn on every message, i.e. inside the registry's critical section."""

    def send(self, text: str) -> None:
        time.sleep(0)  # releases the GIL: without the lock another thread's join or leave runs here
        super().send(text)


def _replay_viewer_counts(messages: list[dict]) -> list[tuple[int, int]]:
    """(viewers the presenter was told, viewers its peer-joined/peer-left messages add up to) per count."""
    present, told = set(), []
    for message in messages:
        if message["type"] == "peer-joined":
            present.add(message["peer"]["peerId"])
        elif message["type"] == "peer-left":
            present.discard(message["peerId"])
        elif message["type"] == "viewers":
            told.append((message["count"], len(present)))
    return told


def test_concurrent_joins_and_leaves_stay_consistent():
    threads_n, rounds, max_viewers = 8, 40, 3
    rooms = Registry(RoomLimits(max_viewers=max_viewers))
    room, token = rooms.create_room("broadcast", None, "10.0.0.1")
    p = YieldingChannel()
    presenter = rooms.join(Join(room.id, "presenter", host_token=token), p)
    start = threading.Barrier(threads_n)
    joined, failures = [], []

    def churn():
        try:
            start.wait()
            for _ in range(rounds):
                try:
                    viewer, _ = _join(rooms, room, "viewer")
                except ProtocolError as refused:
                    assert refused.code == "room-full"
                    continue
                joined.append(viewer)
                rooms.relay(viewer, presenter.peer_id, "{}")
                rooms.leave(viewer)
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(repr(error))

    workers = [threading.Thread(target=churn) for _ in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, failures
    # Every count the presenter hears is the number of viewers its own messages add up to, in order,
    # and never more than the room holds.
    told = _replay_viewer_counts(p.messages)
    assert [count for count, _ in told] == [present for _, present in told], told
    assert told[-1] == (0, 0) and max(count for count, _ in told) <= max_viewers
    assert sum(m["type"] == "signal" for m in p.messages) == len(joined) > 0
    assert rooms.stats() == {"rooms": 1, "members": 1, "sockets": 0}


def test_token_bucket_allows_a_burst_then_the_rate(clock):
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.1  # one token
    assert [bucket.take() for _ in range(2)] == [True, False]
    clock.now += 100  # never more than the burst saved up
    assert sum(bucket.take() for _ in range(10)) == 3


def test_a_socket_may_send_for_every_peer_it_negotiates_with():
    limits = RoomLimits(max_viewers=30, max_meeting_size=6)
    assert [limits.peers_at_most(role) for role in (None, "viewer", "presenter", "participant")] == [1, 1, 30, 5]
    bucket = limits.message_budget("presenter")
    assert sum(bucket.take() for _ in range(4 * 30 * limits.message_burst)) < 2 * 30 * limits.message_burst
    assert 30 * limits.message_burst <= sum(limits.message_budget("presenter").take() for _ in range(3001))


def test_rooms_are_limited_in_all(clock):
    rooms = Registry(RoomLimits(max_rooms=3, max_rooms_per_address=2), clock=clock)
    for creator in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        rooms.create_room("meeting", None, creator)
    with pytest.raises(ProtocolError) as refused:
        rooms.create_room("meeting", None, "10.0.0.4")  # a new address, under its own limit
    assert refused.value.code == "server-full"
    clock.now += rooms.limits.vacancy_grace_s
    rooms.expire()
    rooms.create_room("meeting", None, "10.0.0.4")


def _try_passcode(rooms, room, passcode, address):
    channel = FakeChannel()
    rooms.open_socket(channel, address)
    try:
        rooms.join(Join(room.id, "viewer", passcode=passcode), channel)
        return "joined"
    except ProtocolError as refused:
        return refused.code
    finally:
        rooms.close_socket(channel)


def test_wrong_passcodes_are_limited_per_room_and_address(clock):
    rooms = Registry(RoomLimits(max_viewers=50), clock=clock)
    room, _ = rooms.create_room("broadcast", "blue-owl", "10.0.0.1")
    failures = rooms.limits.max_passcode_failures
    assert [_try_passcode(rooms, room, f"guess-{n}", "10.0.0.9") for n in range(failures)] == ["wrong-passcode"] * failures
    # Past the limit even the right passcode is refused from that address, not from another, nor elsewhere.
    assert _try_passcode(rooms, room, "blue-owl", "10.0.0.9") == "too-many-attempts"
    assert _try_passcode(rooms, room, "blue-owl", "10.0.0.8") == "joined"
    other, _ = rooms.create_room("broadcast", "red-fox", "10.0.0.1")
    assert _try_passcode(rooms, other, "red-fox", "10.0.0.9") == "joined"
    clock.now += rooms.limits.passcode_failure_window_s
    assert _try_passcode(rooms, room, "blue-owl", "10.0.0.9") == "joined"
