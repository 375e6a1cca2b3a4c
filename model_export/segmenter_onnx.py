"""One runner for every segmentation model we compare: an ONNX file plus its pre/post-processing.

    from model_export.segmenter_onnx import load_segmenter
    prob = load_segmenter("mediapipe-landscape").predict(image_rgb)  # (H, W) float32 in [0, 1]

``load_segmenter`` knows the MediaPipe selfie models (converted to ONNX by
``model_export.mediapipe_convert``), SINet from ../shared/peers and our own manifests; every
``Segmenter`` stretches the image to the network input, normalises it per model and returns the
person probability at the image's own size (the evaluation protocol).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model_export.paths import BUILD_DIR, MEDIAPIPE_PACKAGE_DIR, PEERS_DIR

PEERS_BUILD_DIR = BUILD_DIR / "peers"
MEDIAPIPE_LICENCE = "Apache-2.0"  # npm @mediapipe/selfie_segmentation


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


PROVIDERS = ["CPUExecutionProvider"]


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
        self.session = ort.InferenceSession(source, session_options(threads), providers=PROVIDERS)
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


def session_options(threads: int):
    """onnxruntime options: THREADS intra-op threads, sequential, full graph optimisation, errors only."""
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
        from model_export.mediapipe_convert import convert_tflite

        try:
            convert_tflite(model.tflite_path, path)
        except ImportError as exc:
            raise FileNotFoundError(
                f"{path} not found and cannot be made here ({exc}); "
                "run `python -m model_export.teacher convert` where tf2onnx is installed"
            ) from exc
    import onnxruntime as ort

    probe = ort.InferenceSession(str(path), session_options(1), providers=PROVIDERS)
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
