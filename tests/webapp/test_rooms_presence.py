"""webapp/blueprints/rooms.py's lobby endpoint, GET /api/meetings/<room>/presence: how many are in a meeting."""
from webapp.blueprints.rooms import registry_of
from webapp.rooms.protocol import Join


class _Channel:
    """A socket that keeps what it is sent (the registry only queues and flushes)."""

    def __init__(self):
        self.sent = []

    def send(self, text: str) -> None:
        self.sent.append(text)

    def close(self, code: int) -> None:
        pass

    def flush(self) -> None:
        pass


def _presence(client, room: str) -> dict:
    response = client.get(f"/api/meetings/{room}/presence")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    return response.json


def test_presence_counts_who_is_in_the_meeting(app, client):
    room = client.post("/api/rooms", json={"kind": "meeting", "passcode": "1234"}).json["room"]
    assert _presence(client, room) == {"people": 0}
    registry = registry_of(app)
    members = []
    for name in ("Ada", "Grace"):
        channel = _Channel()
        registry.open_socket(channel, "127.0.0.1")
        members.append(registry.join(Join(room=room, role="participant", passcode="1234", name=name), channel))
        assert _presence(client, room) == {"people": len(members)}
    registry.leave(members.pop())
    answer = _presence(client, room)
    assert answer == {"people": 1}  # a count, never names: the passcode guards who they are
    assert "Ada" not in str(answer)


def test_presence_of_an_unknown_or_ended_meeting_says_ended(app, client):
    assert _presence(client, "nosuchroom0000000000000") == {"ended": True}
    broadcast = client.post("/api/rooms", json={"kind": "broadcast"}).json["room"]
    assert _presence(client, broadcast) == {"ended": True}  # broadcasts do not tell their audience
    meeting = client.post("/api/rooms", json={"kind": "meeting"}).json["room"]
    registry_of(app).shutdown()
    assert _presence(client, meeting) == {"ended": True}
