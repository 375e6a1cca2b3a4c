"""Where a result came from: the git commit of the code, whether the tree was dirty, the command line."""
from __future__ import annotations

import platform
import shlex
import subprocess
import sys
import time

from model_export.paths import REPO_ROOT

MAX_DIRTY_FILES = 50  # listed in the manifest; the count is always complete


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout


def git_commit() -> str:
    """`git rev-parse HEAD` of the repo, or "uncommitted" when there is no commit (or no git)."""
    out = _git("rev-parse", "HEAD")
    return (out or "").strip() or "uncommitted"


def dirty_files(path: str | None = None) -> list[str] | None:
    """`git status --porcelain` lines (under PATH when given); None when git cannot tell."""
    out = _git("status", "--porcelain", *(["--", path] if path else []))
    return None if out is None else [line for line in out.splitlines() if line.strip()]


def code_state() -> dict:
    """The commit, and whether model_export/ (the training code) and the whole repo differ from it."""
    training_code, repo = dirty_files("model_export"), dirty_files()
    return {
        "git_commit": git_commit(),
        "training_code_dirty": None if training_code is None else bool(training_code),
        "repo_dirty": None if repo is None else bool(repo),
        "dirty_files": None if repo is None else repo[:MAX_DIRTY_FILES],
        "dirty_file_count": None if repo is None else len(repo),
    }


def session(argv: list[str] | None = None) -> dict:
    """One run of a command: what was typed, when, on which code and software."""
    import torch

    argv = sys.argv if argv is None else argv
    return {
        "command": shlex.join(argv),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **code_state(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
    }
