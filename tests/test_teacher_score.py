"""Tests for model_export/teacher_score.py: the teacher scored against human masks."""
import json

import numpy as np
import pytest
from PIL import Image

from model_export import metrics, teacher, teacher_score
from model_export.paths import PORTRAITS_DIR
from model_export.sources import list_pairs, load_pair


def _labelled_folder(tmp_path, count=2):
    rng = np.random.default_rng(5)
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir(parents=True)
    for i in range(count):
        image = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
        mask = np.zeros((36, 64), np.uint8)
        mask[8:, 20:44] = 255
        Image.fromarray(image).save(tmp_path / "images" / f"{i:04d}.png")
        Image.fromarray(mask).save(tmp_path / "masks" / f"{i:04d}.png")
    return tmp_path


def _teachers_or_skip():
    try:
        teacher.require_teachers()
    except teacher.TeacherMissing as exc:
        pytest.skip(f"the teachers are not converted here: {exc}")


def test_the_teacher_row_scores_the_mean_of_both_flip_averaged_models():
    _teachers_or_skip()
    try:
        pairs = list_pairs(PORTRAITS_DIR)[:3]
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"no labelled photos here: {exc}")
    results = teacher_score.score_teacher(pairs)
    general, landscape = (results[f"{name} (flip-averaged)"] for name in teacher.TEACHER_NAMES)
    assert general != landscape  # photos on which the two models disagree, so the rows can tell them apart
    expected = []
    for _, image_path, mask_path in pairs:
        image, mask = load_pair(image_path, mask_path)
        expected.append(metrics.image_scores(metrics.binarize(teacher.teacher_prob(image)), mask > 127))
    assert results[teacher_score.TEACHER_ROW] == pytest.approx(metrics.mean_scores(expected))


def test_the_command_writes_a_table_of_the_three_rows(tmp_path):
    _teachers_or_skip()
    data = _labelled_folder(tmp_path / "photos")
    assert teacher_score.main(["--data", str(data), "--out", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "teacher.md").read_text()
    assert "on 2 photos" in table and teacher_score.TEACHER_ROW in table
    assert all(f"{name} (flip-averaged)" in table for name in teacher.TEACHER_NAMES)


def test_a_split_file_naming_unknown_photos_is_an_error(tmp_path, capsys):
    data = _labelled_folder(tmp_path / "photos")
    split = tmp_path / "split.json"
    split.write_text(json.dumps(["0000", "9999"]))
    assert teacher_score.main(["--data", str(data), "--split-file", str(split), "--out", str(tmp_path / "out")]) == 2
    assert "9999" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
