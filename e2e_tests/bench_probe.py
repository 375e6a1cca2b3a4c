"""Read back what static/js/bench_probe.js recorded (pages opened with ``?bench=1`` or ``?bench=alpha``):
per composited frame the clip frame shown, the mask used and how (session.js COMPOSITED_WITH), timings,
and the masks and output alphas at the model's size. Used by the e2e latency tests and benchmarks/pipeline.py."""
from __future__ import annotations

import base64
from enum import IntEnum

import numpy as np


class CompositedWith(IntEnum):
    """static/js/session.js COMPOSITED_WITH."""

    OWN_MASK = 0
    GATE_PROVEN = 1
    DEADLINE = 2
    PRIVACY_BLUR = 3
    UNSYNCED = 4


READ_RECORDS = """() => {
  const r = window.vbg.bench.records;
  const n = r.count, m = r.maskCount, pick = (a, k) => Array.from(a.subarray(0, k));
  return {
    count: n, maskCount: m, alphaCount: r.alphaCount, maskBytes: r.masks.length / r.inferenceMs.length,
    finishedAt: pick(r.finishedAt, n), capturedAt: pick(r.capturedAt, n), arrivedAt: pick(r.arrivedAt, n),
    processingMs: pick(r.processingMs, n), frameCode: pick(r.frameCode, n), maskSerial: pick(r.maskSerial, n),
    compositedWith: pick(r.compositedWith, n), changedFraction: pick(r.changedFraction, n),
    ranSegmentation: pick(r.ranSegmentation, n), personVisible: pick(r.personVisible, n),
    maskFrameCode: pick(r.maskFrameCode, m), inferenceMs: pick(r.inferenceMs, m),
    capacity: r.finishedAt.length, maskCapacity: r.inferenceMs.length,
  };
}"""

# name -> bytes [start, end) of records.masks or records.alphas, as base64
READ_BYTES = """([name, start, end]) => {
  const bytes = window.vbg.bench.records[name].subarray(start, end);
  const CHUNK = 0x8000; // String.fromCharCode takes a bounded number of arguments
  let text = '';
  for (let i = 0; i < bytes.length; i += CHUNK) text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  return btoa(text);
}"""

CHUNK_BYTES = 4 << 20  # bytes cross the DevTools protocol as base64 in chunks of this size


def read_records(page) -> dict:
    """Every per-frame and per-mask record as lists (see READ_RECORDS)."""
    return page.evaluate(READ_RECORDS)


def read_arrays(page) -> dict:
    """read_records with every per-frame and per-mask list as a numpy array."""
    return {key: np.asarray(value) if isinstance(value, list) else value for key, value in read_records(page).items()}


def read_planes(page, name: str, count: int, model_size: tuple[int, int]) -> np.ndarray:
    """The first COUNT model-size planes of records[NAME] ('masks' or 'alphas'): (count, h, w) uint8."""
    width, height = model_size
    total = count * width * height
    parts = [base64.b64decode(page.evaluate(READ_BYTES, [name, offset, min(total, offset + CHUNK_BYTES)]))
             for offset in range(0, total, CHUNK_BYTES)]
    return np.frombuffer(b"".join(parts), np.uint8).reshape(count, height, width)
