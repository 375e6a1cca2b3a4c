"""Which labelled photos train and which judge: the seeded validation split and cross-validation folds.

Every tool that holds photos out (train, quantize, evaluate, cross_validate) selects them here, so
"the validation split" means the same 30 photos everywhere.
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from model_export.sources import Pair, list_pairs, read_image

VAL_FRACTION = 0.13  # 30 of the 230 photos
VAL_SEED = 0
CV_FOLDS = 5
# Near-duplicate photos (the same shot resized or re-encoded) must land in one fold, or a fold
# tests on what it trained on. Two photos are near-duplicates when their 16x16 grey thumbnails
# correlate above this. Measured on ../shared/data/portraits: no pair above 0.84, so its folds are
# plain seeded folds; the grouping guards data added later.
THUMB_SIDE = 16
NEAR_DUPLICATE_CORRELATION = 0.97


def validation_stems(data_dir: str | Path, fraction: float = VAL_FRACTION, seed: int = VAL_SEED) -> list[str]:
    """The sorted stems of the seeded validation split (same folder + fraction + seed = same split)."""
    stems = sorted(stem for stem, _, _ in list_pairs(data_dir))
    count = max(1, round(len(stems) * fraction)) if len(stems) > 1 else 0
    return sorted(random.Random(seed).sample(stems, count))


def pairs_in(pairs: list[Pair], stems: Iterable[str]) -> list[Pair]:
    """The pairs whose stem is in STEMS (order kept)."""
    keep = set(stems)
    return [p for p in pairs if p[0] in keep]


def pairs_not_in(pairs: list[Pair], stems: Iterable[str]) -> list[Pair]:
    """The pairs whose stem is NOT in STEMS (order kept)."""
    drop = set(stems)
    return [p for p in pairs if p[0] not in drop]


def thumbnail(path: str | Path) -> np.ndarray:
    """A zero-mean, unit-norm THUMB_SIDE x THUMB_SIDE grey thumbnail (flattened) of an image file."""
    from PIL import Image

    grey = Image.fromarray(read_image(path)).convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR)
    v = np.asarray(grey, np.float32).ravel()
    v -= v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-6)


def near_duplicate_groups(pairs: list[Pair], threshold: float = NEAR_DUPLICATE_CORRELATION) -> dict[str, str]:
    """stem -> group id (the group's first stem); photos whose thumbnails correlate above THRESHOLD share one."""
    stems = [stem for stem, _, _ in pairs]
    thumbs = np.stack([thumbnail(image) for _, image, _ in pairs]) if pairs else np.zeros((0, 1))
    similar = thumbs @ thumbs.T > threshold
    parent = list(range(len(stems)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(similar, 1))):
        parent[root(int(j))] = root(int(i))
    return {stem: stems[root(i)] for i, stem in enumerate(stems)}


def cv_folds(stems: Iterable[str], k: int = CV_FOLDS, seed: int = VAL_SEED,
             groups: dict[str, str] | None = None) -> list[list[str]]:
    """K disjoint folds (sorted stem lists) covering every stem once; a group never spans two folds.

    Groups are shuffled with SEED and dealt largest first to the currently smallest fold, so the
    folds differ in size by at most the largest group.
    """
    stems = sorted(set(stems))
    if len(stems) < k:
        raise ValueError(f"{len(stems)} photos cannot fill {k} folds")
    groups = groups or {}
    members: dict[str, list[str]] = {}
    for stem in stems:
        members.setdefault(groups.get(stem, stem), []).append(stem)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -len(members[g]))  # stable: equal sizes keep the shuffled order
    folds: list[list[str]] = [[] for _ in range(k)]
    for group in order:
        min(folds, key=len).extend(members[group])
    return [sorted(fold) for fold in folds]
