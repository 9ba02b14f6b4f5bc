"""MCUCoder's encoder topology and its padding (spec §4 "Encoder").

The padding of every layer is TFLite's SAME (ComputePaddingHeightWidth in TFLM's
tensorflow/lite/kernels/padding.h): out = ceil(in / stride), total = max((out - 1) * stride + k - in, 0),
pad_top = total // 2 and the extra row (or column) goes to the bottom (or right). So the exported .tflite
needs no PAD op. For input sizes that are multiples of 8 (which frame preparation guarantees):

| layer | kernel | stride | total pad | top/left | bottom/right | 224x224 output |
|-------|--------|--------|-----------|----------|--------------|----------------|
| conv1 | 7      | 2      | 5         | 2        | 3            | 112x112x16     |
| conv2 | 5      | 4      | 1         | 0        | 1            | 28x28x16       |
| conv3 | 3      | 1      | 2         | 1        | 1            | 28x28x12       |
"""

from __future__ import annotations

from dataclasses import dataclass

from refcodec.errors import InvalidArgumentError


@dataclass(frozen=True)
class LayerSpec:
    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    activation: str  # "relu" or "none"


ENCODER_LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("conv1", 3, 16, 7, 2, "relu"),
    LayerSpec("conv2", 16, 16, 5, 4, "relu"),
    LayerSpec("conv3", 16, 12, 3, 1, "none"),
)
LATENT_CHANNELS = ENCODER_LAYERS[-1].out_channels
DOWNSAMPLING = 8
"""Total stride of the encoder; frames are padded to a multiple of this (spec §3 "Frame preparation")."""

TENSOR_NAMES = ("input", "conv1", "conv2", "latent")
"""Names of the int8 tensors of layer-by-layer execution, in order (the output of conv3 is the latent)."""


def same_padding(in_size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TFLite SAME padding along one axis: returns (out_size, pad_before, pad_after)."""
    if in_size < 1:
        raise InvalidArgumentError(f"input size {in_size} must be >= 1")
    if kernel < 1 or stride < 1:
        raise InvalidArgumentError(f"kernel {kernel} and stride {stride} must be >= 1")
    out = (in_size + stride - 1) // stride
    total = max((out - 1) * stride + kernel - in_size, 0)
    return out, total // 2, total - total // 2


@dataclass(frozen=True)
class LayerGeometry:
    name: str
    in_shape: tuple[int, int, int]  # H, W, C
    out_shape: tuple[int, int, int]
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    stride: int
    kernel: int


def layer_geometry(height: int, width: int) -> list[LayerGeometry]:
    """Shapes and paddings of every encoder layer for an input of height x width."""
    if height < 1 or width < 1:
        raise InvalidArgumentError(f"input size {width}x{height} must be positive")
    out: list[LayerGeometry] = []
    h, w, c = height, width, ENCODER_LAYERS[0].in_channels
    for spec in ENCODER_LAYERS:
        oh, pt, pb = same_padding(h, spec.kernel, spec.stride)
        ow, pl, pr = same_padding(w, spec.kernel, spec.stride)
        out.append(LayerGeometry(spec.name, (h, w, c), (oh, ow, spec.out_channels), pt, pl, pb, pr,
                                 spec.stride, spec.kernel))
        h, w, c = oh, ow, spec.out_channels
    return out


def parameter_count() -> int:
    """Weights + biases of the encoder (10,524 for MCUCoder)."""
    return sum(s.out_channels * (s.kernel * s.kernel * s.in_channels + 1) for s in ENCODER_LAYERS)
