"""Teacher and peer models: MediaPipe selfie segmentation converted to ONNX, SINet, and our own.

Convert the two MediaPipe models (from the npm package) to ``build/peers/*.onnx``::

    python -m model_export.teacher convert

Score one model on a single photo (a quick smoke test)::

    python -m model_export.teacher predict --model mediapipe-landscape PHOTO.jpg

Everything we compare runs through one ``Segmenter`` (stretch resize, channel order and
normalisation per model, probability back at the image's size), built by ``load_segmenter``.
The conversion needs ``tf2onnx`` and TensorFlow (tf2onnx parses .tflite files with TensorFlow's
flatbuffer schema and reads tensor shapes through ``tf.lite.Interpreter``); running the converted
files needs only onnxruntime.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import struct
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model_export.files import write_atomic
from model_export.paths import BUILD_DIR, MEDIAPIPE_PACKAGE_DIR, PEERS_DIR, PORTRAITS_DIR

PEERS_BUILD_DIR = BUILD_DIR / "peers"
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
PORTRAITS_IMAGES = PORTRAITS_DIR / "images"
# tf.lite.Interpreter still works in TF 2.21 and is what tf2onnx itself calls; silence its notice.
_TFLITE_DEPRECATION = r"(?s).*tf\.lite\.Interpreter is deprecated"


@dataclass(frozen=True)
class MediaPipeModel:
    """One MediaPipe selfie segmentation model shipped in the npm package."""

    name: str
    tflite_file: str
    height: int
    width: int

    @property
    def tflite_path(self) -> Path:
        return MEDIAPIPE_PACKAGE_DIR / self.tflite_file

    @property
    def onnx_path(self) -> Path:
        return PEERS_BUILD_DIR / f"{self.name}.onnx"


MEDIAPIPE_MODELS = {
    m.name: m
    for m in (
        MediaPipeModel("mediapipe-general", "selfie_segmentation.tflite", 256, 256),
        MediaPipeModel("mediapipe-landscape", "selfie_segmentation_landscape.tflite", 144, 256),
    )
}


# ---------------------------------------------------------------------------------------------
# Conversion


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
    session = ort.InferenceSession(str(onnx_path or model.onnx_path), _session_options(1), providers=_PROVIDERS)
    worst = 0.0
    for image in images_rgb:
        x = resize_image(image, model.height, model.width).astype(np.float32)[None] / 255.0  # (1,H,W,3)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        reference = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        converted = session.run(None, {session.get_inputs()[0].name: x})[0]
        worst = max(worst, float(np.abs(converted - reference).max()))
    return worst


# ---------------------------------------------------------------------------------------------
# One runner for every model we compare

_PROVIDERS = ["CPUExecutionProvider"]


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its image: network input = (pixel * scale - mean) / std, per channel."""

    name: str
    height: int
    width: int
    layout: str = "NCHW"  # "NCHW" or "NHWC"
    color: str = "RGB"  # channel order of the network input: "RGB" or "BGR"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # in the network's channel order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class OutputSpec:
    """Where the person probability is in the model's output."""

    name: str
    activation: str = "none"  # "none" (already a probability), "sigmoid" or "softmax" (over channels)
    channel: int = 0
    layout: str = "NCHW"  # (1, C, H, W) or (1, H, W, C)


class Segmenter:
    """An onnxruntime session plus its pre/post-processing: RGB uint8 image in, probability out."""

    def __init__(self, name: str, model: Path | bytes, input_spec: InputSpec, output_spec: OutputSpec,
                 threads: int = 1, path: Path | None = None, params: int | None = None):
        import onnxruntime as ort

        self.name = name
        self.input_spec = input_spec
        self.output_spec = output_spec
        self.path = path if path is not None else (model if isinstance(model, Path) else None)
        self.params = params
        source = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(source, _session_options(threads), providers=_PROVIDERS)
        if len(self.session.get_inputs()) != 1:
            names = [i.name for i in self.session.get_inputs()]
            raise ValueError(f"{self.path or name}: expected one image input, the graph has {names}")

    def __repr__(self) -> str:
        return f"Segmenter({self.name!r}, {self.input_spec.height}x{self.input_spec.width})"

    def preprocess(self, image_rgb: np.ndarray) -> np.ndarray:
        """The network input tensor (1, 3, H, W) or (1, H, W, 3), float32, for one RGB uint8 image."""
        spec = self.input_spec
        x = resize_image(image_rgb, spec.height, spec.width).astype(np.float32)
        if spec.color == "BGR":
            x = x[..., ::-1]
        x = (x * spec.scale - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
        if spec.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=np.float32)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Person probability (H_in, W_in) at the network's resolution for a preprocessed input."""
        out = self.session.run([self.output_spec.name], {self.input_spec.name: x})[0]
        spec = self.output_spec
        if spec.layout == "NHWC":
            out = np.moveaxis(out, -1, 1)  # (1, C, H, W)
        if spec.activation == "softmax":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        elif spec.activation == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-out))
        elif spec.activation != "none":
            raise ValueError(f"{self.name}: unknown output activation {spec.activation!r}")
        return out[0, spec.channel].astype(np.float32)

    def predict(self, image_rgb: np.ndarray) -> np.ndarray:
        """Person probability float32 (H, W) in [0, 1] at the image's own size."""
        _check_image(image_rgb)
        prob = self.run(self.preprocess(image_rgb))
        return np.clip(resize_prob(prob, *image_rgb.shape[:2]), 0.0, 1.0)


def resize_image(image_rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Stretch (no letterbox) an RGB uint8 image to (height, width) with bilinear filtering."""
    if image_rgb.shape[:2] == (height, width):
        return image_rgb
    return np.asarray(Image.fromarray(image_rgb).resize((width, height), Image.BILINEAR))


def resize_prob(prob: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a float32 (h, w) probability map to (height, width)."""
    if prob.shape == (height, width):
        return prob
    return np.asarray(Image.fromarray(prob.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR))


def _check_image(image_rgb: np.ndarray) -> None:
    if not (isinstance(image_rgb, np.ndarray) and image_rgb.dtype == np.uint8
            and image_rgb.ndim == 3 and image_rgb.shape[2] == 3):
        shape = getattr(image_rgb, "shape", None)
        dtype = getattr(image_rgb, "dtype", type(image_rgb).__name__)
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {dtype} {shape}")


def _session_options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: SINet's old export triggers a warning per weight
    return options


# SINet (../shared/README.md): BGR, stretched to 320x320, (x - mean) / std / 255 with mean and std in
# 0..255 units (the /255 after standardising is the original SINet code's quirk), so std here is
# std * 255; output (1, 2, 320, 320) logits (background, person).
SINET_INPUT = InputSpec(
    name="data", height=320, width=320, layout="NCHW", color="BGR", scale=1.0,
    mean=(102.89, 111.25, 126.91), std=(62.93 * 255, 62.82 * 255, 66.36 * 255),
)
SINET_OUTPUT = OutputSpec(name="classifier/1", activation="softmax", channel=1)
PEER_NAMES = (*MEDIAPIPE_MODELS, "sinet")


def load_segmenter(name_or_manifest: str | Path, threads: int = 1) -> Segmenter:
    """A Segmenter for "mediapipe-general", "mediapipe-landscape", "sinet" or one of our manifests."""
    key = str(name_or_manifest)
    if key in MEDIAPIPE_MODELS:
        return _load_mediapipe(MEDIAPIPE_MODELS[key], threads)
    if key == "sinet":
        return _load_sinet(PEERS_DIR / "sinet.onnx", threads)
    path = Path(name_or_manifest)
    if path.suffix == ".json" or path.is_file():
        return _load_manifest(path, threads)
    raise ValueError(f"unknown model {key!r}: expected one of {', '.join(PEER_NAMES)} or a manifest .json path")


def _load_mediapipe(model: MediaPipeModel, threads: int) -> Segmenter:
    path = model.onnx_path
    if not path.is_file():
        try:
            convert_tflite(model.tflite_path, path)
        except ImportError as exc:
            raise FileNotFoundError(
                f"{path} not found and cannot be made here ({exc}); "
                "run `python -m model_export.teacher convert` where tf2onnx is installed"
            ) from exc
    import onnxruntime as ort

    probe = ort.InferenceSession(str(path), _session_options(1), providers=_PROVIDERS)
    input_spec = InputSpec(name=probe.get_inputs()[0].name, height=model.height, width=model.width,
                           layout="NHWC", color="RGB", scale=1.0 / 255.0)
    output_spec = OutputSpec(name=probe.get_outputs()[0].name, activation="none", channel=0, layout="NHWC")
    return Segmenter(model.name, path, input_spec, output_spec, threads, params=count_parameters(path))


def _load_sinet(path: Path, threads: int) -> Segmenter:
    if not path.is_file():
        raise FileNotFoundError(f"SINet peer not found: {path} (set VBG_SHARED to the shared folder)")
    import onnx

    proto = onnx.load(str(path))
    # The old exporter lists every weight as a graph input too; drop those so ORT folds constants.
    weights = {init.name for init in proto.graph.initializer}
    keep = [i for i in proto.graph.input if i.name not in weights]
    del proto.graph.input[:]
    proto.graph.input.extend(keep)
    return Segmenter("sinet", proto.SerializeToString(), SINET_INPUT, SINET_OUTPUT, threads,
                     path=path, params=count_parameters(proto))


def _load_manifest(path: Path, threads: int) -> Segmenter:
    if not path.is_file():
        raise FileNotFoundError(f"model manifest not found: {path}")
    try:
        manifest = json.loads(path.read_text())
        model_path = path.parent / manifest["file"]
        inp, out = manifest["input"], manifest["output"]
        _, channels, height, width = inp["shape"]
        if inp.get("layout", "NCHW") != "NCHW" or channels != 3:
            raise ValueError(f"expected input layout NCHW with 3 channels, got {inp.get('layout')} {inp['shape']}")
        input_spec = InputSpec(
            name=inp["name"], height=int(height), width=int(width), layout="NCHW",
            color=inp.get("color", "RGB"), scale=float(inp["scale"]),
            mean=tuple(float(v) for v in inp["mean"]), std=tuple(float(v) for v in inp["std"]),
        )
        output_spec = OutputSpec(name=out["name"], activation=out.get("activation", "none"),
                                 channel=int(out.get("channel", 0)), layout="NCHW")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad model manifest {path}: {exc!r}") from exc
    if not model_path.is_file():
        raise FileNotFoundError(f"{path} names {manifest['file']}, which is not at {model_path}")
    expected = manifest.get("sha256")
    if expected and hashlib.sha256(model_path.read_bytes()).hexdigest() != expected:
        raise ValueError(f"{model_path} does not match the sha256 in {path} (re-export the model)")
    params = manifest.get("params") or manifest.get("metrics", {}).get("params") or count_parameters(model_path)
    name = path.stem
    return Segmenter(name, model_path, input_spec, output_spec, threads, params=int(params))


# Ops whose constant inputs are learned parameters (weights, biases, norms, folded BN scales).
_PARAM_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "PRelu",
              "InstanceNormalization", "LayerNormalization", "Add", "Mul", "Sub", "Div"}


def count_parameters(model) -> int:
    """Learned parameters in an ONNX graph: constants feeding weight ops (through Q/DQ, Cast, Transpose)."""
    import onnx

    proto = onnx.load(str(model)) if isinstance(model, (str, Path)) else model
    sizes = {init.name: int(np.prod(init.dims)) for init in proto.graph.initializer}
    for node in proto.graph.node:  # some converters keep weights as Constant nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].t.dims:
            sizes[node.output[0]] = int(np.prod(node.attribute[0].t.dims))
    # Follow value-preserving ops so a quantized or transposed weight still counts once.
    passthrough = {}
    for node in proto.graph.node:
        if node.op_type in {"DequantizeLinear", "Cast", "Transpose", "Reshape", "Identity"} and node.input[0] in sizes:
            passthrough[node.output[0]] = node.input[0]
    counted = set()
    for node in proto.graph.node:
        if node.op_type not in _PARAM_OPS:
            continue
        for name in node.input:
            while name in passthrough:
                name = passthrough[name]
            if name in sizes and sizes[name] > 1:  # scalars are activation constants (e.g. HardSwish's 3, 6)
                counted.add(name)
    return sum(sizes[n] for n in counted)


# ---------------------------------------------------------------------------------------------
# Distillation soft labels


@functools.cache
def _teachers(threads: int) -> tuple[Segmenter, Segmenter]:
    return tuple(load_segmenter(name, threads) for name in MEDIAPIPE_MODELS)


def teacher_probs(images_uint8: np.ndarray, threads: int = 1) -> np.ndarray:
    """(N, H, W) float32 soft labels: the mean of MediaPipe general and landscape probabilities."""
    images = np.asarray(images_uint8)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected RGB uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    teachers = _teachers(threads)
    out = np.empty(images.shape[:3], np.float32)
    for i, image in enumerate(images):
        out[i] = sum(t.predict(image) for t in teachers) / len(teachers)
    return out


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """`convert`: MediaPipe .tflite -> build/peers/*.onnx (checked against TFLite); `predict`: one photo."""
    parser = argparse.ArgumentParser(prog="python -m model_export.teacher", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    convert = sub.add_parser("convert", help="convert the MediaPipe selfie models to ONNX")
    convert.add_argument("--out-dir", type=Path, default=PEERS_BUILD_DIR)
    convert.add_argument("--check", type=Path, default=PORTRAITS_IMAGES, metavar="IMAGES_DIR",
                         help="compare with TFLite on the first photos of this folder (default: %(default)s)")
    convert.add_argument("--check-count", type=int, default=8)
    predict = sub.add_parser("predict", help="write one model's probability map for one photo as a PNG")
    predict.add_argument("image", type=Path)
    predict.add_argument("--model", default="mediapipe-landscape", help=f"{', '.join(PEER_NAMES)} or a manifest")
    predict.add_argument("--out", type=Path, default=None, help="PNG path (default: build/peers/<stem>-<model>.png)")
    args = parser.parse_args(argv)

    if args.command == "convert":
        for model in MEDIAPIPE_MODELS.values():
            path = convert_tflite(model.tflite_path, args.out_dir / f"{model.name}.onnx")
            photos = sorted(args.check.glob("*.jpg"))[: args.check_count] if args.check.is_dir() else []
            if photos:
                images = [np.asarray(Image.open(p).convert("RGB")) for p in photos]
                diff = compare_with_tflite(model, images, path)
                print(f"{path}: max |ONNX - TFLite| = {diff:.2e} on {len(photos)} photos of {args.check}")
                if diff > CONVERSION_TOLERANCE:
                    print(f"error: {path} differs from MediaPipe by more than {CONVERSION_TOLERANCE}", file=sys.stderr)
                    return 1
            else:
                print(f"{path}: written (no photos to check against TFLite)")
        return 0

    image = np.asarray(Image.open(args.image).convert("RGB"))
    segmenter = load_segmenter(args.model)
    prob = segmenter.predict(image)
    out = args.out or PEERS_BUILD_DIR / f"{args.image.stem}-{segmenter.name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    Image.fromarray((prob * 255 + 0.5).astype(np.uint8)).save(tmp)
    os.replace(tmp, out)
    print(f"{segmenter.name}: person fraction {float((prob > 0.5).mean()):.3f}, wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
