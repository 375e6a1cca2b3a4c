"""Tests for model_export/splits.py: the validation split and the cross-validation folds."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_export import splits
from model_export.sources import list_pairs
from tests.synthetic_people import make_folder


def test_split_is_reproducible_and_disjoint(tmp_path):
    root = make_folder(tmp_path / "d", count=20)
    a = splits.validation_stems(root, fraction=0.25, seed=3)
    assert a == splits.validation_stems(root, fraction=0.25, seed=3)
    assert len(a) == 5 and a == sorted(a)
    assert a != splits.validation_stems(root, fraction=0.25, seed=4)
    pairs = list_pairs(root)
    train = {p[0] for p in splits.pairs_not_in(pairs, a)}
    assert train.isdisjoint(a) and len(train) + len(a) == 20
    assert [p[0] for p in splits.pairs_in(pairs, a)] == a


@pytest.mark.parametrize("count", [5, 12, 230])
def test_cv_folds_are_disjoint_and_cover_every_photo_once(count):
    stems = [f"{i:04d}" for i in range(count)]
    folds = splits.cv_folds(stems, k=5, seed=0)
    assert len(folds) == 5
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == stems  # every photo exactly once: disjoint and covering
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    assert folds == splits.cv_folds(list(reversed(stems)), k=5, seed=0)  # deterministic
    assert folds != splits.cv_folds(stems, k=5, seed=1) or count == 5


def test_cv_folds_keep_a_group_together():
    stems = [f"{i:02d}" for i in range(20)]
    groups = {"03": "03", "07": "03", "11": "03", "15": "15", "16": "15"}
    folds = splits.cv_folds(stems, k=5, seed=0, groups=groups)
    assert sorted(s for f in folds for s in f) == stems
    for members in (("03", "07", "11"), ("15", "16")):
        assert sum(any(m in fold for m in members) for fold in folds) == 1


def test_cv_folds_need_enough_photos():
    with pytest.raises(ValueError, match="5 folds"):
        splits.cv_folds(["a", "b"], k=5)


def test_near_duplicates_share_a_group(tmp_path):
    root = make_folder(tmp_path / "d", count=4, seed=1)
    # 0004 is 0001 resized: a near-duplicate that must not be split across folds.
    Image.open(root / "images" / "0001.png").resize((100, 75)).save(root / "images" / "0004.png")
    Image.open(root / "masks" / "0001.png").resize((100, 75)).save(root / "masks" / "0004.png")
    rng = np.random.default_rng(9)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(root / "images" / "0005.png")
    Image.fromarray(np.zeros((96, 128), np.uint8)).save(root / "masks" / "0005.png")
    groups = splits.near_duplicate_groups(list_pairs(root))
    assert groups["0004"] == groups["0001"]
    assert groups["0005"] == "0005"
