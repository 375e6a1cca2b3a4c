"""The signalling protocol, version 1: the reference the browser follows.

The server introduces WebRTC peers to each other and relays their offers, answers and ICE candidates;
media flows between the browsers and never through the server. Nothing is stored on disk.

Rooms
-----
``POST /api/rooms`` with JSON ``{"kind": "broadcast" | "meeting", "passcode"?: string of 1..64 chars}``
(a passcode is compared without the spaces around it and in Unicode NFC, here and in ``join``; one of
only spaces is none)
(``Content-Type: application/json``) answers 201 with ``{"room": id, "kind": kind, "url": "/watch/<id>" or
"/meet/<id>", "hostToken": token}``. Only the creator ever sees ``hostToken``: in a broadcast it is what
makes a socket the presenter; in a meeting it is returned but not needed. Errors are JSON
``{"error": code, "message": text}``: 400 ``bad-json`` / ``bad-field``, 413 ``too-large``, 415
``bad-content-type``, 429 ``too-many-rooms`` (live rooms created from one client address), 503
``server-full`` (the server holds its most rooms, ``--max-rooms``).
``GET /meet`` creates a meeting and redirects (303) to its page. ``/watch/<id>`` and ``/meet/<id>`` answer
404 once the room has ended.

A broadcast has one presenter (whoever holds the host token) and up to ``max_viewers`` viewers; viewers
talk only to the presenter. A meeting has up to ``max_meeting_size`` participants, each connected to
every other (a full mesh). A broadcast whose presenter is gone, or a meeting with nobody in it, ends
(``expired``) after ``RoomLimits.vacancy_grace_s``, so a presenter who reloads the page or loses the
network for a moment finds the viewers still waiting.

The socket
----------
One WebSocket per page at the ``signalUrl`` the page is handed (``/ws``); a browser may open it only from
this server's pages (an ``Origin`` of another host is refused with 403 before the upgrade). Every message, both ways, is
one JSON object in a text frame with a string ``"type"``; unknown fields are ignored. Messages are at most
``max_message_bytes`` (64 KiB; an SDP is a few KB), and a socket sends at most ``messages_per_s`` on
average (burst ``message_burst``) per peer it may signal: 1 for a viewer and before joining, ``max_viewers``
for a presenter, ``max_meeting_size - 1`` for a participant.

Client to server:

- ``{"type": "join", "room": id, "role": "presenter" | "viewer" | "participant", "passcode"?: str,
  "hostToken"?: str, "name"?: str (at most 40 characters)}`` must be the first message, within
  ``JOIN_TIMEOUT_S``. presenter and viewer join broadcasts, participant joins meetings. The presenter needs
  the room's host token; a second presenter socket with the right token replaces the first (that one gets
  ``ended``/``replaced`` and is closed). Viewers and participants give the passcode when the room has one.
- ``{"type": "signal", "to": peerId, "data": {...}}`` reaches that peer as
  ``{"type": "signal", "from": senderPeerId, "data": {...}}``. ``data`` (SDP, ICE candidates) must be an
  object; the server does not look inside. In a broadcast a viewer may signal only the presenter and the
  presenter any viewer; in a meeting anyone may signal anyone else in the room.
- ``{"type": "state", "muted": bool, "cameraOff": bool}`` (participants and the presenter): the others
  in a meeting, every viewer of a broadcast, get ``{"type": "peer-state", "peerId": id, "muted": bool,
  "cameraOff": bool}``; a viewer who joins while the presenter's camera is off or its microphone muted
  gets one right after ``joined``. Refused with ``not-allowed`` from a viewer.
- ``{"type": "leave"}``: the member is removed and the socket closed normally (1000).
- ``{"type": "end"}`` (presenter only): every member, the presenter included, gets
  ``{"type": "ended", "reason": "presenter-ended"}``, the sockets are closed and the room is deleted.
- ``{"type": "ping"}`` is answered ``{"type": "pong"}``.
- ``{"type": "janus-token"}`` (a broadcast on a server in Janus mode, ``--sfu janus``): answered
  ``{"type": "janus-token", "token": str}``, a credential for one join of the broadcast's Janus room through
  ``/janus``, valid ``webapp.janus_rooms.CREDENTIAL_TTL_S``: as a publisher for the presenter (the first one
  creates the Janus room; any publisher already in it is kicked), as a subscriber for a viewer. Refused
  (recoverable) with ``not-allowed`` outside Janus mode or a broadcast, ``not-live`` before the presenter's
  first credential, ``janus-unavailable`` when Janus does not answer.

Server to client:

- ``{"type": "joined", "peerId": id, "role": role, "kind": kind, "peers": [peer, ...], "iceServers": [...]}``
  where a peer is ``{"peerId": id, "role": role, "name": name}``, and in a meeting also
  ``"muted": bool, "cameraOff": bool``. A viewer's ``peers`` holds the presenter if one is connected, the
  presenter's holds every viewer, a participant's every other participant.
- ``{"type": "peer-joined", "peer": peer}``: to the presenter when a viewer joins, to every viewer when a
  presenter joins (or rejoins), to every other participant in a meeting. Who offers: the presenter offers
  to each viewer (on ``joined`` and on ``peer-joined``); in a meeting the newcomer offers to each peer of
  its ``joined`` list.
- ``{"type": "peer-left", "peerId": id}``: to the same audience, when a member leaves, is replaced, or
  its socket drops (a crashed tab, a lost network: the server pings every ``PING_INTERVAL_S``).
- ``{"type": "viewers", "count": n}``: to the presenter right after ``joined`` and whenever the number
  of viewers changes.
- ``{"type": "ended", "reason": "presenter-ended" | "replaced" | "server-shutdown" | "expired"}``, then
  the server closes the socket.
- ``{"type": "error", "code": code, "message": human text}``, to the sender only.

  Recoverable (the socket stays open, the room is unaffected, the message is dropped): ``bad-json``,
  ``bad-message`` (not an object, no type, a binary frame), ``unknown-type``, ``bad-field``, ``too-large``,
  ``rate-limited``, ``unknown-peer``, ``not-allowed`` (a route or a message the role may not use),
  ``already-joined``, ``not-live`` and ``janus-unavailable`` (``janus-token`` only).

  Fatal (sent, then the socket is closed with 1008): ``unknown-room``, ``wrong-role``, ``wrong-passcode``,
  ``too-many-attempts`` (too many wrong passcodes from this address for this room lately), ``bad-token``,
  ``room-full``, ``not-joined-yet`` (a valid message other than join came first),
  ``join-timeout``, ``too-many-sockets`` (from one client address, or in all: each socket holds a
  server thread), ``server-shutdown`` (a socket opened while the server stops).

A message over the hard cap of the socket layer (16 x ``max_message_bytes``) closes the socket (1009)
without a reply: the server does not buffer it.
"""
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

PROTOCOL_VERSION = 1

# WebSocket close codes (RFC 6455, section 7.4.1).
CLOSE_NORMAL = 1000  # leave, end, replaced, expired
CLOSE_GOING_AWAY = 1001  # server shutdown
CLOSE_POLICY = 1008  # a fatal error, or a socket too slow to read what it is sent

Kind = Literal["broadcast", "meeting"]
Role = Literal["presenter", "viewer", "participant"]
KINDS: tuple[Kind, ...] = ("broadcast", "meeting")
ROLES_OF_KIND: dict[str, tuple[Role, ...]] = {"broadcast": ("presenter", "viewer"), "meeting": ("participant",)}

MAX_NAME_CHARS = 40
MAX_PASSCODE_CHARS = 64
MAX_TOKEN_CHARS = 128
# Room and peer ids are URL-safe base64 (secrets.token_urlsafe); anything else cannot name one.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# C0 and C1 control characters: a name is shown to the other members as text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ProtocolError(Exception):
    """A message or request the server refuses: a stable machine code and a sentence for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Join:
    room: str
    role: Role
    passcode: str | None = None
    host_token: str | None = None
    name: str = ""


@dataclass(frozen=True)
class Signal:
    to: str
    data_json: str  # the data object, already serialised once for every relay


@dataclass(frozen=True)
class State:
    muted: bool
    camera_off: bool


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class JanusToken:
    pass


Message = Join | Signal | State | Leave | End | Ping | JanusToken


@dataclass(frozen=True)
class CreateRoom:
    kind: Kind
    passcode: str | None


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python accepts them but the browser's JSON.parse would not.
    raise ValueError(f"{name} is not JSON")


def _load_object(text: str | bytes, max_bytes: int) -> dict:
    if not isinstance(text, str):
        raise ProtocolError("bad-message", "Binary frames are not part of the protocol: send JSON text.")
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ProtocolError("too-large", f"A message may be at most {max_bytes} bytes.")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad-json", "The message is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad-message", "A message must be a JSON object.")
    return value


def _string(fields: dict, key: str, max_chars: int, pattern: re.Pattern | None = None,
            required: bool = True) -> str | None:
    value = fields.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise ProtocolError("bad-field", f'"{key}" must be a string of 1 to {max_chars} characters.')
    if pattern is not None and not pattern.fullmatch(value):
        raise ProtocolError("bad-field", f'"{key}" is not a valid id.')
    return value


def normalise_passcode(value: str | None) -> str | None:
    """A passcode as compared: without the spaces around it (a phone keyboard adds one), Unicode NFC (a
    typed "é" is one or two code points depending on the keyboard); None when nothing is left."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value.strip()) or None


def _passcode(fields: dict, blank_is_none: bool) -> str | None:
    value = fields.get("passcode")
    if isinstance(value, str):
        value = normalise_passcode(value)
        if value is None and not blank_is_none:
            raise ProtocolError("bad-field", '"passcode" needs a character other than spaces.')
    return _string({"passcode": value}, "passcode", MAX_PASSCODE_CHARS, required=False)


def _bool(fields: dict, key: str) -> bool:
    value = fields.get(key)
    if type(value) is not bool:
        raise ProtocolError("bad-field", f'"{key}" must be true or false.')
    return value


def _parse_join(fields: dict) -> Join:
    room = _string(fields, "room", 64, _ID)
    role = fields.get("role")
    if role not in ("presenter", "viewer", "participant"):
        raise ProtocolError("bad-field", '"role" must be "presenter", "viewer" or "participant".')
    # An empty passcode or token is the same as none: a page may send its empty input field.
    fields = {key: (None if value == "" else value) for key, value in fields.items()}
    passcode = _passcode(fields, blank_is_none=True)  # a page may send its empty input field
    host_token = _string(fields, "hostToken", MAX_TOKEN_CHARS, required=False)
    name = fields.get("name")
    if name is None:
        name = ""
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or _CONTROL.search(name):
        raise ProtocolError("bad-field", f'"name" must be text of at most {MAX_NAME_CHARS} characters.')
    return Join(room, role, passcode, host_token, name.strip())


def _parse_signal(fields: dict) -> Signal:
    to = _string(fields, "to", 64, _ID)
    data = fields.get("data")
    if not isinstance(data, dict):
        raise ProtocolError("bad-field", '"data" must be a JSON object.')
    try:
        data_json = json.dumps(data, separators=(",", ":"))
    except (ValueError, RecursionError):
        raise ProtocolError("bad-field", '"data" is nested too deeply.') from None
    return Signal(to, data_json)


_PARSERS = {
    "join": _parse_join,
    "signal": _parse_signal,
    "state": lambda fields: State(_bool(fields, "muted"), _bool(fields, "cameraOff")),
    "leave": lambda fields: Leave(),
    "end": lambda fields: End(),
    "ping": lambda fields: Ping(),
    "janus-token": lambda fields: JanusToken(),
}


def parse_message(text: str | bytes, max_bytes: int) -> Message:
    """One client message, validated; raises ProtocolError and nothing else."""
    fields = _load_object(text, max_bytes)
    kind = fields.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad-message", 'A message needs a string "type".')
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ProtocolError("unknown-type", f"Unknown message type {kind[:40]!r}.")
    return parser(fields)


def parse_create_room(body: bytes, max_bytes: int) -> CreateRoom:
    """The body of POST /api/rooms, validated; raises ProtocolError and nothing else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("bad-json", "The body is not UTF-8 JSON.") from None
    fields = _load_object(text, max_bytes)
    kind = fields.get("kind")
    if kind not in KINDS:
        raise ProtocolError("bad-field", '"kind" must be "broadcast" or "meeting".')
    passcode = _passcode(fields, blank_is_none=False)  # a room is made with a passcode, or without one
    return CreateRoom(kind, passcode)


def encode(type_: str, **fields: Any) -> str:
    """A server message as JSON text."""
    return json.dumps({"type": type_, **fields}, separators=(",", ":"))


def error(code: str, message: str) -> str:
    """An error message for the sender."""
    return encode("error", code=code, message=message)


def signal(sender: str, data_json: str) -> str:
    """A relayed signal, built around the sender's data without parsing it again."""
    return f'{{"type":"signal","from":{json.dumps(sender)},"data":{data_json}}}'
