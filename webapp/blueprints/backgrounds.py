"""The intranet admin's backgrounds: a folder checked at start-up, listed at /api/backgrounds, served by content.

    vbg serve --backgrounds-dir /srv/backgrounds --default-background lobby --org-name "ACME" --org-logo logo.png

Every file in the folder is checked once when the app is built (webapp/media_check.py); a file that fails
is named on stderr and left out, and a folder that is missing or empty is reported, never fatal. Only the
files that passed are served, looked up by their exact name (no path from the URL ever reaches the file
system), under the first bytes of their sha256, so browsers keep them for a year and a changed file gets a
new URL at the next start.
"""
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, send_file, url_for

from webapp.caching import mark_immutable
from webapp.media_check import Media, MediaError, check_media

bp = Blueprint("backgrounds", __name__)

DIGEST_HEX_CHARS = 16  # 64 bits of sha256: a URL per file version, not a security boundary
_READ_CHUNK_BYTES = 1 << 20
_WORD_SEPARATORS = re.compile(r"[\s_\-.]+")
_EXTENSION_KEY = "backgrounds"


@dataclass(frozen=True)
class Background:
    """One checked file: `stem` is its id (and what --default-background names), `name` its words."""

    stem: str
    name: str
    path: Path
    media: Media
    digest: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Catalogue:
    backgrounds: tuple[Background, ...] = ()
    default: str | None = None  # the stem of the default background, if it passed the check
    org_name: str = ""
    logo: Background | None = None

    def find(self, digest: str, filename: str) -> Background | None:
        """The checked background with this exact file name and digest, if any."""
        return next((b for b in self.backgrounds if b.filename == filename and b.digest == digest), None)


def name_in_words(stem: str) -> str:
    """'company-lobby_2' -> 'Company lobby 2': what the gallery shows under the tile."""
    words = _WORD_SEPARATORS.sub(" ", stem).strip() or stem
    return words[0].upper() + words[1:]


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_READ_CHUNK_BYTES):
            sha.update(chunk)
    return sha.hexdigest()[:DIGEST_HEX_CHARS]


def _report(message: str) -> None:
    print(f"vbg: {message}", file=sys.stderr, flush=True)


def _checked(path: Path, kinds: tuple[str, ...]) -> Background | None:
    try:
        media = check_media(path)
        if media.kind not in kinds:
            raise MediaError(f"a {media.kind}, not a {' or '.join(kinds)}")
        return Background(path.stem, name_in_words(path.stem), path, media, _digest(path))
    except (MediaError, OSError) as exc:
        _report(f"skipped {path}: {exc}")
        return None


def scan_folder(folder: Path) -> tuple[Background, ...]:
    """The good backgrounds in `folder`, by file name; reports every file left out, and a missing or empty folder."""
    if not folder.is_dir():
        _report(f"the backgrounds folder {folder} does not exist (or is not a folder): "
                "the gallery shows the built-in backgrounds only")
        return ()
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    found: dict[str, Background] = {}
    for path in files:
        if not path.is_file():
            _report(f"skipped {path}: not a file (sub-folders are not read)")
            continue
        background = _checked(path, ("picture", "video"))
        if background is None:
            continue
        if background.stem in found:
            _report(f"skipped {path}: {found[background.stem].filename} has the same name")
            continue
        found[background.stem] = background
    if not files:
        _report(f"the backgrounds folder {folder} is empty: the gallery shows the built-in backgrounds only")
    elif not found:
        _report(f"no file in the backgrounds folder {folder} could be used: the gallery shows the built-in backgrounds only")
    return tuple(found.values())


def build_catalogue(config) -> Catalogue:
    """Check the configured folder, default and logo (once, at start-up)."""
    backgrounds = scan_folder(Path(config.backgrounds_dir)) if config.backgrounds_dir else ()
    default = config.default_background or None
    if default and default not in {b.stem for b in backgrounds}:
        _report(f"the default background {default!r} is not among the usable files of the backgrounds folder: "
                "a first visit gets the light blur")
        default = None
    logo = None
    if config.org_logo:
        logo_path = Path(config.org_logo)
        logo = _checked(logo_path, ("picture",)) if logo_path.is_file() else None
        if logo is None and not logo_path.is_file():
            _report(f"the organisation logo {logo_path} does not exist: the header shows no logo")
    return Catalogue(backgrounds, default, (config.org_name or "").strip(), logo)


def _catalogue() -> Catalogue:
    return current_app.extensions[_EXTENSION_KEY]


def _logo_url(catalogue: Catalogue) -> str | None:
    logo = catalogue.logo
    return url_for("backgrounds.logo", digest=logo.digest, filename=logo.filename) if logo else None


@bp.get("/api/backgrounds")
def listing():
    """The admin's backgrounds in gallery order, which one a first visit gets, and the organisation."""
    catalogue = _catalogue()
    return jsonify({
        "backgrounds": [
            {
                "id": b.stem,
                "name": b.name,
                "url": url_for("backgrounds.file", digest=b.digest, filename=b.filename),
                "kind": b.media.kind,
                "default": b.stem == catalogue.default,
            }
            for b in catalogue.backgrounds
        ],
        "organisation": {"name": catalogue.org_name, "logoUrl": _logo_url(catalogue)},
    })


def _send(background: Background | None):
    if background is None:
        abort(404)
    # conditional: Range requests, which browsers use to stream and loop a video.
    response = send_file(background.path, mimetype=background.media.mimetype, conditional=True, max_age=0)
    return mark_immutable(response)


@bp.get("/backgrounds/<digest>/<filename>")
def file(digest: str, filename: str):
    """A background that passed the start-up check, by its exact file name and content digest."""
    return _send(_catalogue().find(digest, filename))


@bp.get("/org/logo/<digest>/<filename>")
def logo(digest: str, filename: str):
    """The organisation's logo, if it passed the start-up check."""
    found = _catalogue().logo
    return _send(found if found and (found.digest, found.filename) == (digest, filename) else None)


def _organisation_context() -> dict:
    # Every page's header (templates/base.html) shows the organisation, when one is configured.
    catalogue = _catalogue()
    return {"organisation": {"name": catalogue.org_name, "logo_url": _logo_url(catalogue)}}


def init_app(app: Flask) -> None:
    """Check the admin's files now and register the routes and the header's context."""
    app.extensions[_EXTENSION_KEY] = build_catalogue(app.config["VBG"])
    app.register_blueprint(bp)
    app.context_processor(_organisation_context)
