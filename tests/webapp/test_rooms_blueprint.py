"""webapp/blueprints/rooms.py over HTTP: creating rooms, the watch and meet pages, their 404s."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp import create_app
from webapp.blueprints.rooms import MAX_CREATE_BODY_BYTES, NOT_FOUND, registry_of
from webapp.config import TestConfig
from webapp.security import SECURITY_HEADERS

ICE = [{"urls": ["stun:stun.example.org:3478"]}]
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends with our own form


@pytest.fixture
def app(models_dir, tmp_path):
    return create_app(TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path / "instance",
                                 ice_servers=ICE, max_rooms_per_address=3))


def _create(client, body, **kwargs):
    return client.post("/api/rooms", data=json.dumps(body), content_type="application/json", **kwargs)


def _page_config(response) -> dict:
    html = response.get_data(as_text=True)
    block = html.split('<script type="application/json" id="vbg-config">', 1)[1].split("</script>", 1)[0]
    return json.loads(block)


@pytest.mark.parametrize("kind, page", [("broadcast", "watch"), ("meeting", "meet")])
def test_create_a_room_and_open_its_page(client, kind, page):
    response = _create(client, {"kind": kind, "passcode": "1234"})
    assert response.status_code == 201
    room = response.json
    assert set(room) == {"room", "kind", "url", "hostToken"}
    assert room["kind"] == kind and room["url"] == f"/{page}/{room['room']}"
    page_response = client.get(room["url"])
    assert page_response.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page_response.headers[name] == value
    config = _page_config(page_response)
    assert config["room"] == room["room"] and config["roomKind"] == kind and config["hasPasscode"] is True
    assert config["signalUrl"] == "/ws" and config["iceServers"] == ICE
    assert config["modelManifestUrl"] == "/models/tiny.json"  # the studio's config is there too
    assert room["hostToken"] not in page_response.get_data(as_text=True)


def test_unknown_and_ended_rooms_are_404_with_advice(app, client):
    for path, kind in [("/watch/nope", "broadcast"), ("/meet/nope", "meeting")]:
        response = client.get(path)
        assert response.status_code == 404 and NOT_FOUND[kind] in response.get_data(as_text=True)
    meeting = _create(client, {"kind": "meeting"}).json["room"]
    assert client.get(f"/watch/{meeting}").status_code == 404  # a meeting is not a broadcast
    broadcast = _create(client, {"kind": "broadcast"}).json
    registry = registry_of(app)
    assert registry.room(broadcast["room"]) is not None
    registry.shutdown()  # ends every room
    response = client.get(broadcast["url"])
    assert response.status_code == 404 and "Ask the presenter for a new link." in response.get_data(as_text=True)


@pytest.mark.parametrize("junk", [".", ")", "%20", "%E2%80%8B", "/", "/.", ",%20thanks!"])
def test_a_link_pasted_with_trailing_characters_finds_its_room(client, junk):
    for kind in ("broadcast", "meeting"):
        room = _create(client, {"kind": kind}).json
        response = client.get(room["url"] + junk)
        assert response.status_code == 302 and response.headers["Location"] == room["url"], (kind, junk)
    assert client.get(f"/watch/{room['room']}.").status_code == 404  # a meeting's id is not a broadcast
    assert client.get("/watch/nope.").status_code == 404  # junk after an unknown id stays unknown
    assert client.get(f"/watch/x{room['room']}").status_code == 404  # only trailing junk is forgiven


def test_meet_without_an_id_offers_to_start_one_and_creates_nothing(client):
    response = client.get("/meet")
    assert response.status_code == 200 and b'method="post"' in response.data
    assert registry_of(client.application).stats()["rooms"] == 0


def test_posting_the_start_form_creates_a_meeting(client):
    response = client.post("/meet", data={}, headers=SAME_ORIGIN)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/meet/") and client.get(location).status_code == 200


def test_a_started_meeting_keeps_its_passcode_in_the_fragment(client):
    response = client.post("/meet", data={"passcode": "blue owl"}, headers=SAME_ORIGIN)
    path, _, fragment = response.headers["Location"].partition("#")
    assert fragment == "passcode=blue+owl"
    assert _page_config(client.get(path))["hasPasscode"] is True


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {}],
                         ids=["cross-site", "same-site", "no Sec-Fetch-Site"])
def test_the_start_form_refuses_other_sites(client, headers):
    response = client.post("/meet", data={}, headers=headers)
    assert response.status_code == 403
    assert registry_of(client.application).stats()["rooms"] == 0


@pytest.mark.parametrize("body, status, code", [
    ({"kind": "party"}, 400, "bad-field"),
    ({"kind": "meeting", "passcode": ""}, 400, "bad-field"),
    ({"kind": "meeting", "passcode": "x" * 65}, 400, "bad-field"),
    ([], 400, "bad-message"),
    ("{", 400, "bad-json"),
    ({"kind": "meeting", "pad": "x" * MAX_CREATE_BODY_BYTES}, 413, "too-large"),
])
def test_bad_create_requests_are_json_errors(client, body, status, code):
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/rooms", data=data, content_type="application/json")
    assert response.status_code == status
    assert response.json["error"] == code and response.json["message"]


def test_create_needs_a_json_content_type(client):
    response = client.post("/api/rooms", data='{"kind": "meeting"}', content_type="text/plain")
    assert response.status_code == 415 and response.json["error"] == "bad-content-type"


def test_rooms_per_address_are_limited(client):
    for _ in range(3):
        assert _create(client, {"kind": "meeting"}).status_code == 201
    response = _create(client, {"kind": "broadcast"})
    assert response.status_code == 429 and response.json["error"] == "too-many-rooms"
    assert client.post("/meet", data={}, headers=SAME_ORIGIN).status_code == 429
    other = _create(client, {"kind": "broadcast"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 201


def test_the_socket_route_is_websocket_only(client):
    assert client.get("/ws").status_code == 400


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=80),
                 lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                                   max_size=4),
                 max_leaves=10).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"kind": st.sampled_from(["broadcast", "meeting", "x"])},
                          optional={"passcode": st.none() | st.text(max_size=70) | st.integers()})
    .map(lambda value: json.dumps(value).encode()),
))
def test_any_create_body_is_a_room_or_a_client_error(client, body):
    response = client.post("/api/rooms", data=body, content_type="application/json")
    assert response.status_code == 201 or 400 <= response.status_code < 500
    if response.status_code != 201:
        assert set(response.json) == {"error", "message"}


def test_other_sites_cannot_open_room_sockets(client):
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Version": "13"}
    response = client.get("/ws", headers={**upgrade, "Origin": "https://evil.example"})
    assert response.status_code == 403


def test_the_host_token_is_never_stored_by_caches(client):
    assert _create(client, {"kind": "broadcast"}).headers["Cache-Control"] == "no-store"
