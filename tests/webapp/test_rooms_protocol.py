"""webapp/rooms/protocol.py: every client message is parsed into a typed value or refused with a code."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.rooms import protocol
from webapp.rooms.protocol import (
    CreateRoom, End, Join, Leave, Ping, ProtocolError, Signal, State, parse_create_room, parse_message,
)

LIMIT = 64 * 1024


def _parse(value) -> protocol.Message:
    return parse_message(json.dumps(value), LIMIT)


def _code(value) -> str:
    with pytest.raises(ProtocolError) as refused:
        parse_message(value if isinstance(value, (str, bytes)) else json.dumps(value), LIMIT)
    assert refused.value.message  # every refusal has a sentence for people
    return refused.value.code


def test_each_message_type_parses_to_its_value():
    assert _parse({"type": "join", "room": "abc_-9", "role": "viewer", "passcode": "1234", "name": " Ann "}) == Join(
        "abc_-9", "viewer", "1234", None, "Ann")
    assert _parse({"type": "join", "room": "r", "role": "presenter", "hostToken": "t"}) == Join("r", "presenter",
                                                                                                 None, "t", "")
    signal = _parse({"type": "signal", "to": "peer1", "data": {"sdp": "v=0\r\n", "n": [1, 2.5, None]}})
    assert signal == Signal("peer1", '{"sdp":"v=0\\r\\n","n":[1,2.5,null]}')
    assert _parse({"type": "state", "muted": True, "cameraOff": False}) == State(True, False)
    assert _parse({"type": "leave"}) == Leave()
    assert _parse({"type": "end", "extra": "ignored"}) == End()
    assert _parse({"type": "ping"}) == Ping()


def test_an_empty_passcode_or_token_is_none():
    empty = {"type": "join", "room": "r", "role": "viewer", "passcode": "", "hostToken": ""}
    assert _parse(empty) == Join("r", "viewer")


@pytest.mark.parametrize("value, code", [
    ("{not json", "bad-json"),
    ('{"type": "ping", "n": NaN}', "bad-json"),  # the browser's JSON.parse would refuse it
    ('{"type": "ping", "n": 1' + "0" * 5000 + "}", "bad-json"),  # past Python's digit limit
    ("[" * 50_000 + "]" * 50_000, "too-large"),
    ("[" * 20_000 + "]" * 20_000, "bad-json"),  # nesting past the recursion limit
    (b'{"type": "ping"}', "bad-message"),  # a binary frame
    ([1, 2], "bad-message"),
    ({"kind": "ping"}, "bad-message"),
    ({"type": 7}, "bad-message"),
    ({"type": "shout"}, "unknown-type"),
    ({"type": "join", "room": "a/b", "role": "viewer"}, "bad-field"),
    ({"type": "join", "room": "r" * 65, "role": "viewer"}, "bad-field"),
    ({"type": "join", "room": "r", "role": "admin"}, "bad-field"),
    ({"type": "join", "room": "r", "role": "viewer", "name": "x" * 41}, "bad-field"),
    ({"type": "join", "room": "r", "role": "viewer", "name": "bell\x07"}, "bad-field"),
    ({"type": "join", "room": "r", "role": "viewer", "passcode": 1234}, "bad-field"),
    ({"type": "join", "room": "r", "role": "viewer", "passcode": "p" * 65}, "bad-field"),
    ({"type": "signal", "to": "peer", "data": "v=0"}, "bad-field"),
    ({"type": "signal", "data": {}}, "bad-field"),
    ({"type": "state", "muted": 1, "cameraOff": False}, "bad-field"),
    ({"type": "state", "muted": True}, "bad-field"),
])
def test_refusals_carry_a_code(value, code):
    assert _code(value) == code


def test_size_is_counted_in_utf8_bytes():
    name = "é" * 20  # 40 characters, 80 bytes
    text = json.dumps({"type": "join", "room": "r", "role": "viewer", "name": name}, ensure_ascii=False)
    assert parse_message(text, len(text.encode())).name == name
    with pytest.raises(ProtocolError, match="too-large"):
        parse_message(text, len(text))


def test_relayed_signal_keeps_the_data_and_names_the_sender():
    data = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", "unicode": "é\u2028"}
    signal = _parse({"type": "signal", "to": "b", "data": data})
    relayed = json.loads(protocol.signal("a", signal.data_json))
    assert relayed == {"type": "signal", "from": "a", "data": data}


def test_passcodes_are_compared_trimmed_and_in_one_unicode_form():
    typed = {"type": "join", "room": "r", "role": "viewer", "passcode": " blue owl \u00e9🦉 "}
    decomposed = {**typed, "passcode": "blue owl e\u0301🦉"}  # the same passcode from another keyboard
    assert _parse(typed).passcode == _parse(decomposed).passcode == "blue owl \u00e9🦉"
    assert _parse({**typed, "passcode": "   "}).passcode is None
    created = parse_create_room(json.dumps({"kind": "broadcast", "passcode": "\tblue owl e\u0301🦉 "}).encode(), 4096)
    assert created.passcode == "blue owl \u00e9🦉"
    with pytest.raises(ProtocolError, match="bad-field"):  # a room made with a passcode of only spaces
        parse_create_room(b'{"kind": "meeting", "passcode": "   "}', 4096)


def test_create_room_bodies():
    assert parse_create_room(b'{"kind": "meeting"}', 4096) == CreateRoom("meeting", None)
    assert parse_create_room(b'{"kind": "broadcast", "passcode": "s3cret", "x": 1}', 4096) == CreateRoom(
        "broadcast", "s3cret")
    for body, code in [(b"\xff\xfe", "bad-json"), (b"null", "bad-message"), (b'{"kind": "party"}', "bad-field"),
                       (b'{"kind": "meeting", "passcode": ""}', "bad-field"),
                       (b'{"kind": "meeting", "passcode": ["a"]}', "bad-field")]:
        with pytest.raises(ProtocolError) as refused:
            parse_create_room(body, 4096)
        assert refused.value.code == code, body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["join", "signal", "state", "leave", "end", "ping", "other"])},
    optional={key: json_values for key in ["room", "role", "passcode", "hostToken", "name", "to", "data", "muted",
                                           "cameraOff"]},
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, message_like))
def test_any_json_value_parses_or_is_refused(value):
    try:
        parse_message(json.dumps(value), LIMIT)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_any_text_parses_or_is_refused(text):
    try:
        parse_message(text, LIMIT)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary() | json_values.map(lambda value: json.dumps(value).encode()))
def test_any_create_body_parses_or_is_refused(body):
    try:
        parse_create_room(body, 4096)
    except ProtocolError:
        pass
