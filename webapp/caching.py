"""Cache policy: versioned and content-addressed paths are immutable; everything else revalidates."""
from flask import Flask, Response

from webapp.config import IMMUTABLE_MAX_AGE_S


def mark_immutable(response: Response) -> Response:
    """Let browsers keep a response whose URL changes whenever its content does."""
    response.cache_control.no_cache = None  # send_file's default for max_age=0
    response.cache_control.public = True
    response.cache_control.max_age = IMMUTABLE_MAX_AGE_S
    response.cache_control.immutable = True
    return response


def _default_revalidate(response: Response) -> Response:
    # Our own ES modules import each other by plain relative paths (no bundler, no hashes), so
    # they must revalidate (ETag/Last-Modified make that a cheap 304).
    if "Cache-Control" not in response.headers:
        response.cache_control.no_cache = True
    return response


def init_app(app: Flask) -> None:
    """Register the default policy."""
    app.after_request(_default_revalidate)
