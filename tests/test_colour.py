"""Tests for model_export/colour.py: each light and camera change does what it says, labels untouched."""
from __future__ import annotations

import numpy as np
import pytest

from model_export import colour

pytest.importorskip("cv2")


def test_photometric_is_seeded_and_keeps_shape():
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    a = colour.photometric(image, np.random.default_rng(5))
    b = colour.photometric(image, np.random.default_rng(5))
    assert a.shape == image.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


def test_motion_blur_smears_along_its_direction_only():
    image = np.zeros((31, 31, 3), np.uint8)
    image[15, 15] = 255
    out = colour.motion_blur(image, 9, 0.0)  # horizontal streak
    lit = out[..., 0] > 0
    assert lit[15].sum() >= 7 and lit[:, 15].sum() <= 2
    assert colour.motion_blur(image, 1, 30.0) is image


def test_low_light_darkens():
    image = np.full((20, 20, 3), 200, np.uint8)
    out = colour.low_light(image, 0.3, 0.0, np.random.default_rng(0))
    assert abs(float(out.mean()) - 60) < 1


def test_backlight_darkens_the_person_and_brightens_the_background():
    image = np.full((10, 20, 3), 100, np.uint8)
    alpha = np.zeros((10, 20), np.uint8)
    alpha[:, :10] = 255
    out = colour.backlight(image, alpha, 0.5, 1.5)
    assert out[:, :10].mean() == pytest.approx(50, abs=1) and out[:, 10:].mean() == pytest.approx(150, abs=1)


def test_match_colour_moves_the_person_toward_the_background():
    person = np.zeros((20, 20, 3), np.uint8)
    person[...] = (200, 40, 40)
    alpha = np.full((20, 20), 255, np.uint8)
    background = np.full((20, 20, 3), (40, 40, 200), np.uint8)
    quarter = colour.match_colour(person, alpha, background, 0.25)
    np.testing.assert_allclose(quarter[0, 0], (160, 40, 80), atol=1)
    np.testing.assert_array_equal(colour.match_colour(person, alpha, background, 0.0), person)
    nobody = np.zeros_like(alpha)
    np.testing.assert_array_equal(colour.match_colour(person, nobody, background, 1.0), person)


def test_match_colour_is_bounded():
    rng = np.random.default_rng(0)
    person = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
    alpha = np.full((20, 20), 255, np.uint8)
    white_wall = np.full((20, 20, 3), 250, np.uint8)
    out = colour.match_colour(person, alpha, white_wall, 1.0).astype(float)
    shift = out.reshape(-1, 3).mean(0) - person.reshape(-1, 3).mean(0)
    assert (shift <= colour.COLOUR_MATCH_MAX_SHIFT + 1).all()
    assert (out.reshape(-1, 3).std(0) >= 0.75 * person.reshape(-1, 3).std(0)).all()  # contrast kept
