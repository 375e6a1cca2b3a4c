"""The shipped segmentation models: manifests (revalidated) and weights (content-addressed)."""
import json
import re

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.security import safe_join

from webapp.caching import mark_immutable

bp = Blueprint("models", __name__, url_prefix="/models")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def manifest_path(name: str):
    """Path of a model's manifest JSON (which may not exist)."""
    return current_app.config["VBG"].models_dir / f"{name}.json"


def _load_manifest(name: str) -> dict:
    if not _NAME.match(name):
        abort(404)
    try:
        return json.loads(manifest_path(name).read_text())
    except FileNotFoundError:
        abort(404, description=f"No model named {name!r} is installed.")
    except ValueError:
        abort(500, description=f"The manifest of model {name!r} is not valid JSON.")


@bp.get("/<name>.json")
def manifest(name: str):
    """A model's manifest: the contract (input, normalisation, output) the browser follows."""
    _load_manifest(name)
    return send_from_directory(current_app.config["VBG"].models_dir, f"{name}.json", max_age=0)


@bp.get("/<sha256>/<filename>")
def weights(sha256: str, filename: str):
    """Model weights under their manifest's sha256, so the URL changes whenever the bytes do."""
    models_dir = current_app.config["VBG"].models_dir
    if not filename.endswith(".onnx") or safe_join(str(models_dir), filename) is None:
        abort(404)
    stem = filename[: -len(".onnx")]
    for candidate in models_dir.glob("*.json"):
        try:
            manifest = json.loads(candidate.read_text())
        except ValueError:
            continue
        if manifest.get("file") == filename and manifest.get("sha256") == sha256:
            return mark_immutable(send_from_directory(models_dir, filename, max_age=0))
    abort(404, description=f"No model file {stem!r} with that hash.")
