"""QR codes of share links, drawn here so the page needs no third-party script or service."""
import io

import segno
from flask import Blueprint, Response, abort, request

bp = Blueprint("qr", __name__)

MAX_TEXT_CHARS = 1024  # a share link is ~80 characters; anything far longer is not one
QR_SCALE_PX = 4  # pixels per module; the page scales the SVG anyway
QR_BORDER_MODULES = 2  # the quiet zone scanners need


@bp.get("/qr.svg")
def qr_svg():
    """An SVG QR code of ?text= (error correction M: survives a smudged screen)."""
    text = request.args.get("text", "")
    if not text or len(text) > MAX_TEXT_CHARS:
        abort(400, description=f"text must be 1 to {MAX_TEXT_CHARS} characters")
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        buffer, kind="svg", scale=QR_SCALE_PX, border=QR_BORDER_MODULES, dark="#111", light="#fff", xmldecl=False
    )
    return Response(buffer.getvalue(), mimetype="image/svg+xml")
