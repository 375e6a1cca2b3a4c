"""Tests for model_export/data.py: the contact sheet of on-the-fly samples."""
from __future__ import annotations

import numpy as np

from model_export import data


def test_contact_sheet_tints_the_label_and_fills_the_grid():
    image = np.full((8, 10, 3), 100, np.uint8)
    mask = np.zeros((8, 10), np.uint8)
    mask[:, :5] = 255
    sheet = data.contact_sheet([{"image": image, "mask": mask}] * 7)
    assert sheet.shape == (2 * 16, data.COLUMNS * 10, 3)  # 7 tiles -> 2 rows of 6
    tinted = sheet[8:16, :10]
    assert tinted[0, 0, 0] > 100 and tinted[0, 0, 1] < 100  # person: red tint
    np.testing.assert_array_equal(tinted[:, 5:], image[:, 5:])  # background: unchanged
    assert (sheet[16:, 10:] == 0).all()  # padding tiles
