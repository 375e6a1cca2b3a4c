"""Rooms over HTTP (create one, the watch and meet pages) and the signalling WebSocket.

The protocol both speak is documented in webapp/rooms/protocol.py.
"""
import re
import time
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from webapp.blueprints.pages import client_config
from webapp.janus_rooms import JanusRooms, janus_rooms_of
from webapp.rooms import protocol
from webapp.rooms.channel import ReaderThread, SocketChannel
from webapp.rooms.protocol import (
    MAX_PASSCODE_CHARS,
    CLOSE_NORMAL, CLOSE_POLICY, End, JanusToken, Join, Leave, Message, Ping, ProtocolError, Signal, State,
    normalise_passcode, parse_create_room, parse_message,
)
from webapp.rooms.registry import Registry, RoomInfo

bp = Blueprint("rooms", __name__)
sock = Sock()

EXTENSION = "vbg_rooms"
# The server pings every socket this often; a browser that has not answered by the next ping is dropped
# (a crashed machine, a lost network) and its peers get peer-left.
PING_INTERVAL_S = 25
# Past this many times max_message_bytes the socket layer closes the socket (1009) rather than buffer the
# message; between the two the sender gets a recoverable too-large error.
HARD_CAP_FACTOR = 16
# simple_websocket wakes a waiting receive() before it marks the socket closed when it drops a message
# past the hard cap (or a frame it cannot parse), so the handler would sleep on forever; it looks again
# this often.
LIVENESS_CHECK_S = 2.0
MAX_CREATE_BODY_BYTES = 4096  # {"kind": ..., "passcode": ...} is well under 200
STATUS_OF_CODE = {"too-large": 413, "bad-content-type": 415, "too-many-rooms": 429, "server-full": 503,
                  "server-shutdown": 503}
NOT_FOUND = {
    "broadcast": "Ask the presenter for a new link.",
    "meeting": "Ask whoever invited you for a new link.",
}
# The id characters at the start of a page path's room part (room ids are URL-safe base64).
ROOM_ID_PREFIX = re.compile(r"[A-Za-z0-9_-]+")
# Sec-Fetch-Site values of a form our own page submitted ("none": the user typed or bookmarked the URL).
SAME_SITE_FETCHES = {"same-origin", "none"}
ENDPOINT_OF_KIND = {"broadcast": "rooms.watch", "meeting": "rooms.meet"}
TEMPLATE_OF_KIND = {"broadcast": "watch.html", "meeting": "meet.html"}


def init_app(app: Flask, registry: Registry) -> None:
    """Register the routes with the app's room registry."""
    app.extensions[EXTENSION] = registry
    janus = janus_rooms_of(app)
    if janus is not None:  # --sfu janus: each broadcast's Janus room ends with it
        janus.follow(registry)
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": PING_INTERVAL_S,
        "max_message_size": HARD_CAP_FACTOR * registry.limits.max_message_bytes,
        "thread_class": ReaderThread,
    })
    app.register_blueprint(bp)


def registry_of(app: Flask) -> Registry:
    """The room registry of an app."""
    return app.extensions[EXTENSION]


def _registry() -> Registry:
    return registry_of(current_app)


def _address() -> str:
    return request.remote_addr or "unknown"


def _json_error(refused: ProtocolError, default_status: int = 400):
    body = {"error": refused.code, "message": refused.message}
    return jsonify(body), STATUS_OF_CODE.get(refused.code, default_status)


def _room_url(info: RoomInfo) -> str:
    return url_for(ENDPOINT_OF_KIND[info.kind], room_id=info.id)


# ------------------------------------------------------------------------- HTTP


@bp.before_request
def _sockets_only_from_our_pages():
    # Browsers let any site open a WebSocket anywhere (no CORS), with the Origin header set to that site;
    # our pages are served from this host. Clients that are not browsers send no Origin.
    if request.endpoint == "rooms.signal_socket":
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            abort(403, description="Room sockets are opened by this server's own pages.")


@bp.post("/api/rooms")
def create_room():
    """Create a broadcast or a meeting; only this answer carries the host token."""
    if request.mimetype != "application/json":
        # Also what keeps other sites' forms out: a cross-origin JSON POST needs a CORS preflight.
        return _json_error(ProtocolError("bad-content-type", "Send the body as application/json."))
    body = request.stream.read(MAX_CREATE_BODY_BYTES + 1)
    try:
        if len(body) > MAX_CREATE_BODY_BYTES:
            raise ProtocolError("too-large", f"The body may be at most {MAX_CREATE_BODY_BYTES} bytes.")
        wanted = parse_create_room(body, MAX_CREATE_BODY_BYTES)
        info, host_token = _registry().create_room(wanted.kind, wanted.passcode, _address())
    except ProtocolError as refused:
        return _json_error(refused)
    response = jsonify(room=info.id, kind=info.kind, url=_room_url(info), hostToken=host_token)
    response.cache_control.no_store = True  # it carries the host token
    return response, 201


@bp.get("/meet")
def start_meeting():
    """The "Start a meeting" page: a GET never creates a room (link previews and prefetches would)."""
    return render_template("meet_start.html", max_passcode_chars=MAX_PASSCODE_CHARS)


@bp.post("/meet")
def new_meeting():
    """Create a meeting from the start page's form and go to it (the passcode rides in the fragment,
    which the browser keeps and never sends back)."""
    # Browsers say where a request comes from in Sec-Fetch-Site (Origin is "null" here: our pages send
    # no referrer); another site's form must not start meetings in the user's name. Every browser that
    # runs this app sends it, so a request without it is refused too (an old browser, or not a browser).
    if request.headers.get("Sec-Fetch-Site") not in SAME_SITE_FETCHES:
        abort(403, description="Meetings are started from this server's own page.")
    passcode = normalise_passcode(request.form.get("passcode"))
    if passcode is not None and len(passcode) > MAX_PASSCODE_CHARS:
        abort(400, description=f"The passcode may be at most {MAX_PASSCODE_CHARS} characters.")
    try:
        info, _ = _registry().create_room("meeting", passcode, _address())
    except ProtocolError as refused:
        abort(STATUS_OF_CODE.get(refused.code, 400), description=refused.message)
    fragment = "#" + urlencode({"passcode": passcode}) if passcode else ""
    return redirect(_room_url(info) + fragment, 303)


@bp.get("/watch/<path:room_id>")  # path: a pasted "<id>/" or "<id>/." still finds its room
def watch(room_id: str):
    """A broadcast's page: the presenter's and the viewers'."""
    return _room_page(room_id, "broadcast")


@bp.get("/meet/<path:room_id>")
def meet(room_id: str):
    """A meeting's page."""
    return _room_page(room_id, "meeting")


@bp.get("/api/meetings/<room_id>/presence")
def meeting_presence(room_id: str):
    """How many people are in a meeting now, for its lobby ("2 people are in this meeting"): {people}, or
    {ended: true}. A count and no names: someone with the link but not the passcode learns no more."""
    info = _registry().room(room_id)
    people = _registry().occupancy(room_id)
    # An ended meeting is an answer, not an error: browsers log every 4xx fetch as a console error.
    response = jsonify(people=people) if info and info.kind == "meeting" and people is not None else jsonify(ended=True)
    response.cache_control.no_store = True  # it changes as people come and go
    return response


def _room_page(room_id: str, kind: str):
    info = _registry().room(room_id)
    if info is None or info.kind != kind:
        # A link pasted with what followed it ("<id>.", "<id>)", "<id> "): the id is what comes before the
        # first character no id holds. Redirected, so the address bar shows the link as it should be (the
        # browser keeps a passcode fragment across the redirect).
        pasted = ROOM_ID_PREFIX.match(room_id)
        known = pasted and pasted.group() != room_id and _registry().room(pasted.group())
        if known and known.kind == kind:
            return redirect(_room_url(known), 302)
        abort(404, description=NOT_FOUND[kind])
    # client_config() already carries signalUrl and iceServers: the home page shares too.
    config = {**client_config(), "room": info.id, "roomKind": info.kind, "hasPasscode": info.has_passcode}
    return render_template(TEMPLATE_OF_KIND[kind], client_config=config, room=info)


# -------------------------------------------------------------------- WebSocket


@sock.route("/ws", bp=bp)
def signal_socket(ws):
    """The signalling socket: one per page, for as long as the page is in a room."""
    rooms = _registry()
    channel = SocketChannel(ws)
    try:
        rooms.open_socket(channel, _address())
    except ProtocolError as refused:
        _refuse(channel, refused)
    else:
        try:
            _Conversation(rooms, ws, channel, janus_rooms_of(current_app)).run()
        finally:
            rooms.close_socket(channel)
    channel.finish()


def _reply(channel: SocketChannel, text: str) -> None:
    channel.send(text)
    channel.flush()


def _refuse(channel: SocketChannel, refused: ProtocolError) -> bool:
    channel.send(protocol.error(refused.code, refused.message))
    channel.close(CLOSE_POLICY)
    channel.flush()
    return False


class _Conversation:
    """One socket from its first message to its close: join, then relay until it leaves or drops."""

    def __init__(self, rooms: Registry, ws, channel: SocketChannel, janus: JanusRooms | None = None):
        self.rooms = rooms
        self.janus = janus
        self.ws = ws
        self.channel = channel
        self.limits = rooms.limits
        self.bucket = self.limits.message_budget(None)
        self.join_deadline = time.monotonic() + self.limits.join_timeout_s
        self.member = None

    def run(self) -> None:
        """Serve messages until the socket is done; a member that is still in its room then leaves it."""
        try:
            while self._step():
                pass
        except ConnectionClosed:
            pass  # the browser closed it, or another thread did (replaced, ended, shutdown)
        finally:
            if self.member is not None:
                self.rooms.leave(self.member)

    def _step(self) -> bool:
        """Handle one message; False once the socket is done."""
        timeout = LIVENESS_CHECK_S
        if self.member is None:
            timeout = min(timeout, max(0.0, self.join_deadline - time.monotonic()))
        raw = self.ws.receive(timeout=timeout)
        if raw is None:
            if not self.ws.connected:
                return False
            if self.member is None and time.monotonic() >= self.join_deadline:
                return _refuse(self.channel, ProtocolError(
                    "join-timeout", f"Join a room within {self.limits.join_timeout_s:g} s of connecting."))
            return True
        try:
            if not self.bucket.take():
                raise ProtocolError("rate-limited", f"At most {self.limits.messages_per_s:g} messages per second "
                                                    "per peer on average; this one was dropped.")
            message = parse_message(raw, self.limits.max_message_bytes)
            if self.member is None:
                return self._join(message)
            return self._handle(message)
        except ProtocolError as bad:  # recoverable: the message is dropped, nothing else changes
            _reply(self.channel, protocol.error(bad.code, bad.message))
            return True

    def _join(self, message: Message) -> bool:
        if not isinstance(message, Join):
            return _refuse(self.channel, ProtocolError("not-joined-yet", "The first message must be a join."))
        try:
            self.member = self.rooms.join(message, self.channel)
        except ProtocolError as refused:
            return _refuse(self.channel, refused)
        self.bucket = self.limits.message_budget(self.member.role)
        return True

    def _handle(self, message: Message) -> bool:
        match message:
            case Signal(to=to, data_json=data_json):
                self.rooms.relay(self.member, to, data_json)
            case State(muted=muted, camera_off=camera_off):
                self.rooms.set_state(self.member, muted, camera_off)
            case Ping():
                _reply(self.channel, protocol.encode("pong"))
            case JanusToken():
                self._janus_token()
            case Join():
                raise ProtocolError("already-joined", "This socket is already in a room.")
            case Leave():
                self.rooms.leave(self.member)
                self.channel.close(CLOSE_NORMAL)
                self.channel.flush()
                return False
            case End():
                self.rooms.end(self.member)  # closes every socket of the room, this one included
                return False
        return True

    def _janus_token(self) -> None:
        """A credential for one join of the broadcast's Janus room: this socket joined with the host
        token (presenter) or the passcode (viewer), which is all a credential stands for."""
        room = self.member.room
        if self.janus is None or room.kind != "broadcast":
            raise ProtocolError("not-allowed", "Janus credentials are for broadcasts on a server in Janus mode.")
        if not room.is_member(self.member):
            return  # replaced or ended meanwhile: its socket is closing
        token = self.janus.credential(room.id, self.member.role, self.member.peer_id)
        _reply(self.channel, protocol.encode("janus-token", token=token))
