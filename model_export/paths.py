"""Where the build backend finds shared data and writes its outputs.

The shared folder (datasets and peer models that are not ours to redistribute) sits next to the
checkout at ``../shared``; ``VBG_SHARED`` overrides it. Nothing from it is ever copied into the repo.
"""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("VBG_SHARED", REPO_ROOT.parent / "shared")).resolve()
PORTRAITS_DIR = SHARED_DIR / "data" / "portraits"
BACKGROUNDS_DIR = SHARED_DIR / "data" / "backgrounds"
UNLABELLED_DIR = SHARED_DIR / "data" / "unlabelled"
VIDEOS_DIR = SHARED_DIR / "data" / "videos"
PEERS_DIR = SHARED_DIR / "peers"
NODE_MODULES = REPO_ROOT / "node_modules"
MEDIAPIPE_PACKAGE_DIR = NODE_MODULES / "@mediapipe" / "selfie_segmentation"
# Generated, git-ignored: converted peers, caches, checkpoints.
BUILD_DIR = REPO_ROOT / "build"
SHIPPED_MODELS_DIR = REPO_ROOT / "static" / "models"
# Derived from ../shared, so kept outside the repo: teacher labels of the shared photos and frames.
CACHE_DIR = Path(os.environ.get("VBG_CACHE", Path.home() / ".cache" / "vbg")).resolve()
