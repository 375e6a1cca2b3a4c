"""Each broadcast's Janus VideoRoom, made and ended by this server, and the credentials that let a page in.

In Janus mode (--sfu janus) our server, not the browser, is the gatekeeper of Janus:

- The presenter's first credential request (on the room socket, authorised by the host token) creates the
  broadcast's Janus room: a number Janus picks, a random secret (create, kick, allowed, destroy) and a
  random pin (join). Neither leaves this server; nothing in the share link derives them.
- A credential is a random token for one join, valid CREDENTIAL_TTL_S and used once, handed out on the room
  socket after the socket's own check (the host token for the presenter, the passcode for a viewer). The
  /janus proxy (webapp/blueprints/janus_proxy.py) redeems it and adds the room and its pin to the join;
  a join without a credential never reaches Janus, and Janus refuses one without the pin.
- Only the presenter's credential joins as a publisher, and Janus checks it too: the room's `allowed` list
  holds the presenter's current token and nothing else (Janus checks that list for publishers only, so the
  pin is what guards subscriptions). Before a presenter's credential is issued, every publisher already in
  the room is kicked: a presenter who reloads takes the single publisher slot back from its stale self.
- When the broadcast ends or expires (webapp/rooms/registry.py), its Janus room is destroyed.

The Janus requests are the VideoRoom's synchronous ones (https://janus.conf.meetecho.com/docs/videoroom.html),
sent over Janus's plain HTTP API (https://janus.conf.meetecho.com/docs/rest.html) on a session of their own.
"""
import contextlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Iterator

from webapp.rooms.protocol import ProtocolError

EXTENSION = "vbg_janus"
VIDEOROOM = "janus.plugin.videoroom"
CREDENTIAL_TTL_S = 30.0  # from the room socket's answer to the join through /janus: a second or two
CREDENTIAL_BYTES = 24
SECRET_BYTES = 24
PUBLISHERS = 1  # a broadcast has one presenter
NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
REQUEST_TIMEOUT_S = 10.0  # Janus answers its synchronous requests at once; a slower one is down
MAX_ANSWER_BYTES = 1024 * 1024  # listparticipants of a full room is a few KB
# janus_url is on this server's own network: never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

JOIN_AS = {"presenter": "publisher", "viewer": "subscriber"}  # our role -> the VideoRoom ptype it joins as


@dataclass(frozen=True)
class JanusLimits:
    """What browsers may hold in Janus through the /janus proxy."""

    # The defaults of Config.janus_limits: as many per address as room sockets, and in all half the threads
    # for long connections (each session's long poll holds a server thread; the room sockets get the rest).
    max_sessions_per_address: int = 30
    max_sessions: int = 60
    # Janus drops a session after its session_timeout (60 s, deploy/janus/janus.jcfg) without a request; one
    # this proxy has not seen for longer is gone, and stops counting.
    session_idle_s: float = 75.0


class JanusError(Exception):
    """Janus did not answer, or refused a request of ours (code: the VideoRoom's error code, if any)."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass
class JanusRoom:
    number: int
    secret: str
    pin: str
    publisher_token: str | None = None  # the one token in Janus's allowed list


@dataclass(frozen=True)
class Credential:
    room_id: str  # our room
    ptype: str  # "publisher" | "subscriber"
    holder: str  # the member's peer id: one unused credential each
    expires_at: float  # monotonic s


@dataclass(frozen=True)
class Seat:
    """What the proxy adds to a join a credential admits: the Janus room, its pin, the token."""

    room: int
    pin: str
    token: str


class JanusApi:
    """The synchronous VideoRoom requests of Janus's HTTP API."""

    def __init__(self, url: str, timeout_s: float = REQUEST_TIMEOUT_S):
        self.url = url
        self.timeout_s = timeout_s

    def _post(self, path: str, body: dict) -> dict:
        data = json.dumps({**body, "transaction": secrets.token_hex(8)}).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as answer:
                reply = json.loads(answer.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            try:
                reply = json.loads(error.read(MAX_ANSWER_BYTES))
            except ValueError:
                raise JanusError(f"Janus answered {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise JanusError(f"Janus at {self.url} did not answer: {error}") from None
        if not isinstance(reply, dict):
            raise JanusError("Janus sent an answer that is not a JSON object")
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusError(f"Janus refused {body.get('janus')}: {error.get('code')} {error.get('reason')}")
        return reply

    @staticmethod
    def _id(reply: dict) -> int:
        number = (reply.get("data") or {}).get("id")
        if not isinstance(number, int):
            raise JanusError("Janus sent no id for a new session or handle")
        return number

    @contextlib.contextmanager
    def videoroom(self) -> Iterator[Callable[[dict], dict]]:
        """A session with the VideoRoom attached, for a few requests: yields request(body) -> plugin data."""
        session = self._id(self._post("", {"janus": "create"}))
        try:
            handle = self._id(self._post(f"/{session}", {"janus": "attach", "plugin": VIDEOROOM}))

            def request(body: dict) -> dict:
                reply = self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
                data = (reply.get("plugindata") or {}).get("data") or {}
                if reply.get("janus") != "success" or data.get("error_code"):
                    code = data.get("error_code")
                    raise JanusError(f"VideoRoom refused {body['request']}: {code} {data.get('error')}", code)
                return data

            yield request
        finally:
            with contextlib.suppress(JanusError):
                self._post(f"/{session}", {"janus": "destroy"})


class JanusRooms:
    """The Janus room of every broadcast that has one, and the credentials handed out for them."""

    def __init__(self, api: JanusApi, credential_ttl_s: float = CREDENTIAL_TTL_S,
                 clock: Callable[[], float] = time.monotonic, logger=None):
        self.api = api
        self.credential_ttl_s = credential_ttl_s
        self._clock = clock
        self._logger = logger
        self._lock = threading.Lock()  # guards the two tables; never held over a Janus request
        # One presenter credential (create, kick, allowed) at a time per room; rooms do not wait on each other.
        self._presenting: dict[str, threading.Lock] = {}
        self._rooms: dict[str, JanusRoom] = {}  # our room id -> its Janus room
        self._credentials: dict[str, Credential] = {}  # token -> what it admits
        self._room_is_live: Callable[[str], bool] = lambda room_id: True

    def follow(self, registry) -> None:
        """Make and end Janus rooms with the registry's rooms (webapp.rooms.registry.Registry)."""
        self._room_is_live = lambda room_id: registry.room(room_id) is not None
        registry.on_room_ended(self.end_room)

    # ------------------------------------------------------------ credentials

    def credential(self, room_id: str, role: str, holder: str) -> str:
        """A one-join credential for a member the room socket admitted; raises ProtocolError."""
        ptype = JOIN_AS.get(role)
        if ptype is None:
            raise ProtocolError("not-allowed", "Only a broadcast's presenter and viewers join its Janus room.")
        token = secrets.token_urlsafe(CREDENTIAL_BYTES)
        if ptype == "publisher":
            self._seat_presenter(room_id, token)
        with self._lock:
            if room_id not in self._rooms:
                raise ProtocolError("not-live", "The presenter is not sending yet; wait for the picture.")
            self._purge(holder)
            self._credentials[token] = Credential(room_id, ptype, holder, self._clock() + self.credential_ttl_s)
        return token

    def redeem(self, token: object, ptype: object) -> Seat | None:
        """The seat a credential admits to, once; None for an unknown, used, expired or wrong-role one."""
        if not isinstance(token, str):
            return None
        with self._lock:
            credential = self._credentials.pop(token, None)
            room = self._rooms.get(credential.room_id) if credential else None
            if room is None or credential.ptype != ptype or self._clock() >= credential.expires_at:
                return None
            return Seat(room.number, room.pin, token)

    def _purge(self, holder: str) -> None:
        now = self._clock()
        for token, credential in list(self._credentials.items()):
            if credential.holder == holder or now >= credential.expires_at:
                del self._credentials[token]

    # ------------------------------------------------------------------ rooms

    def _seat_presenter(self, room_id: str, token: str) -> None:
        """Make the room if it has none, free its publisher slot, and let only `token` publish."""
        with self._lock:
            presenting = self._presenting.setdefault(room_id, threading.Lock())
        with presenting:
            with self._lock:
                room = self._rooms.get(room_id)
            try:
                with self.api.videoroom() as request:
                    if room is None:
                        room = self._create(request, room_id)
                    try:
                        participants = request({"request": "listparticipants", "room": room.number})["participants"]
                    except JanusError as error:
                        if error.code != NO_SUCH_ROOM:
                            raise
                        room = self._create(request, room_id)  # Janus restarted and forgot it
                        participants = []
                    for participant in participants:
                        # A stale publisher: this presenter before a reload or a lost connection. One that
                        # left meanwhile is no longer there to kick.
                        with contextlib.suppress(JanusError):
                            request({"request": "kick", "room": room.number, "secret": room.secret,
                                     "id": participant["id"]})
                    if room.publisher_token:
                        request({"request": "allowed", "action": "remove", "room": room.number, "secret": room.secret,
                                 "allowed": [room.publisher_token]})
                    request({"request": "allowed", "action": "add", "room": room.number, "secret": room.secret,
                             "allowed": [token]})
                    room.publisher_token = token
            except (JanusError, KeyError, TypeError) as error:
                self._log("Janus refused a presenter's seat: %s", error)
                raise ProtocolError("janus-unavailable", "The media server (Janus) does not answer. "
                                                         "Try again in a moment.") from None
        if not self._room_is_live(room_id):  # the broadcast ended while its Janus room was being made
            self.end_room(room_id)
            raise ProtocolError("not-live", "This broadcast has ended.")

    def _create(self, request, room_id: str) -> JanusRoom:
        room = JanusRoom(0, secrets.token_urlsafe(SECRET_BYTES), secrets.token_urlsafe(SECRET_BYTES))
        created = request({"request": "create", "permanent": False, "is_private": True, "publishers": PUBLISHERS,
                           "secret": room.secret, "pin": room.pin, "allowed": [], "description": "vbg broadcast"})
        room.number = created["room"]
        with self._lock:
            self._rooms[room_id] = room
        return room

    def end_room(self, room_id: str) -> None:
        """Destroy a broadcast's Janus room (its subscribers are told at once) and forget its credentials."""
        with self._lock:
            room = self._rooms.pop(room_id, None)
            self._presenting.pop(room_id, None)
            for token, credential in list(self._credentials.items()):
                if credential.room_id == room_id:
                    del self._credentials[token]
        if room is None:
            return
        try:
            with self.api.videoroom() as request:
                request({"request": "destroy", "room": room.number, "secret": room.secret, "permanent": False})
        except JanusError as error:
            self._log("Janus room %s of broadcast %s was not destroyed: %s", room.number, room_id, error)

    def stats(self) -> dict:
        """How many Janus rooms and unused credentials are live."""
        with self._lock:
            return {"rooms": len(self._rooms), "credentials": len(self._credentials)}

    def _log(self, *args) -> None:
        if self._logger is not None:
            self._logger.warning(*args)


def janus_rooms_of(app) -> JanusRooms | None:
    """The app's Janus rooms, or None when broadcasts do not go through Janus."""
    return app.extensions.get(EXTENSION)
