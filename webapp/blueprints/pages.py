"""The page a user opens, the health probe and the error pages."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from webapp.blueprints.models import manifest_path

bp = Blueprint("pages", __name__)


def client_config() -> dict:
    """What the browser needs to start, handed over in a JSON block (no inline script under our CSP)."""
    config = current_app.config["VBG"]
    return {
        "ortBase": url_for("vendor.onnxruntime_web", version=config.ort_version, filename=""),
        "ortVersion": config.ort_version,
        # Imported by the share card only when it shows a link (static/js/ui/share_panel.js).
        "qrcodeModuleUrl": url_for("vendor.qrcode_generator", version=config.qrcode_version, filename="qrcode.mjs"),
        "modelManifestUrl": url_for("models.manifest", name=config.model),
        "modelName": config.model,
        "webgpuModelManifestUrl": url_for("models.manifest", name=config.webgpu_model),
        # Sharing: a path (the page picks ws: or wss: from its own URL; Werkzeug would build WebSocket URLs
        # with a scheme, wrong behind a TLS proxy) and the ICE servers (none by default: intranet).
        "signalUrl": urlsplit(url_for("rooms.signal_socket")).path,
        "iceServers": config.ice_servers,
        # "janus": broadcasts go through the Janus VideoRoom this server proxies at /janus.
        "sfu": config.sfu,
    }


@bp.get("/")
def index():
    """The app page."""
    return render_template("index.html", client_config=client_config())


@bp.get("/output")
def output():
    """Only the composited picture, full window, for OBS's Browser Source (static/js/output_main.js)."""
    return render_template("output.html", client_config=client_config())


@bp.get("/healthz")
def healthz():
    """Liveness and readiness: the runtime and the model are present on disk."""
    config = current_app.config["VBG"]
    ort_ok = (config.ort_dist / "ort.webgpu.min.mjs").is_file()
    model_ok = manifest_path(config.model).is_file()
    body = {
        "status": "ok" if ort_ok and model_ok else "degraded",
        "onnxruntime_web": config.ort_version if ort_ok else None,
        "model": config.model if model_ok else None,
    }
    return jsonify(body), 200 if body["status"] == "ok" else 503


# A room link that leads nowhere (ended, mistyped, cut short) is read by a student or an invitee, not by
# the studio's user: the page says what happened and whom to ask, and offers no way into the studio.
ROOM_LINK_PREFIXES = {"/watch/": "broadcast", "/meet/": "meeting"}


def _room_kind_of_path(path: str) -> str | None:
    return next((kind for prefix, kind in ROOM_LINK_PREFIXES.items() if path.startswith(prefix)), None)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    """A plain page for 4xx/5xx that keeps every security header (no stack traces)."""
    room_kind = _room_kind_of_path(request.path) if error.code == 404 else None
    # Werkzeug's own text ("The requested URL was not found on the server…") is no advice for a person.
    advice = error.description if error.description != type(error).description else None
    return render_template("error.html", error=error, room_kind=room_kind, advice=advice), error.code
