"""benchmarks/soak.py: the pure parts (growth slope, warm-up, summary, report); no browser."""
import math

import pytest

from benchmarks.soak import MIB, default_warm_up_s, report_markdown, slope_per_hour, summarize


def _samples(heap_mib_per_hour: float, warm_up_jump_mib: float = 0.0, count: int = 9, step_s: float = 60.0):
    """Samples whose memory grows linearly, with a jump before the second sample (warm-up)."""
    rows = []
    for index in range(count):
        t = index * step_s
        base = (100 + (warm_up_jump_mib if index else 0)) * MIB
        grown = base + heap_mib_per_hour * MIB * t / 3600
        rows.append({"t_s": t, "heap_bytes": grown, "heap_after_gc_bytes": grown / 2, "rss_bytes": 4 * base,
                     "pss_bytes": 2 * base, "presenter_fps": None if index == 0 else 10.0 + index % 2,
                     "viewer_fps": [None, None] if index == 0 else [9.0, 8.0 + index]})
    return rows


def test_slope_is_per_hour_and_exact_on_a_line():
    times = [0, 30, 60, 90]
    assert slope_per_hour(times, [5 + 2 * t for t in times]) == pytest.approx(7200)
    assert slope_per_hour(times, [3, 3, 3, 3]) == pytest.approx(0, abs=1e-9)
    # Least squares: every point counts, not only the ends (equal here).
    assert slope_per_hour([0, 1, 2, 3], [0, 1, -1, 0]) == pytest.approx(-0.2 * 3600)


def test_slope_needs_two_distinct_times():
    assert slope_per_hour([], []) is None
    assert slope_per_hour([10], [1]) is None
    assert slope_per_hour([10, 10], [1, 2]) is None


def test_warm_up_is_five_minutes_or_a_quarter_of_a_short_run():
    assert default_warm_up_s(30) == 300
    assert default_warm_up_s(4) == 60


def test_summary_fits_growth_after_warm_up_only():
    samples = _samples(heap_mib_per_hour=12.0, warm_up_jump_mib=50.0)
    summary = summarize(samples, warm_up_s=60)
    assert summary["samples_after_warm_up"] == 8
    growth = summary["growth"]
    assert growth["heap_mib_per_hour"] == pytest.approx(12.0)
    assert growth["heap_after_gc_mib_per_hour"] == pytest.approx(6.0)
    assert growth["rss_mib_per_hour"] == pytest.approx(0, abs=1e-6)
    # With the warm-up jump in the fit, the slope would be far off.
    assert summarize(samples, warm_up_s=0)["growth"]["rss_mib_per_hour"] > 100
    assert summary["memory_mib"]["rss"]["first"] == pytest.approx(600)
    assert summary["presenter_fps"] == {"median": 10.5, "min": 10.0, "max": 11.0}
    assert summary["viewer_fps"]["min"] == 9.0 and summary["viewer_fps"]["max"] == 16.0


def test_summary_of_a_run_shorter_than_its_warm_up():
    summary = summarize(_samples(1.0, count=2), warm_up_s=600)
    assert summary["samples_after_warm_up"] == 0
    assert all(value is None for value in summary["growth"].values())
    assert summary["presenter_fps"] is None and summary["memory_mib"] is None


def test_report_lists_growth_and_every_sample():
    samples = _samples(heap_mib_per_hour=12.0)
    result = {"minutes": 8, "viewers": 2, "sample_s": 60, "samples": samples, "summary": summarize(samples, 60)}
    text = report_markdown(result)
    assert "+12.0" in text and "+0.0" in text
    assert text.count("\n| ") >= len(samples) + 4  # header rows, growth rows, one row per sample
    assert not any(math.isnan(v) for v in result["summary"]["growth"].values())
