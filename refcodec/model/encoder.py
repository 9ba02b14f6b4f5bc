"""Layer-by-layer execution of the INT8 encoder (spec §3-§5), exactly as an MCU running CMSIS-NN /
TFLM kernels computes it."""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.model.modelfile import EncoderModel
from refcodec.model.topology import DOWNSAMPLING, TENSOR_NAMES

PATHS = ("fast", "reference")


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise InvalidArgumentError(f"image must be uint8 RGB, got dtype {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"image must have shape [H, W, 3], got {rgb.shape}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise InvalidArgumentError(f"image size {rgb.shape[1]}x{rgb.shape[0]} is empty")
    return rgb


def rgb_to_int8(rgb: np.ndarray) -> np.ndarray:
    """Input conversion (spec §3.2): int8 = pixel - 128, no float step. uint8 [H, W, 3] -> int8 [H, W, 3]."""
    rgb = check_rgb(rgb)
    return (rgb.astype(np.int16) - 128).astype(np.int8)


def pad_to_multiple(rgb: np.ndarray, multiple: int = DOWNSAMPLING) -> np.ndarray:
    """Frame preparation (spec §3.1): replicate the last row / column until height and width are multiples of
    `multiple`. Returns the input itself when nothing needs padding."""
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return rgb
    return np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")


def run_encoder(model: EncoderModel, rgb: np.ndarray, path: str = "fast") -> dict[str, np.ndarray]:
    """Run the encoder on one uint8 RGB frame whose sides are multiples of 8.

    Returns {"input", "conv1", "conv2", "latent"}: int8 NHWC arrays with N = 1, the tensors an MCU holds
    between layers.
    """
    if path not in PATHS:
        raise InvalidArgumentError(f'invalid path "{path}", expected one of {PATHS}')
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    if h % DOWNSAMPLING or w % DOWNSAMPLING:
        raise InvalidArgumentError(f"frame size {w}x{h} is not a multiple of {DOWNSAMPLING}; pad it first")
    if path == "fast":
        from refcodec.kernels.conv2d_s8_fast import conv2d_s8_fast as conv
    else:
        from refcodec.kernels.conv2d_s8 import conv2d_s8 as conv
    x = rgb_to_int8(rgb)[None]
    out = {TENSOR_NAMES[0]: x}
    for name, layer, params in zip(TENSOR_NAMES[1:], model.layers, model.conv_params(h, w)):
        x = conv(x, layer.weights, layer.bias, params, layer.quant_params(), rounding=model.rounding)
        out[name] = x
    return out


def encode_symbols(model: EncoderModel, rgb: np.ndarray, path: str = "fast") -> np.ndarray:
    """Frame (multiple-of-8 sides) -> latent symbols uint8 [H/8, W/8, C] (spec §5)."""
    return model.latent_quantizer.quantize(run_encoder(model, rgb, path)["latent"][0])
