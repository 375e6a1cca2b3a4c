"""The portrait segmenter: a MobileNetV2-style U-Net with a sub-pixel (pixel-shuffle) output head.

Maps normalised RGB (B, 3, H, W) to person LOGITS (B, 1, H, W) at the input resolution, for any H and
W that are multiples of 16. The sigmoid is added at export (export.py), so training can use
logit-space losses.

Designed for where it runs, onnxruntime-web's WASM kernels (benchmarks/model_candidates.py times the
variants there against MediaPipe landscape). There, MACs predict little and the bytes a layer moves
decide: every 1/2-resolution map costs more than the whole 1/16 stage. So the defaults (1x3x144x256:
~95K parameters, ~32M MACs, about 0.7x MediaPipe landscape's time in one page) keep the 1/2 resolution
thin: an 8-channel stride-2 stem (its output is the 1/2 skip), a fused 3x3 stride-2 convolution
straight to 1/4 (no MobileNetV2 expansion at 1/2), and one 8-channel separable block at 1/2 before
the head. The encoder holds most parameters in its dilated 1/16 stage, followed by squeeze-excite
(global context: every pixel sees the whole frame, as in MediaPipe landscape). The decoder fuses
skips by addition (cheaper than concatenation). The head predicts four sub-pixel logits per
1/2-resolution pixel and rearranges them to full resolution (pixel shuffle), because a
full-resolution feature map would cost more than the rest of the decoder. Two 1x1 heads at 1/8 and
1/4 give deep supervision in training and are dropped at export.

Only export-friendly ops: Conv (BatchNorm folds into it at export), ReLU, Add, Mul, Sigmoid,
GlobalAveragePool, 2x bilinear Resize and DepthToSpace.

Check it with:  python -m model_export.model
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


QUARTER_DOWNSAMPLES = ("inverted", "fused")


@dataclass
class ModelConfig:
    """Input contract and architecture knobs; saved in checkpoints and rebuilt by export.py."""

    input_height: int = 144
    input_width: int = 256
    in_channels: int = 3
    # The network input is (pixel / 255 - mean) / std, per RGB channel: [-1, 1], symmetric for int8.
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    stem_channels: int = 8  # stride-2 stem, also the 1/2-resolution skip width
    # Encoder stages at strides 4, 8 and 16: output channels, inverted-residual blocks, expansion.
    # Sized for the 150 KB int8 file, not the 150K parameter cap. The page serves weight-only int8 (one
    # byte per weight, fp32 scales and biases, the graph): ~1.03 bytes per parameter plus ~15 KB, so the
    # ceiling is near 125K parameters (defaults: 118 KB; benchmarks/model_candidates.py prints each size).
    stage_channels: tuple[int, ...] = (16, 32, 56)
    stage_blocks: tuple[int, ...] = (1, 3, 3)
    stage_expand: tuple[int, ...] = (3, 3, 4)
    # Dilations of the 1/16 stage's blocks after the first: wider context for no extra parameters.
    deep_dilations: tuple[int, ...] = (2, 4)
    # Decoder widths at 1/8, 1/4 and 1/2; skips are projected to them. Multiples of 16 at 1/2 and up:
    # onnxruntime pads channels to blocks of 16, so 24 costs as much as 32 there.
    decoder_channels: tuple[int, int, int] = (32, 16, 8)
    half_res_blocks: int = 1  # separable convs after the 1/2 fusion: where boundary detail is decided
    # A separable block after the stem, at 1/2 resolution (MobileNetV2's expand-1 first block).
    stem_block: bool = False
    # How the 1/4 stage's first block halves the resolution: "inverted" expands the 1/2-resolution map
    # first (MobileNetV2: the model's widest activation), "fused" is one 3x3 stride-2 convolution, whose
    # output is already at 1/4 (fewer bytes moved, which is what WASM kernels pay for).
    quarter_downsample: str = "fused"
    # Squeeze-excite on the 1/16 stage's output: global average pool, 1x1 reduce, ReLU, 1x1, sigmoid,
    # scale. Every pixel sees the whole frame (MediaPipe landscape has such a branch); 0 turns it off.
    context_reduction: int = 4
    # Logit heads at 1/8 and 1/4 for deep supervision; used in training only and never exported.
    aux_heads: bool = True

    def __post_init__(self) -> None:
        # Checkpoints and JSON give lists back; keep tuples so configs compare and hash the same.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):
                setattr(self, field.name, tuple(value))
        if not len(self.stage_channels) == len(self.stage_blocks) == len(self.stage_expand) == 3:
            raise ValueError("ModelConfig: stage_channels, stage_blocks and stage_expand need 3 entries (strides 4, 8, 16)")
        if len(self.deep_dilations) < self.stage_blocks[2] - 1:
            raise ValueError("ModelConfig: deep_dilations needs one entry per 1/16-stage block after the first")
        if self.quarter_downsample not in QUARTER_DOWNSAMPLES:
            raise ValueError(f"ModelConfig: quarter_downsample must be one of {QUARTER_DOWNSAMPLES}")
        if self.input_height % 16 or self.input_width % 16:
            raise ValueError(f"ModelConfig: input {self.input_height}x{self.input_width} must be a multiple of 16")


def model_config_from_dict(values: dict) -> ModelConfig:
    """Rebuild a ModelConfig from dataclasses.asdict() output (checkpoint or manifest); unknown keys raise."""
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown ModelConfig keys: {unknown}")
    return ModelConfig(**values)


class ConvBNReLU(nn.Sequential):
    """Conv, BatchNorm, optional ReLU; 'same' padding for odd kernels."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 dilation: int = 1, relu: bool = True) -> None:
        padding = dilation * (kernel - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise (stride/dilation), linear 1x1 project, residual if shapes match."""

    def __init__(self, cin: int, cout: int, stride: int = 1, expand: int = 4, dilation: int = 1) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, 1))
        layers += [
            ConvBNReLU(hidden, hidden, 3, stride, groups=hidden, dilation=dilation),
            ConvBNReLU(hidden, cout, 1, relu=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1, both with BN and ReLU: the decoder's cheap 3x3 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(ConvBNReLU(cin, cin, 3, groups=cin), ConvBNReLU(cin, cout, 1))


class GlobalContext(nn.Module):
    """Squeeze-excite (Hu et al. 2018): scale each channel by a gate computed from the whole frame."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


def _up2(x: torch.Tensor) -> torch.Tensor:
    # Fixed 2x scale (not a target size) keeps the exported Resize free of Shape/Gather arithmetic.
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class PortraitUNet(nn.Module):
    """Encoder at strides 2..16, additive U-Net decoder to 1/2, pixel-shuffle head to full resolution."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c0 = cfg.stem_channels
        c1, c2, c3 = cfg.stage_channels
        d3, d2, d1 = cfg.decoder_channels

        # 1/2: plain stem, optionally then a depthwise-separable block (MobileNetV2's expand-1 first block).
        stem: list[nn.Module] = [ConvBNReLU(cfg.in_channels, c0, 3, stride=2)]
        if cfg.stem_block:
            stem.append(InvertedResidual(c0, c0, expand=1))
        self.stem = nn.Sequential(*stem)
        self.stages = nn.ModuleList()
        cin = c0
        for index, (cout, blocks, expand) in enumerate(zip(cfg.stage_channels, cfg.stage_blocks, cfg.stage_expand)):
            if index == 0 and cfg.quarter_downsample == "fused":
                layers = [ConvBNReLU(cin, cout, 3, stride=2)]
            else:
                layers = [InvertedResidual(cin, cout, stride=2, expand=expand)]
            for b in range(1, blocks):
                dilation = cfg.deep_dilations[b - 1] if index == 2 else 1
                layers.append(InvertedResidual(cout, cout, expand=expand, dilation=dilation))
            self.stages.append(nn.Sequential(*layers))
            cin = cout
        self.context = GlobalContext(c3, cfg.context_reduction) if cfg.context_reduction else nn.Identity()

        # Decoder: project the deeper map at its own (smaller) resolution, upsample, add the projected skip.
        self.deep_proj = ConvBNReLU(c3, d3, 1)
        self.skip3 = ConvBNReLU(c2, d3, 1, relu=False)
        self.fuse3 = SeparableConv(d3, d2)  # at 1/8
        self.skip2 = ConvBNReLU(c1, d2, 1, relu=False)
        self.fuse2 = SeparableConv(d2, d1)  # at 1/4
        self.skip1 = ConvBNReLU(c0, d1, 1, relu=False)
        self.fuse1 = nn.Sequential(*[SeparableConv(d1, d1) for _ in range(cfg.half_res_blocks)])  # at 1/2
        # Output head at 1/2 resolution: four sub-pixel logits per pixel, rearranged to full
        # resolution by pixel shuffle (DepthToSpace), ESPCN-style. Full-resolution feature maps cost
        # ~0.1-0.3 ms per op in onnxruntime CPU (channels padded to blocks of 8/16), so full-resolution
        # detail comes from 1/2-resolution features that saw the RGB pixels through the stride-2 stem.
        self.head = nn.Conv2d(d1, 4, 1)
        # Deep supervision: coarse logits from the 1/8 and 1/4 decoder maps, upsampled in the loss.
        self.aux = nn.ModuleList([nn.Conv2d(d2, 1, 1), nn.Conv2d(d1, 1, 1)]) if cfg.aux_heads else None
        with torch.no_grad():  # ICNR init (Aitken et al. 2017): start as nearest upsampling, no checkerboard
            self.head.weight.copy_(self.head.weight[:1].expand_as(self.head.weight))
            self.head.bias.fill_(0.0)

    def drop_training_heads(self) -> None:
        """Remove the deep-supervision heads (export: they are neither run nor counted)."""
        self.aux = None

    def forward(self, image: torch.Tensor, with_aux: bool = False):
        """(B, 3, H, W) normalised RGB -> (B, 1, H, W) person logits.

        WITH_AUX (training): (logits, [1/8 logits, 1/4 logits]) for deep supervision.
        """
        s1 = self.stem(image)  # (B, c0, H/2, W/2)
        s2 = self.stages[0](s1)  # 1/4
        s3 = self.stages[1](s2)  # 1/8
        s4 = self.context(self.stages[2](s3))  # 1/16

        x8 = self.fuse3(_up2(self.deep_proj(s4)) + self.skip3(s3))  # (B, d2, H/8, W/8)
        x4 = self.fuse2(_up2(x8) + self.skip2(s2))  # (B, d1, H/4, W/4)
        x = self.fuse1(_up2(x4) + self.skip1(s1))  # (B, d1, H/2, W/2)

        logits = F.pixel_shuffle(self.head(x), 2)  # (B, 4, H/2, W/2) -> (B, 1, H, W)
        if not with_aux:
            return logits
        if self.aux is None:
            return logits, []
        return logits, [self.aux[0](x8), self.aux[1](x4)]


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the segmenter for cfg: (B, 3, H, W) normalised RGB -> (B, 1, H, W) logits."""
    return PortraitUNet(cfg)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm affine included; running stats are buffers)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, height: int, width: int) -> int:
    """Multiply-accumulates of the Conv2d layers for one (1, 3, height, width) frame (ignores adds/resizes)."""
    total = 0

    def hook(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width))
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return total


def main(argv: list[str] | None = None) -> int:
    """Print the default model's parameter count, MACs and output shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    cfg = ModelConfig()
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, cfg.input_height, cfg.input_width))
    macs = count_macs(model, cfg.input_height, cfg.input_width)
    print(f"params {count_parameters(model):,}  MACs {macs / 1e6:.1f}M  output {tuple(out.shape)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
