"""Tests for model_export/teacher.py: the flip-averaged ensemble, the missing-teacher error, the label cache."""
import json

import numpy as np
import pytest

from model_export import segmenter_onnx, teacher


def _teachers_or_skip() -> list:
    try:
        teacher.require_teachers()
    except teacher.TeacherMissing as exc:
        pytest.skip(f"the teachers are not converted here: {exc}")
    return [segmenter_onnx.load_segmenter(name) for name in teacher.TEACHER_NAMES]


def test_teacher_probs_is_the_mean_of_both_flip_averaged_models():
    general, landscape = _teachers_or_skip()
    images = np.random.default_rng(2).integers(0, 256, (2, 24, 40, 3), dtype=np.uint8)
    probs = teacher.teacher_probs(images)
    assert probs.shape == (2, 24, 40) and probs.dtype == np.float32
    image = images[1]

    def flip_avg(model):
        return (model.predict(image) + model.predict(np.ascontiguousarray(image[:, ::-1]))[:, ::-1]) / 2

    np.testing.assert_allclose(probs[1], (flip_avg(general) + flip_avg(landscape)) / 2, atol=1e-6)
    with pytest.raises(ValueError):
        teacher.teacher_probs(images[0])


def test_flip_averaging_is_mirror_symmetric():
    class Leftish:  # a fake segmenter that sees people on the left only
        def predict(self, image):
            prob = np.zeros(image.shape[:2], np.float32)
            prob[:, : image.shape[1] // 2] = 1
            return prob

    prob = teacher.flip_averaged(Leftish(), np.zeros((4, 8, 3), np.uint8))
    np.testing.assert_allclose(prob, 0.5)


def test_missing_teacher_names_the_file_and_the_command(tmp_path):
    with pytest.raises(teacher.TeacherMissing) as caught:
        teacher.require_teachers(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "mediapipe-general.onnx") in message and teacher.CONVERT_COMMAND in message
    for name in teacher.TEACHER_NAMES:
        (tmp_path / f"{name}.onnx").write_bytes(name.encode())
    assert teacher.require_teachers(tmp_path) == [tmp_path / f"{n}.onnx" for n in teacher.TEACHER_NAMES]


def test_teacher_info_names_models_licences_and_hashes(tmp_path):
    for name in teacher.TEACHER_NAMES:
        (tmp_path / f"{name}.onnx").write_bytes(name.encode())
    info = teacher.teacher_info(tmp_path)
    assert [m["name"] for m in info["models"]] == list(teacher.TEACHER_NAMES)
    assert all(m["licence"] == "Apache-2.0" for m in info["models"])
    assert info["models"][0]["onnx_sha256"] == __import__("hashlib").sha256(b"mediapipe-general").hexdigest()
    json.dumps(info)  # goes into the manifest as is


def test_label_cache_labels_once_at_full_size(tmp_path):
    calls = []

    def label_fn(image):
        calls.append(image.shape)
        return np.full(image.shape[:2], 200, np.uint8)

    cache = teacher.LabelCache(root=tmp_path, label_fn=label_fn, teacher_key="k")
    image = np.zeros((30, 50, 3), np.uint8)
    first = cache.label(image, "abc")
    again = teacher.LabelCache(root=tmp_path, label_fn=label_fn, teacher_key="k").label(image, "abc")
    assert calls == [(30, 50, 3)] and first.shape == (30, 50)
    np.testing.assert_array_equal(first, again)
    assert (tmp_path / "teacher-labels" / "k" / "abc.png").is_file()
