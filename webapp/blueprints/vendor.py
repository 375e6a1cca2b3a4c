"""onnxruntime-web served from the npm package, under a versioned path: the page never needs a CDN."""
from flask import Blueprint, abort, current_app, send_from_directory

from webapp.caching import mark_immutable

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.get("/onnxruntime-web/<version>/<path:filename>")
def onnxruntime_web(version: str, filename: str):
    """A file of onnxruntime-web's dist folder; the version in the URL must be the installed one."""
    config = current_app.config["VBG"]
    if version != config.ort_version or not filename:
        abort(404)
    response = send_from_directory(config.ort_dist, filename, max_age=0)
    return mark_immutable(response)
