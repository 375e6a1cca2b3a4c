"""benchmarks/model_speed.py: its arguments, inputs and ratios, a clear error for a missing file, and a tiny
run in a real Chromium whose report holds every model at every thread count, timed in turn."""
import json
from pathlib import Path

import pytest

from benchmarks import model_speed
from model_export.paths import SHIPPED_MODELS_DIR

OURS = SHIPPED_MODELS_DIR / "vbg-portrait.onnx"
PEER = "mediapipe-landscape"


def test_models_are_named_pairs_or_bare_paths():
    assert model_speed.parse_models("a=x/a.onnx, b.onnx") == {"a": Path("x/a.onnx"), "b": Path("b.onnx")}
    with pytest.raises(ValueError, match="twice"):
        model_speed.parse_models("a=1.onnx,a=2.onnx")
    with pytest.raises(ValueError, match="no models"):
        model_speed.parse_models(" , ")


def test_each_model_is_fed_its_own_layout(mediapipe_peers):
    assert model_speed.model_inputs(OURS) == [{"name": "image", "shape": [1, 3, 144, 256]}]
    assert model_speed.model_inputs(mediapipe_peers[PEER].onnx_path) == [{"name": "input_1", "shape": [1, 144, 256, 3]}]


def test_ratios_divide_by_the_reference_median():
    summaries = {"a": model_speed.summarise([3.0, 4.0, 5.0]), PEER: model_speed.summarise([2.0, 2.0, 2.0])}
    assert summaries["a"]["median_ms"] == 4.0 and summaries["a"]["runs"] == 3
    assert summaries["a"]["p10_ms"] == pytest.approx(3.2) and summaries["a"]["p90_ms"] == pytest.approx(4.8)
    ratios = model_speed.with_ratios(summaries, PEER)
    assert ratios["a"]["ratio"] == 2.0 and ratios[PEER]["ratio"] == 1.0
    assert model_speed.with_ratios(summaries, "absent")["a"]["ratio"] is None


def test_a_missing_model_file_is_named_before_any_browser_starts(tmp_path, capsys):
    out = tmp_path / "speed.json"
    code = model_speed.main(["--models", f"ours={OURS},gone={tmp_path / 'gone.onnx'}", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert f"model file missing: gone: {tmp_path / 'gone.onnx'}" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.e2e
def test_a_tiny_run_reports_every_model_at_every_thread_count(tmp_path, capsys, mediapipe_peers):
    out = tmp_path / "speed.json"
    runs = 3
    code = model_speed.main(["--models", f"ours={OURS},{PEER}={mediapipe_peers[PEER].onnx_path}",
                             "--threads", "1,2", "--runs", str(runs), "--warmup", "1", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m benchmarks.model_speed --models")
    assert report["chromium"] and report["ort_web"] and report["cpus"] >= 1 and report["date"]
    assert set(report["models"]) == {"ours", PEER}
    assert all(len(model["sha256"]) == 64 and model["bytes"] > 0 for model in report["models"].values())
    assert set(report["results"]) == {"1", "2"}
    for count, results in report["results"].items():
        assert report["pages"][count]["isolated"] and report["pages"][count]["worker_isolated"]
        assert set(results) == {"ours", PEER}
        assert all(result["median_ms"] > 0 and result["runs"] == runs for result in results.values())
        assert results[PEER]["ratio"] == 1.0
        assert results["ours"]["ratio"] == pytest.approx(results["ours"]["median_ms"] / results[PEER]["median_ms"])
        # run by run in turn: ours, peer, ours, peer, ...
        started = sorted((t, name) for name, result in results.items() for t in result["started_ms"])
        assert [name for _, name in started] == ["ours", PEER] * runs
    table = capsys.readouterr().out
    assert f"| {PEER} | 2 |" in table and "| 1.00 |" in table
