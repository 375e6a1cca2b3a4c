"""Photometric changes of a training image: camera colour, light, blur, noise and compression.

Labels never change here; only the pixels do.
"""
from __future__ import annotations

import math

import numpy as np

from model_export.sources import cv2

MOTION_BLUR_PX = (3, 12)  # length range of a motion-blur streak at the model's 256x144 size
LOW_LIGHT_GAIN = (0.2, 0.5)  # exposure of a dim room, times the original
BACKLIGHT_GAIN = (0.3, 0.6)  # the person under a bright window: person darker ...
BACKLIGHT_BOOST = (1.3, 1.8)  # ... and the background brighter
COLOUR_MATCH_SCALE = (0.8, 1.25)  # bounds of the person's contrast change when matched to a background
COLOUR_MATCH_MAX_SHIFT = 40.0  # bound of the person's per-channel mean shift, 0..255 units


def motion_blur(image: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    """IMAGE smeared along a line of LENGTH px at ANGLE_DEG (a moving person or a shaking camera)."""
    length = max(1, int(length))
    if length == 1:
        return image
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(angle_deg), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    kernel /= max(float(kernel.sum()), 1e-6)
    out = cv2.filter2D(image.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def low_light(image: np.ndarray, gain: float, noise_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A dim room: exposure times GAIN, then sensor noise of NOISE_SIGMA (0..255 units), as webcams do."""
    x = image.astype(np.float32) * gain
    x += rng.normal(0.0, noise_sigma, x.shape).astype(np.float32)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def backlight(image: np.ndarray, alpha: np.ndarray, person_gain: float, background_boost: float) -> np.ndarray:
    """Strong light behind the person: the person (ALPHA, uint8) darker, the background brighter."""
    a = alpha.astype(np.float32)[..., None] / 255.0
    gain = person_gain * a + background_boost * (1 - a)
    return np.clip(image.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def match_colour(person: np.ndarray, alpha: np.ndarray, background: np.ndarray, strength: float) -> np.ndarray:
    """PERSON's per-channel mean and spread moved STRENGTH of the way to BACKGROUND's (same light).

    Only the person's pixels (ALPHA > 0.5) are measured; the background keeps its own colours, so a
    pasted person cannot be told apart by a tint of the backdrop.
    """
    inside = alpha > 127
    if inside.sum() < 16:
        return person
    p = person.astype(np.float32)
    src = p[inside]
    dst = background.reshape(-1, 3).astype(np.float32)
    src_mean, src_std = src.mean(0), src.std(0) + 1e-3
    dst_mean, dst_std = dst.mean(0), dst.std(0) + 1e-3
    # Bounded: a flat bright wall must not wash the person out (their own contrast is real).
    scale = np.clip(1 + strength * (dst_std / src_std - 1), *COLOUR_MATCH_SCALE)
    shift = np.clip(strength * (dst_mean - src_mean), -COLOUR_MATCH_MAX_SHIFT, COLOUR_MATCH_MAX_SHIFT)
    out = (p - src_mean) * scale + src_mean + shift
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def photometric(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Colour (brightness, contrast, saturation, hue, gamma, white balance), blur, noise and JPEG."""
    x = image.astype(np.float32) / 255.0
    s = strength
    # White balance / colour cast: per-channel gains.
    x = x * rng.uniform(1 - 0.12 * s, 1 + 0.12 * s, 3).astype(np.float32)
    # Brightness and contrast around the mean.
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - 0.35 * s, 1 + 0.35 * s) + mean + rng.uniform(-0.15, 0.15) * s
    # Saturation.
    gray = x.mean(-1, keepdims=True)
    x = gray + (x - gray) * rng.uniform(1 - 0.6 * s, 1 + 0.5 * s)
    if rng.random() < 0.3 * s:  # hue rotation about the grey axis (small angle, radians)
        angle = rng.uniform(-0.35, 0.35) * s
        k = np.ones(3, np.float32) / math.sqrt(3)
        c, sn = math.cos(angle), math.sin(angle)
        cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], np.float32)
        rot = c * np.eye(3, dtype=np.float32) + sn * cross + (1 - c) * np.outer(k, k)
        x = x @ rot.T.astype(np.float32)
    x = np.clip(x, 0, 1)
    if rng.random() < 0.5 * s:  # gamma: exposure curve of cheap webcams
        x = x ** np.float32(np.exp(rng.uniform(-0.4, 0.4) * s))
    if rng.random() < 0.05 * s:
        x = np.repeat(x.mean(-1, keepdims=True), 3, -1)
    x = x * 255.0
    if rng.random() < 0.25 * s:  # defocus
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.3, 1.3)))
    elif rng.random() < 0.1 * s:  # motion blur along a random direction
        x = motion_blur(np.clip(x, 0, 255).astype(np.uint8), int(rng.integers(*MOTION_BLUR_PX)),
                        float(rng.uniform(0, 180))).astype(np.float32)
    if rng.random() < 0.35 * s:  # sensor noise, sigma in 0..255 units
        x = x + rng.normal(0, rng.uniform(2, 9) * s, x.shape).astype(np.float32)
    out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.4 * s:  # compression artefacts of video calls
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out
