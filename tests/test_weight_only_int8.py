"""Tests for model_export/weight_only_int8.py: per-channel codes, the graph rewrite, and what it refuses."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from model_export.weight_only_int8 import QMAX, dequantize, per_channel_int8, quantize_weights

# Relative slack on "within half a scale step": codes * scale is computed in fp32.
HALF_STEP_SLACK = 1e-5


@pytest.mark.parametrize("shape, axis", [((8, 3, 3, 3), 0), ((6, 1, 3, 3), 0), ((5, 7), 1), ((7, 5), 0)])
def test_codes_restore_each_weight_within_half_a_step(shape, axis):
    weight = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    weight *= np.geomspace(1e-3, 10, shape[axis]).reshape([-1 if d == axis else 1 for d in range(len(shape))])
    codes, scale = per_channel_int8(weight, axis)
    assert codes.dtype == np.int8 and codes.shape == weight.shape and scale.shape == (shape[axis],)
    error = np.abs(dequantize(codes, scale, axis) - weight)
    half_step = np.expand_dims(scale, [d for d in range(len(shape)) if d != axis]) / 2
    assert (error <= half_step * (1 + HALF_STEP_SLACK)).all()
    assert np.abs(codes.astype(int)).max(axis=tuple(d for d in range(len(shape)) if d != axis)).tolist() == \
        [QMAX] * shape[axis]  # symmetric: every channel's largest weight uses the full range


def test_an_all_zero_channel_gets_a_usable_scale():
    weight = np.zeros((2, 3), np.float32)
    weight[1] = [0.5, -1.0, 0.25]
    codes, scale = per_channel_int8(weight, 0)
    assert np.isfinite(scale).all() and (scale > 0).all()
    assert not codes[0].any()
    np.testing.assert_array_equal(codes[1], [64, -127, 32])


def _graph_model(nodes, inits, out_shape, opset=17) -> onnx.ModelProto:
    """A graph x (2, 4) -> NODES -> y OUT_SHAPE with INITS as initializers."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(value, name) for name, value in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_gemm_and_matmul_weights_are_quantized_per_output_channel():
    rng = np.random.default_rng(1)
    inits = {"w_t": rng.standard_normal((3, 4)).astype(np.float32),  # Gemm transB: (N, K)
             "w": rng.standard_normal((3, 5)).astype(np.float32),  # MatMul: (K, N)
             "b": rng.standard_normal(3).astype(np.float32)}
    nodes = [helper.make_node("Gemm", ["x", "w_t", "b"], ["h"], transB=1),
             helper.make_node("MatMul", ["h", "w"], ["y"])]
    x = rng.standard_normal((2, 4)).astype(np.float32)
    expected = _run(_graph_model(nodes, inits, [2, 5]), x)
    model, count = quantize_weights(_graph_model(nodes, inits, [2, 5]))
    assert count == 2
    dequantizers = {node.output[0]: node for node in model.graph.node if node.op_type == "DequantizeLinear"}
    axes = {node.input[0]: node.attribute[0].i for node in dequantizers.values()}
    assert axes == {"w_t_int8": 0, "w_int8": 1}
    kept = {init.name: init.data_type for init in model.graph.initializer}
    assert "w" not in kept and "w_t" not in kept and kept["b"] == TensorProto.FLOAT
    np.testing.assert_allclose(_run(model, x), expected, atol=0.05)


def test_a_shared_weight_is_quantized_once():
    w = np.random.default_rng(2).standard_normal((4, 4)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])]
    model, count = quantize_weights(_graph_model(nodes, {"w": w}, [2, 4]))
    assert count == 1
    assert [n.op_type for n in model.graph.node].count("DequantizeLinear") == 1


def test_an_opset_without_per_axis_dequantize_is_refused():
    w = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="opset 13 or later.*opset 12"):
        quantize_weights(_graph_model([helper.make_node("MatMul", ["x", "w"], ["y"])], {"w": w}, [2, 4], opset=12))
