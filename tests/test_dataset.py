"""Tests for model_export/dataset.py: sources, on-the-fly samples seeded by (seed, step, index), alignment."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from model_export import dataset
from model_export.teacher import LabelCache
from tests.synthetic_people import (
    PASTED_BG, assert_aligned, assert_label_matches_pixels, make_folder, person_photo, red_label,
)

cv2 = pytest.importorskip("cv2")


pixel_teacher = red_label  # a 'teacher' whose label is a linear function of the pixels


def small_config(tmp_path, **overrides) -> dataset.DataConfig:
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir(exist_ok=True)
    Image.fromarray(np.full((90, 160, 3), PASTED_BG, np.uint8)).save(backgrounds / "green.png")
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(3):
        Image.fromarray(person_photo(72, 128, rng)[0]).save(unlabelled / f"u{i}.png")
    videos = tmp_path / "videos"
    videos.mkdir(exist_ok=True)
    # FFV1 is lossless: the frames keep the exact colour code the labels are checked against.
    writer = cv2.VideoWriter(str(videos / "clip.avi"), cv2.VideoWriter_fourcc(*"FFV1"), 10, (128, 72))
    for _ in range(3):
        writer.write(cv2.cvtColor(person_photo(72, 128, rng)[0], cv2.COLOR_RGB2BGR))
    writer.release()
    portraits = tmp_path / "portraits"
    if not portraits.exists():
        make_folder(portraits)
    values = dict(
        data_dir=str(portraits), backgrounds_dir=str(backgrounds),
        unlabelled_dir=str(unlabelled), videos_dir=str(videos), height=48, width=80, val_fraction=0.25,
        colour_match=(0.0, 0.0), low_light_prob=0.0, backlight_prob=0.0,  # keep the colour code readable
        two_people_prob=0.3, occluder_prob=0.3,
    )
    values.update(overrides)
    return dataset.DataConfig(**values)


def teacher_sources(tmp_path, cfg):
    cache = LabelCache(root=tmp_path / "cache", label_fn=pixel_teacher, teacher_key="test")
    return dataset.load_sources(cfg, teacher=True, label_cache=cache)


def test_sources_exclude_held_out_photos_and_label_every_image(tmp_path):
    cfg = small_config(tmp_path)
    sources = teacher_sources(tmp_path, cfg)
    assert len(sources.photos) == 6  # 8 photos, 2 held out
    assert len(sources.pseudo) == 3 + 3 and sum(sources.pseudo_is_frame) == 3
    assert all(soft is not None and soft.shape == image.shape[:2] for image, _, soft in sources.photos)
    assert sources.real_backgrounds and sources.teacher
    labels = list((tmp_path / "cache" / "teacher-labels" / "test").glob("*.png"))
    assert len(labels) == 6 + 6  # one label per photo, unlabelled image and video frame, cached once
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps(["0000", "0001", "0002"]))
    assert len(dataset.load_sources(small_config(tmp_path, holdout=str(fold)), teacher=False).photos) == 5
    assert len(dataset.load_sources(small_config(tmp_path, holdout="none"), teacher=False).photos) == 8


def test_without_teacher_there_are_no_soft_labels_or_pseudo_samples(tmp_path):
    cfg = small_config(tmp_path)
    sources = dataset.load_sources(cfg, teacher=False)
    assert not sources.pseudo and not sources.teacher
    assert dataset.kind_probabilities(cfg, sources)[dataset.KINDS.index("pseudo")] == 0
    sample = dataset.SampleDataset(sources, cfg, seed=0)[(0, 0)]
    assert not sample["has_soft"]


def test_every_kind_keeps_image_and_labels_aligned(tmp_path):
    """On-the-fly samples through every warp, paste, occluder and flip: labels stay on their pixels."""
    cfg = small_config(tmp_path)
    data = dataset.SampleDataset(teacher_sources(tmp_path, cfg), cfg, seed=0, augment=False)
    seen = set()
    for step in range(40):
        sample = data[(step, 0)]
        kind = dataset.KINDS[sample["kind"]]
        seen.add(kind)
        assert sample["image"].shape == (48, 80, 3) and sample["mask"].shape == (48, 80)
        assert_aligned(sample["image"], sample["mask"])
        assert sample["has_soft"]
        assert_aligned(sample["image"], sample["soft"])
        if kind in ("crop", "pseudo"):  # no blending: the label is exactly the warped pixels' own
            assert_label_matches_pixels(sample["image"], sample["mask"])
            assert_label_matches_pixels(sample["image"], sample["soft"])
        assert sample["has_mask"] == (kind != "pseudo")
    assert seen == set(dataset.KINDS)


def test_samples_depend_only_on_seed_step_and_index(tmp_path):
    cfg = small_config(tmp_path)
    sources = dataset.load_sources(cfg, teacher=False)
    a, b = dataset.SampleDataset(sources, cfg, seed=0), dataset.SampleDataset(sources, cfg, seed=0)
    np.testing.assert_array_equal(a[(5, 1)]["image"], b[(5, 1)]["image"])
    a[(9, 0)]  # drawing other samples first changes nothing
    np.testing.assert_array_equal(a[(5, 1)]["mask"], b[(5, 1)]["mask"])
    assert not np.array_equal(a[(5, 1)]["image"], a[(6, 1)]["image"])
    assert not np.array_equal(a[(5, 1)]["image"], dataset.SampleDataset(sources, cfg, seed=1)[(5, 1)]["image"])


def test_step_batches_through_worker_processes_match_the_main_process(tmp_path):
    cfg = small_config(tmp_path)
    data = dataset.SampleDataset(dataset.load_sources(cfg, teacher=False), cfg, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_sampler=dataset.StepBatchSampler(3, 5, 2), num_workers=2)
    batches = list(loader)
    assert len(batches) == 2 and batches[0]["image"].shape == (2, 48, 80, 3)
    np.testing.assert_array_equal(batches[1]["image"][1].numpy(), data[(4, 1)]["image"])


def test_unreadable_holdout_names_the_file(tmp_path):
    with pytest.raises(ValueError, match="nofold.json"):
        dataset.held_out_stems(small_config(tmp_path, holdout=str(tmp_path / "nofold.json")))


def test_only_the_first_samples_of_a_step_get_a_photometric_twin(tmp_path):
    cfg = small_config(tmp_path)
    data = dataset.SampleDataset(dataset.load_sources(cfg, teacher=False), cfg, seed=0, twins=1)
    with_twin, without = data[(2, 0)], data[(2, 1)]
    assert not np.array_equal(with_twin["image"], with_twin["image_b"])
    assert without["image_b"] is without["image"]
    # The twin is drawn after the sample, so asking for it changes nothing else.
    np.testing.assert_array_equal(dataset.SampleDataset(data.sources, cfg, seed=0, twins=0)[(2, 0)]["image"],
                                  with_twin["image"])


def test_composites_can_paste_teacher_labelled_people_cut_out_by_their_label(tmp_path):
    cfg = small_config(tmp_path, teacher_person_prob=1.0)
    sources = teacher_sources(tmp_path, cfg)
    assert len(sources.teacher_people) == 3  # the unlabelled photos, not the video's frames
    # No labelled photo to draw from: every pasted person must come from the teacher-labelled ones.
    data = dataset.SampleDataset(dataclasses.replace(sources, photos=[]), cfg, seed=0, augment=False)
    for seed in range(12):
        image, mask, soft, has_mask = data._composite(np.random.default_rng(seed))
        assert has_mask and (mask > 127).any()
        assert_aligned(image, mask)
        assert_aligned(image, soft)


def test_without_teacher_people_asked_for_the_samples_are_the_ones_drawn_before(tmp_path):
    cfg = small_config(tmp_path)  # teacher_person_prob 0: the default recipe
    sources = teacher_sources(tmp_path, cfg)
    assert sources.teacher_people
    with_people = dataset.SampleDataset(sources, cfg, seed=0)
    without = dataset.SampleDataset(dataclasses.replace(sources, teacher_people=[]), cfg, seed=0)
    for step in range(12):
        np.testing.assert_array_equal(with_people[(step, 0)]["image"], without[(step, 0)]["image"])
