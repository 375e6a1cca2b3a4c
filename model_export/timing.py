"""Model-only latency in onnxruntime: the median of single runs after a warm-up."""
from __future__ import annotations

import statistics
import time


def median_ms(session, feed: dict, runs: int, warmup: int) -> float:
    """Median milliseconds of SESSION.run(None, FEED) over RUNS runs, after WARMUP untimed ones."""
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)
