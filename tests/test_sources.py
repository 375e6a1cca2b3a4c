"""Tests for model_export/sources.py: labelled folders, unreadable files, size checks."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_export import sources
from tests.synthetic_people import make_folder


def test_list_pairs_matches_stems(tmp_path):
    make_folder(tmp_path / "d", count=3)
    assert [p[0] for p in sources.list_pairs(tmp_path / "d")] == ["0000", "0001", "0002"]


def test_wrong_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        sources.list_pairs(tmp_path / "nowhere")


def test_missing_masks_folder(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match="masks"):
        sources.list_pairs(tmp_path)


def test_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(ValueError, match="no images"):
        sources.list_pairs(tmp_path)


def test_missing_mask_names_the_image(tmp_path):
    root = make_folder(tmp_path / "d", count=3)
    (root / "masks" / "0001.png").unlink()
    with pytest.raises(FileNotFoundError, match="0001"):
        sources.list_pairs(root)


def test_orphan_mask_is_reported(tmp_path):
    root = make_folder(tmp_path / "d", count=3)
    (root / "images" / "0002.png").unlink()
    with pytest.raises(ValueError, match="0002"):
        sources.list_pairs(root)


def test_mask_size_mismatch_names_the_mask(tmp_path):
    root = make_folder(tmp_path / "d", count=2)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "masks" / "0000.png")
    with pytest.raises(ValueError, match="0000.png"):
        sources.load_pair(root / "images" / "0000.png", root / "masks" / "0000.png")


def test_unreadable_image_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        sources.read_image(bad)


def test_video_frames_decode_with_stride(tmp_path):
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(6):
        writer.write(np.full((24, 32, 3), i * 40, np.uint8))
    writer.release()
    frames = sources.read_video_frames(path, stride=2)
    assert len(frames) == 3 and frames[0].shape == (24, 32, 3)
    assert sources.list_videos(tmp_path) == [path]
