"""Convert MediaPipe's selfie segmentation models (npm @mediapipe/selfie_segmentation, .tflite) to ONNX.

    .venv/bin/vbg teacher convert      # -> build/peers/mediapipe-general.onnx, mediapipe-landscape.onnx

The conversion needs ``tf2onnx`` and TensorFlow (the `convert` extra: tf2onnx parses .tflite files
with TensorFlow's flatbuffer schema and reads tensor shapes through ``tf.lite.Interpreter``);
running the converted files needs only onnxruntime. MediaPipe's custom transpose convolution is
lowered to ONNX ConvTranspose here, and each conversion is checked against TFLite itself.
"""
from __future__ import annotations

import functools
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_export.files import write_atomic
from model_export.segmenter_onnx import (
    MEDIAPIPE_MODELS, PEERS_BUILD_DIR, PROVIDERS, MediaPipeModel, resize_image, session_options,
)

# ONNX got HardSwish in opset 14; below it tf2onnx still emits HardSwish and the graph is invalid
# ("No Op registered for HardSwish with domain_version of 13"). 17 matches our own export.
ONNX_OPSET = 17
MEDIAPIPE_CUSTOM_OP = "Convolution2DTransposeBias"
# TfLitePadding enum values in TfLiteTransposeConvParams (tensorflow/lite/core/c/builtin_op_data.h).
TFLITE_PADDING_SAME = 1
TFLITE_PADDING_VALID = 2
# Max abs probability difference allowed between the ONNX conversion and TFLite (float rounding only;
# measured: under 1e-4).
CONVERSION_TOLERANCE = 1e-3
# tf.lite.Interpreter still works in TF 2.21 and is what tf2onnx itself calls; silence its notice.
_TFLITE_DEPRECATION = r"(?s).*tf\.lite\.Interpreter is deprecated"



@dataclass(frozen=True)
class TransposeConvParams:
    """MediaPipe's custom op options: a raw TfLiteTransposeConvParams struct (3 x int32)."""

    padding: int
    stride_width: int
    stride_height: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> "TransposeConvParams":
        """Decode the 12-byte little-endian struct {padding, stride_width, stride_height}."""
        if len(raw) != 12:
            raise ValueError(f"{MEDIAPIPE_CUSTOM_OP} options: expected 12 bytes, got {len(raw)}")
        return cls(*struct.unpack("<3i", raw))

    def pads(self, in_h: int, in_w: int, k_h: int, k_w: int) -> list[int]:
        """ONNX pads [top, left, bottom, right], following MediaPipe's transpose_conv_bias.cc."""
        total_h = total_w = 0
        if self.padding == TFLITE_PADDING_SAME:
            total_h = max(0, k_h - (in_h - 1) % self.stride_height - 1)
            total_w = max(0, k_w - (in_w - 1) % self.stride_width - 1)
        # MediaPipe offsets the output origin by total // 2 and crops the rest at the end.
        return [total_h // 2, total_w // 2, total_h - total_h // 2, total_w - total_w // 2]


def read_custom_op_params(tflite_path: Path) -> dict[str, TransposeConvParams]:
    """Map each Convolution2DTransposeBias output tensor name to its options."""
    from tf2onnx.tflite.Model import Model
    from tf2onnx.tflite_utils import lookup_enum

    model = Model.GetRootAsModel(bytearray(tflite_path.read_bytes()), 0)
    custom_indices = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = lookup_enum(code.DeprecatedBuiltinCode(), "BuiltinOperator")
        if builtin == "CUSTOM" and code.CustomCode().decode() == MEDIAPIPE_CUSTOM_OP:
            custom_indices.add(i)
    params = {}
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            if op.OpcodeIndex() in custom_indices:
                out_name = graph.Tensors(op.Outputs(0)).Name().decode()
                params[out_name] = TransposeConvParams.from_bytes(op.CustomOptionsAsNumpy().tobytes())
    return params


def _lower_transpose_conv_bias(ctx, node, name, args, *, params: dict[str, TransposeConvParams]):
    """tf2onnx handler: MediaPipe's Convolution2DTransposeBias as Transpose-ConvTranspose-Transpose."""
    # Inputs: x (N,H,W,Cin) NHWC, weights (Cout,kH,kW,Cin) "OHWI", bias (Cout,).
    x, weights, bias = node.input
    out_name = node.output[0]
    op_params = params[out_name]
    _, in_h, in_w, _ = ctx.get_shape(x)
    _, k_h, k_w, _ = ctx.get_shape(weights)
    out_shape, out_dtype = ctx.get_shape(out_name), ctx.get_dtype(out_name)
    ctx.remove_node(node.name)
    x_nchw = ctx.make_node("Transpose", [x], attr={"perm": [0, 3, 1, 2]}).output[0]
    # ONNX ConvTranspose wants weights as (Cin, Cout/group, kH, kW); the optimizer folds this.
    w_iohw = ctx.make_node("Transpose", [weights], attr={"perm": [3, 0, 1, 2]}).output[0]
    deconv = ctx.make_node(
        "ConvTranspose",
        [x_nchw, w_iohw, bias],
        attr={
            "kernel_shape": [k_h, k_w],
            "strides": [op_params.stride_height, op_params.stride_width],
            "pads": op_params.pads(in_h, in_w, k_h, k_w),
        },
    ).output[0]
    ctx.make_node(
        "Transpose", [deconv], attr={"perm": [0, 2, 3, 1]},
        outputs=[out_name], shapes=[out_shape], dtypes=[out_dtype],
    )


def convert_tflite(tflite_path: Path, onnx_path: Path, opset: int = ONNX_OPSET) -> Path:
    """Convert one MediaPipe .tflite file to ONNX (written atomically) and return its path."""
    if not tflite_path.is_file():
        raise FileNotFoundError(f"MediaPipe model not found: {tflite_path} (run `npm install`)")
    try:
        import onnx
        import tf2onnx
    except ImportError as exc:
        raise ImportError(
            "converting MediaPipe models needs tf2onnx and TensorFlow: "
            "pip install tf2onnx==1.17.0 tensorflow-cpu==2.21.0"
        ) from exc

    # tf2onnx cannot decode the op's raw (non-flexbuffer) options, so read them here and bind them
    # to this conversion's handler (the old-style custom_op_handlers API: {op: (func, args)}).
    handler = functools.partial(_lower_transpose_conv_bias, params=read_custom_op_params(tflite_path))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TFLITE_DEPRECATION)
        model_proto, _ = tf2onnx.convert.from_tflite(
            str(tflite_path), opset=opset, custom_op_handlers={f"TFL_{MEDIAPIPE_CUSTOM_OP}": (handler, [])}
        )
    onnx.checker.check_model(model_proto)
    write_atomic(onnx_path, model_proto.SerializeToString())
    return onnx_path


def convert_mediapipe(out_dir: Path = PEERS_BUILD_DIR) -> list[Path]:
    """Convert both MediaPipe selfie segmentation models into out_dir."""
    return [
        convert_tflite(m.tflite_path, out_dir / f"{m.name}.onnx") for m in MEDIAPIPE_MODELS.values()
    ]


def compare_with_tflite(model: MediaPipeModel, images_rgb: list[np.ndarray], onnx_path: Path | None = None) -> float:
    """Max abs difference between the ONNX conversion and MediaPipe's .tflite run by TFLite.

    TFLite's own kernels lack the custom op; its default XNNPACK delegate implements it (as
    MediaPipe's CPU runtime does), so this is MediaPipe's own result for the same input tensor.
    """
    import onnxruntime as ort
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TFLITE_DEPRECATION)
        interpreter = tf.lite.Interpreter(str(model.tflite_path))
    interpreter.allocate_tensors()
    session = ort.InferenceSession(str(onnx_path or model.onnx_path), session_options(1), providers=PROVIDERS)
    worst = 0.0
    for image in images_rgb:
        x = resize_image(image, model.height, model.width).astype(np.float32)[None] / 255.0  # (1,H,W,3)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        reference = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        converted = session.run(None, {session.get_inputs()[0].name: x})[0]
        worst = max(worst, float(np.abs(converted - reference).max()))
    return worst
