"""Janus's HTTP API at /janus on our own origin, for broadcasts through a Janus VideoRoom (--sfu janus).

Browsers reach only this server (the CSP allows 'self', and an intranet exposes one port), so the Janus
API calls of static/js/share/janus_client.js come here and are forwarded to ``janus_url``: POST for
requests, GET for the long poll that delivers Janus's events. Only what a broadcast needs passes: JSON
objects of a bounded size, the VideoRoom plugin, and the VideoRoom requests and fields our pages send
(no recording, no RTP forwarding, no permanent rooms). Everything answers 404 unless sfu == "janus".
"""
import json
import urllib.error
import urllib.request

from flask import Blueprint, Response, abort, current_app, jsonify, request

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
# static/js/share/janus_broadcast.js sends, and nothing that writes files or sends media elsewhere.
VIDEOROOM_FIELDS = {
    "create": {"room", "permanent", "is_private", "publishers", "secret", "pin", "description", "videocodec",
               "audiocodec", "bitrate", "fir_freq", "notify_joining"},
    "destroy": {"room", "secret", "permanent"},
    "join": {"ptype", "room", "pin", "display", "streams", "feed"},
    "publish": {"audio", "video", "display", "bitrate", "descriptions"},
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
        if message.get("permanent", False) is not False:
            raise Refused(403, "Rooms are never saved to Janus's configuration.")


def _read_request() -> bytes:
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
    return raw


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
    """Create a Janus session."""
    return _forward("", _read_request())


# Janus's ids are integers: nothing else of Janus's HTTP API (info, admin) can be named through here.
@bp.post("/janus/<int:session_id>")
@bp.post("/janus/<int:session_id>/<int:handle_id>")
def session_request(session_id: int, handle_id: int | None = None):
    """A request to a session (attach, keepalive, destroy) or to a plugin handle (message, trickle)."""
    path = f"/{session_id}" if handle_id is None else f"/{session_id}/{handle_id}"
    return _forward(path, _read_request())


@bp.get("/janus/<int:session_id>")
def long_poll(session_id: int):
    """Wait for a session's events (Janus holds the request up to 30 s)."""
    return _forward(f"/{session_id}", None)
