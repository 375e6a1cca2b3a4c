"""Weight-only int8: each layer weight stored as int8 per output channel, restored to fp32 by DequantizeLinear.

    from model_export.weight_only_int8 import quantize_weights
    int8_model, count = quantize_weights(onnx.load("static/models/vbg-portrait.onnx"))

Used by model_export/quantize.py (its default mode). Activations and arithmetic stay fp32: in
onnxruntime-web's WASM backend every int8-arithmetic variant (QOperator or QDQ) of this small CNN ran
~3x slower than fp32, while this one runs at fp32's speed in a file about a third of the size.
Symmetric (zero point 0, codes -127..127), one scale per output channel; biases stay fp32.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QMAX = 127  # symmetric int8 codes -127..127: -128 is never used, so w and -w round alike
# DequantizeLinear's `axis` attribute (per-channel scales) appeared in opset 13.
MIN_OPSET = 13
# Ops whose weight is quantized: input index of the weight. Conv's weight is (M, C/group, kH, kW), so its
# output channels lie on axis 0; Gemm's and MatMul's are on the axis their attributes give (see weight_axis).
WEIGHT_INPUT = {"Conv": 1, "Gemm": 1, "MatMul": 1}
KIND = "weight-only int8"


def weight_axis(node: onnx.NodeProto, weight: np.ndarray) -> int | None:
    """The weight's output-channel axis for NODE, or None when NODE's weight is not quantized here."""
    if node.op_type == "Conv":
        return 0
    if weight.ndim != 2:  # a batched MatMul operand has no single output-channel axis
        return None
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1  # B is (N, K) with transB, else (K, N)
    return 1  # MatMul: B is (K, N)


def per_channel_int8(weight: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes shaped like weight, fp32 scale per slice along axis): |codes * scale - weight| <= scale / 2."""
    reduce = tuple(d for d in range(weight.ndim) if d != axis)
    peak = np.abs(weight).max(axis=reduce).astype(np.float32)
    scale = np.where(peak > 0, peak / QMAX, np.float32(1.0)).astype(np.float32)  # an all-zero channel: any scale
    shape = [1] * weight.ndim
    shape[axis] = -1
    codes = np.clip(np.rint(weight / scale.reshape(shape)), -QMAX, QMAX).astype(np.int8)
    return codes, scale


def dequantize(codes: np.ndarray, scale: np.ndarray, axis: int) -> np.ndarray:
    """What DequantizeLinear (zero point 0) computes: codes * scale along axis, fp32."""
    shape = [1] * codes.ndim
    shape[axis] = -1
    return codes.astype(np.float32) * scale.reshape(shape)


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def quantize_weights(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Replace every fp32 weight initializer of Conv/Gemm/MatMul by int8 codes + scale + zero point +
    DequantizeLinear; returns (the same model, modified, and how many weights were quantized)."""
    if _opset(model) < MIN_OPSET:
        raise ValueError(f"weight-only int8 needs opset {MIN_OPSET} or later (DequantizeLinear's axis); "
                         f"the model is opset {_opset(model)}")
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    overridable = {value.name for value in graph.input}  # an initializer that is also an input may be fed
    restored: dict[str, str] = {}  # fp32 weight name -> DequantizeLinear output (a shared weight is done once)
    dequantizers = []
    for node in graph.node:
        index = WEIGHT_INPUT.get(node.op_type)
        if index is None or len(node.input) <= index:
            continue
        name = node.input[index]
        init = initializers.get(name)
        if name not in restored:
            if init is None or name in overridable or init.data_type != TensorProto.FLOAT:
                continue
            weight = numpy_helper.to_array(init)
            axis = weight_axis(node, weight)
            if axis is None:
                continue
            codes, scale = per_channel_int8(weight, axis)
            graph.initializer.extend([
                numpy_helper.from_array(codes, f"{name}_int8"),
                numpy_helper.from_array(scale, f"{name}_scale"),
                numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{name}_zero_point"),
            ])
            restored[name] = f"{name}_dequantized"
            dequantizers.append(helper.make_node(
                "DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero_point"], [restored[name]],
                axis=axis))
        node.input[index] = restored[name]

    still_used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    kept = [init for init in graph.initializer if init.name not in restored or init.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Dequantizers first: their inputs are initializers, so the graph stays topologically sorted.
    nodes = dequantizers + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    return model, len(restored)
