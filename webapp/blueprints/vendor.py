"""Browser libraries served from their npm packages, under versioned paths: the page never needs a CDN.

onnxruntime-web runs the model; qrcode-generator draws the share link's QR code in the page, so a link
that carries a passcode never reaches this server.
"""
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

from webapp.caching import mark_immutable

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


def _send(installed_version: str, folder: Path, version: str, filename: str):
    # The version in the URL must be the installed one: the file is then cached for a year.
    if version != installed_version or not filename:
        abort(404)
    return mark_immutable(send_from_directory(folder, filename, max_age=0))


@bp.get("/onnxruntime-web/<version>/<path:filename>")
def onnxruntime_web(version: str, filename: str):
    """A file of onnxruntime-web's dist folder."""
    config = current_app.config["VBG"]
    return _send(config.ort_version, config.ort_dist, version, filename)


@bp.get("/qrcode-generator/<version>/<path:filename>")
def qrcode_generator(version: str, filename: str):
    """A file of qrcode-generator's dist folder (qrcode.mjs, its ES module)."""
    config = current_app.config["VBG"]
    return _send(config.qrcode_version, config.qrcode_dist, version, filename)
