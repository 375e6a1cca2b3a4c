"""Tests for model_export/data.py: folder checks, the split, augmentation alignment, the bank."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_export import data

cv2 = pytest.importorskip("cv2")

# Colours that encode the label, so alignment survives any geometric change: person pixels are
# red, the photo's own background blue, pasted backgrounds green.
PERSON, PHOTO_BG, PASTED_BG = (230, 20, 20), (20, 20, 230), (20, 230, 20)


def _person_photo(h: int, w: int, rng: np.random.Generator, touch_bottom: bool = True):
    """An (h, w, 3) image and its mask: an ellipse 'person', whose colour encodes the mask."""
    yy, xx = np.mgrid[:h, :w]
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.4, 0.6)
    mask = ((xx - cx) / (w * 0.2)) ** 2 + ((yy - cy) / (h * 0.3)) ** 2 < 1
    if touch_bottom:
        mask |= (yy > h * 0.7) & (np.abs(xx - cx) < w * 0.25)  # a torso down to the bottom edge
    image = np.where(mask[..., None], PERSON, PHOTO_BG).astype(np.uint8)
    return image, (mask * 255).astype(np.uint8)


def make_folder(root, count: int = 8, size=(96, 128), seed: int = 0):
    """A labelled folder (images/*.jpg, masks/*.png) of synthetic 'people'."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(count):
        image, mask = _person_photo(*size, rng)
        Image.fromarray(image).save(root / "images" / f"{i:04d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i:04d}.png")
    return root


def small_config(tmp_path, **overrides) -> data.DataConfig:
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir(exist_ok=True)
    Image.fromarray(np.full((90, 160, 3), PASTED_BG, np.uint8)).save(backgrounds / "green.jpg")
    values = dict(
        data_dir=str(make_folder(tmp_path / "portraits")), backgrounds_dir=str(backgrounds),
        unlabelled_dir=str(tmp_path / "none"), videos_dir=str(tmp_path / "none"),
        height=48, width=80, val_fraction=0.25, n_crops=12, n_composites=12, n_pseudo=0, use_teacher=False,
    )
    values.update(overrides)
    return data.DataConfig(**values)


def assert_aligned(image: np.ndarray, mask: np.ndarray, background=PHOTO_BG) -> None:
    """Confidently-person pixels are red and confidently-background pixels are not."""
    red = (image[..., 0].astype(int) - image[..., 1:].max(-1)) > 100
    sure_person, sure_bg = mask > 240, mask < 15
    assert sure_person.any() or sure_bg.any()
    if sure_person.any():
        assert red[sure_person].mean() > 0.97
    if sure_bg.any():
        assert red[sure_bg].mean() < 0.03


# --- reading folders -------------------------------------------------------------------------


def test_list_pairs_matches_stems(tmp_path):
    make_folder(tmp_path / "d", count=3)
    pairs = data.list_pairs(tmp_path / "d")
    assert [p[0] for p in pairs] == ["0000", "0001", "0002"]


def test_wrong_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.list_pairs(tmp_path / "nowhere")


def test_missing_masks_folder(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match="masks"):
        data.list_pairs(tmp_path)


def test_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(ValueError, match="no images"):
        data.list_pairs(tmp_path)


def test_missing_mask_names_the_image(tmp_path):
    root = make_folder(tmp_path / "d", count=3)
    (root / "masks" / "0001.png").unlink()
    with pytest.raises(FileNotFoundError, match="0001"):
        data.list_pairs(root)


def test_orphan_mask_is_reported(tmp_path):
    root = make_folder(tmp_path / "d", count=3)
    (root / "images" / "0002.png").unlink()
    with pytest.raises(ValueError, match="0002"):
        data.list_pairs(root)


def test_mask_size_mismatch_names_the_mask(tmp_path):
    root = make_folder(tmp_path / "d", count=2)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "masks" / "0000.png")
    with pytest.raises(ValueError, match="0000.png"):
        data.load_pair(root / "images" / "0000.png", root / "masks" / "0000.png")


def test_unreadable_image_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        data.read_image(bad)


# --- validation split --------------------------------------------------------------------------


def test_split_is_reproducible_and_disjoint(tmp_path):
    root = make_folder(tmp_path / "d", count=20)
    a = data.validation_stems(root, fraction=0.25, seed=3)
    assert a == data.validation_stems(root, fraction=0.25, seed=3)
    assert len(a) == 5 and a == sorted(a)
    assert a != data.validation_stems(root, fraction=0.25, seed=4)
    cfg = data.DataConfig(data_dir=str(root), val_fraction=0.25, val_seed=3)
    train = {p[0] for p in data.training_pairs(cfg)}
    assert train.isdisjoint(a) and len(train) + len(a) == 20


# --- geometry keeps image and mask aligned ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_views_keep_alignment(tmp_path, seed):
    cfg = data.DataConfig(height=48, width=80, tps_amplitude=0.05, max_rotation_deg=20)
    rng = np.random.default_rng(seed)
    image, mask = _person_photo(120, 90, rng)
    for _ in range(5):
        view = data.sample_view(mask.shape, data.person_box(mask), rng, cfg, own_framing_prob=0.3,
                                keep_inside=dict.fromkeys(("top", "bottom", "left", "right"), True))
        out, out_mask = data.render_view(image, mask, view, cfg, rng, cv2.BORDER_REFLECT_101)
        assert out.shape == (48, 80, 3) and out_mask.shape == (48, 80)
        assert_aligned(out, out_mask)


def test_thin_plate_warp_moves_interior_not_border():
    dx, dy = data.thin_plate_offsets(32, 48, 0.05, np.random.default_rng(0))
    assert dx.shape == dy.shape == (32, 48)
    assert np.abs(dx).max() > 1e-3
    assert np.abs(dx[0]).max() < 0.02 and np.abs(dy[:, 0]).max() < 0.02


@pytest.mark.parametrize("seed", range(6))
def test_composite_aligned_and_attached(seed):
    cfg = data.DataConfig(height=48, width=80)
    rng = np.random.default_rng(seed)
    image, mask = _person_photo(120, 160, rng, touch_bottom=True)
    assert data.touched_edges(mask) == {"top": False, "bottom": True, "left": False, "right": False}
    background = np.full((48, 80, 3), PASTED_BG, np.uint8)
    for _ in range(5):
        out, alpha = data.composite(image, mask, background, rng, cfg)
        assert_aligned(out, alpha)
        # The person touched the bottom edge, so it still does (no floating torso): some of the
        # bottom row is person wherever any of the person is visible.
        if (alpha > 127).any():
            assert (alpha[-1] > 127).any()


def test_person_free_regions_hold_no_person():
    rng = np.random.default_rng(0)
    image, mask = _person_photo(60, 200, rng)
    regions = data.person_free_regions(image, mask)
    assert regions
    for region in regions:
        red = (region[..., 0].astype(int) - region[..., 2]) > 100
        assert not red.any()


def test_photometric_is_seeded_and_keeps_shape():
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    a = data.photometric(image, np.random.default_rng(5))
    b = data.photometric(image, np.random.default_rng(5))
    assert a.shape == image.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


# --- the bank ----------------------------------------------------------------------------------


def test_bank_builds_caches_and_excludes_validation(tmp_path, monkeypatch):
    cfg = small_config(tmp_path)
    bank = data.load_bank(cfg, cache_dir=tmp_path / "cache")
    assert bank.images.shape == (24, 48, 80, 3) and bank.images.dtype == np.uint8
    assert bank.masks.shape == (24, 48, 80) and not bank.has_soft.any() and bank.has_mask.all()
    for image, mask in zip(bank.images, bank.masks):
        assert_aligned(np.asarray(image), np.asarray(mask))

    def fail(*args, **kwargs):
        raise AssertionError("the cached bank should have been reused")

    monkeypatch.setattr(data, "build_bank", fail)
    again = data.load_bank(cfg, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(again.images), np.asarray(bank.images))


def test_bank_without_backgrounds_uses_photo_regions(tmp_path):
    cfg = small_config(tmp_path, backgrounds_dir=str(tmp_path / "no-backgrounds"), n_crops=0, n_composites=4)
    # Make the photos wide so they have person-free strips to cut backgrounds from.
    for path in sorted((tmp_path / "portraits" / "images").iterdir()):
        image, mask = _person_photo(60, 240, np.random.default_rng(1))
        Image.fromarray(image).save(path)
        Image.fromarray(mask).save(tmp_path / "portraits" / "masks" / path.name)
    bank = data.build_bank(cfg, teacher=False, progress=False)
    assert len(bank) == 4


def test_dataset_flips_image_and_mask_together(tmp_path):
    cfg = small_config(tmp_path)
    bank = data.build_bank(cfg, teacher=False, progress=False)
    dataset = data.BankDataset(bank, seed=0)
    flipped = 0
    for i in range(len(dataset)):
        sample = dataset[i]
        if sample["mask"].std() < 10:  # all person or all background: nothing to correlate
            continue
        for key in ("image", "image_b"):
            redness = sample[key][..., 0].astype(float) - sample[key][..., 1:].max(-1)
            if redness.std() < 1:  # the rare greyscale augmentation erases the colour code
                continue
            assert np.corrcoef(redness.ravel(), sample["mask"].ravel())[0, 1] > 0.8
        flipped += not np.array_equal(sample["mask"], bank.masks[i])
    assert 0 < flipped < len(dataset)
