"""Tests for benchmarks/model_candidates.py: every candidate exports with the model's contract."""
import onnx

from benchmarks.model_candidates import CANDIDATES, build_candidates
from model_export.model import ModelConfig


def test_every_candidate_exports_at_the_model_input_and_the_shipped_one_is_the_default(tmp_path):
    paths, facts = build_candidates(tmp_path)
    assert list(paths) == list(CANDIDATES)
    for name, path in paths.items():
        graph = onnx.load(str(path)).graph
        assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 3, 144, 256], name
        assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == [1, 1, 144, 256], name
        assert 0 < facts[name]["params"] <= 150_000 or "wider" in name
    shipped = [name for name, knobs in CANDIDATES.items() if "(shipped)" in name]
    assert len(shipped) == 1 and ModelConfig(**CANDIDATES[shipped[0]]) == ModelConfig()
    assert 0 < facts[shipped[0]]["int8_bytes"] <= 150_000  # the page's file, within the cap
