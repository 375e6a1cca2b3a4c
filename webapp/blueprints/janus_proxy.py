"""Janus's HTTP API at /janus on our own origin, for broadcasts through a Janus VideoRoom (--sfu janus).

Browsers reach only this server (the CSP allows 'self', and an intranet exposes one port), so the Janus
API calls of static/js/share/janus_client.js come here and are forwarded to ``janus_url``: POST for
requests, GET for the long poll that delivers Janus's events. Only what a broadcast needs passes: JSON
objects of a bounded size, the VideoRoom plugin, and the VideoRoom requests and fields our pages send
(no recording, no RTP forwarding, no room administration). Everything answers 404 unless sfu == "janus".

This proxy is also Janus's gatekeeper (webapp/janus_rooms.py): a page never names a Janus room or its pin.
A `join` carries a one-use credential from the room socket instead, and only a valid one reaches Janus,
with the room and pin added here; rooms are made, kicked and destroyed by this server, never by a page.
Janus sessions are counted per client address and in all (each one's long poll holds a server thread):
a session is served only to the address that created it, with one long poll at a time.
"""
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, abort, current_app, jsonify, request

from webapp.janus_rooms import EXTENSION, JanusApi, JanusLimits, JanusRooms, janus_rooms_of

bp = Blueprint("janus_proxy", __name__)

# An offer or answer SDP is a few KB; a trickled candidate well under 1 KB.
MAX_REQUEST_BYTES = 64 * 1024
# A long poll returns up to LONG_POLL_MAX_EVENTS events, each at most an SDP.
MAX_RESPONSE_BYTES = 1024 * 1024
LONG_POLL_MAX_EVENTS = 10
# Janus holds a long poll for 30 s before answering with a keepalive; longer, or every idle poll would
# end in a 504.
UPSTREAM_TIMEOUT_S = 45
JSON_TYPE = "application/json"
# janus_url is on this server's own network: never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

VIDEOROOM = "janus.plugin.videoroom"
# Janus core requests a page may make (https://janus.conf.meetecho.com/docs/rest.html).
CORE_REQUESTS = {"create", "attach", "message", "trickle", "keepalive", "detach", "hangup", "destroy"}
# VideoRoom requests and their fields (https://janus.conf.meetecho.com/docs/videoroom.html): what
# static/js/share/janus_broadcast.js sends, and nothing that writes files, sends media elsewhere or
# administers a room (create, destroy, kick, allowed: webapp/janus_rooms.py does those). A join names no
# room and no pin: its credential (token) stands for both.
VIDEOROOM_FIELDS = {
    "join": {"ptype", "token", "display", "streams"},
    "publish": {"audio", "video", "display", "descriptions"},
    "unpublish": set(),
    "start": set(),
    "leave": set(),
}


class Refused(Exception):
    """A request we do not forward: an HTTP status and a reason for the page."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _check_request(body: dict) -> None:
    kind = body.get("janus")
    if kind not in CORE_REQUESTS:
        raise Refused(403, f"Janus request {kind!r} is not used by broadcasts.")
    if kind == "attach" and body.get("plugin") != VIDEOROOM:
        raise Refused(403, f"Only {VIDEOROOM} may be attached.")
    if kind == "message":
        message = body.get("body")
        if not isinstance(message, dict):
            raise Refused(400, "A message needs a body object.")
        name = message.get("request")
        allowed = VIDEOROOM_FIELDS.get(name) if isinstance(name, str) else None
        if allowed is None:
            raise Refused(403, f"VideoRoom request {name!r} is not used by broadcasts.")
        extra = sorted(set(message) - allowed - {"request"})
        if extra:
            raise Refused(403, f"VideoRoom {name} may not set {', '.join(extra)}.")


def _admit(body: dict, rooms: JanusRooms) -> dict:
    """A join with its credential redeemed: the Janus room and pin added; other requests as they are."""
    message = body.get("body") if body.get("janus") == "message" else None
    if not isinstance(message, dict) or message.get("request") != "join":
        return body
    ptype = message.get("ptype")
    if ptype not in ("publisher", "subscriber"):
        raise Refused(400, 'A join\'s "ptype" is "publisher" or "subscriber".')
    seat = rooms.redeem(message.get("token"), ptype)
    if seat is None:
        raise Refused(403, f"Joining as a {ptype} needs a credential from this broadcast's page, used once "
                           f"within {rooms.credential_ttl_s:g} s (only the presenter's joins as a publisher).")
    return {**body, "body": {**message, "room": seat.room, "pin": seat.pin, "token": seat.token}}


def _read_request() -> dict:
    if request.mimetype != JSON_TYPE:
        # Also what keeps other sites' forms out: a cross-origin JSON POST needs a CORS preflight.
        raise Refused(415, "Send the body as application/json.")
    raw = request.stream.read(MAX_REQUEST_BYTES + 1)
    if len(raw) > MAX_REQUEST_BYTES:
        raise Refused(413, f"The body may be at most {MAX_REQUEST_BYTES} bytes.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refused(400, "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise Refused(400, "The body must be a JSON object.")
    _check_request(body)
    return body


@dataclass
class _Session:
    address: str  # the client address that created it: the only one it is served to
    seen_at: float  # monotonic s of its last request
    polling: bool = False


class BrowserSessions:
    """The Janus sessions pages opened through this proxy, capped per client address and in all."""

    def __init__(self, limits: JanusLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[int, _Session] = {}
        self._opening: Counter[str] = Counter()  # creates in flight, per address

    def reserve(self, address: str) -> None:
        """Count a session about to be created, or refuse it (429)."""
        with self._lock:
            self._forget_idle()
            mine = self._opening[address] + sum(s.address == address for s in self._sessions.values())
            if mine >= self.limits.max_sessions_per_address:
                raise Refused(429, f"Too many media server sessions from this address (at most "
                                   f"{self.limits.max_sessions_per_address}). Close a tab, or wait a minute.")
            if sum(self._opening.values()) + len(self._sessions) >= self.limits.max_sessions:
                raise Refused(429, f"The media server is full ({self.limits.max_sessions} sessions). "
                                   "Try again later.")
            self._opening[address] += 1

    def opened(self, address: str, session_id: int | None) -> None:
        """A reserved create is done: its session (None if Janus refused) now counts instead."""
        with self._lock:
            self._opening[address] -= 1
            if not self._opening[address]:
                del self._opening[address]
            if session_id is not None:
                self._sessions[session_id] = _Session(address, self._clock())

    def use(self, session_id: int, address: str, poll: bool = False) -> None:
        """A request to a session this address opened; a long poll only if none is waiting already."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.address != address:
                raise Refused(404, "No such media server session here: open another.")
            if poll and session.polling:
                raise Refused(429, "A session has one long poll at a time.")
            session.seen_at = self._clock()
            session.polling = session.polling or poll

    def done_polling(self, session_id: int) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.polling = False
                session.seen_at = self._clock()

    def forget(self, session_id: int) -> None:
        """A session that was destroyed, or that Janus no longer knows."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _forget_idle(self) -> None:
        now = self._clock()
        for session_id, session in list(self._sessions.items()):
            if not session.polling and now - session.seen_at > self.limits.session_idle_s:
                del self._sessions[session_id]


SESSIONS = "vbg_janus_sessions"
NO_SUCH_SESSION = 458  # Janus's JANUS_ERROR_SESSION_NOT_FOUND


@bp.record_once
def _set_up(state) -> None:
    config = state.app.config["VBG"]
    if config.sfu == "janus":
        api = JanusApi(config.janus_url)
        state.app.extensions[EXTENSION] = JanusRooms(api, logger=state.app.logger)
        state.app.extensions[SESSIONS] = BrowserSessions(config.janus_limits())


def _sessions() -> BrowserSessions:
    return current_app.extensions[SESSIONS]


def _address() -> str:
    return request.remote_addr or "unknown"


def _janus_error_code(response: Response) -> int | None:
    try:
        answer = json.loads(response.get_data())
    except ValueError:
        return None
    return (answer.get("error") or {}).get("code") if isinstance(answer, dict) else None


def _forward(path: str, data: bytes | None) -> Response:
    janus_url = current_app.config["VBG"].janus_url
    url = janus_url + path
    if data is None:
        # The long poll: Janus answers with every event queued, up to maxev, as one JSON array.
        url += f"?maxev={LONG_POLL_MAX_EVENTS}"
    upstream = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                      headers={"Content-Type": JSON_TYPE, "Accept": JSON_TYPE})
    try:
        with _OPENER.open(upstream, timeout=UPSTREAM_TIMEOUT_S) as answer:
            status, content_type, body = answer.status, answer.headers.get_content_type(), answer.read(
                MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        # Janus answers some errors (an unknown session) with 4xx and a JSON error: the page reads it.
        status, content_type, body = error.code, error.headers.get_content_type(), error.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out
        current_app.logger.warning("Janus at %s did not answer: %s", janus_url, error)
        raise Refused(502, "The media server (Janus) does not answer.") from None
    if len(body) > MAX_RESPONSE_BYTES or content_type != JSON_TYPE:
        raise Refused(502, "The media server (Janus) sent an answer this server does not forward.")
    response = Response(body, status=status, mimetype=JSON_TYPE)
    response.cache_control.no_store = True
    return response


@bp.before_request
def _only_in_janus_mode():
    if current_app.config["VBG"].sfu != "janus":
        abort(404)


@bp.errorhandler(Refused)
def _refused(refused: Refused):
    return jsonify(error="refused", message=refused.reason), refused.status


@bp.post("/janus")
def create_session():
    """Create a Janus session, if this address and the server have room for one more."""
    body = _read_request()
    if body.get("janus") != "create":
        raise Refused(403, "Only a create is sent here; other requests name their session.")
    sessions, address = _sessions(), _address()
    sessions.reserve(address)
    session_id = None
    try:
        response = _forward("", json.dumps(body).encode())
        if response.status_code == 200:
            session_id = (json.loads(response.get_data()).get("data") or {}).get("id")
    finally:
        sessions.opened(address, session_id if isinstance(session_id, int) else None)
    return response


# Janus's ids are integers: nothing else of Janus's HTTP API (info, admin) can be named through here.
@bp.post("/janus/<int:session_id>")
@bp.post("/janus/<int:session_id>/<int:handle_id>")
def session_request(session_id: int, handle_id: int | None = None):
    """A request to a session (attach, keepalive, destroy) or to a plugin handle (message, trickle)."""
    body = _read_request()
    if body.get("janus") == "create":
        raise Refused(403, "A session is created at /janus.")
    sessions = _sessions()
    sessions.use(session_id, _address())
    body = _admit(body, janus_rooms_of(current_app))
    path = f"/{session_id}" if handle_id is None else f"/{session_id}/{handle_id}"
    response = _forward(path, json.dumps(body).encode())
    if (handle_id is None and body.get("janus") == "destroy") or _janus_error_code(response) == NO_SUCH_SESSION:
        sessions.forget(session_id)
    return response


@bp.get("/janus/<int:session_id>")
def long_poll(session_id: int):
    """Wait for a session's events (Janus holds the request up to 30 s); one at a time per session."""
    sessions = _sessions()
    sessions.use(session_id, _address(), poll=True)
    try:
        response = _forward(f"/{session_id}", None)
    finally:
        sessions.done_polling(session_id)
    if _janus_error_code(response) == NO_SUCH_SESSION:
        sessions.forget(session_id)
    return response
