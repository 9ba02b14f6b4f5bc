"""A seeded random INT8 model with the MCUCoder topology. It exercises every integer step until (and besides)
the trained model: weights span the full symmetric range [-127, 127], scales are chosen so that activations use
the int8 range without saturating everywhere, and the result is the same on every platform for a given seed
(NumPy's PCG64 generator; all derived values are integer or float32)."""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.model.latent_quantizer import LatentQuantizer
from refcodec.model.modelfile import INPUT_SCALE, EncoderModel, make_layer
from refcodec.model.topology import ENCODER_LAYERS, LATENT_CHANNELS


def make_random_model(seed: int = 0, rounding: str = "double", bits: int = 5) -> EncoderModel:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError(f"seed {seed!r} must be a non-negative integer")
    rng = np.random.default_rng(int(seed))
    in_scale = INPUT_SCALE
    in_std = 74.0  # std of a uniform int8 input, in int8 units
    layers = []
    for spec in ENCODER_LAYERS:
        fan_in = spec.kernel * spec.kernel * spec.in_channels
        w = rng.integers(-127, 128, size=(spec.out_channels, spec.kernel, spec.kernel, spec.in_channels))
        w_scales = (np.exp(rng.uniform(-1.0, 1.0, spec.out_channels)) * 1e-3).astype(np.float32)
        acc_std = np.sqrt(fan_in) * 73.0 * in_std
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, size=spec.out_channels)
        out_zp = -128 if spec.activation == "relu" else int(rng.integers(-16, 17))
        # typical real output std / 32 int8 units (ReLU halves the range that is used)
        out_scale = float(np.float32(in_scale * float(np.mean(w_scales)) * acc_std / 32.0))
        layer = make_layer(spec.name, w.astype(np.int8), bias.astype(np.int32), w_scales, in_scale, out_scale,
                           out_zp, spec.stride, spec.activation)
        layers.append(layer)
        in_scale, in_std = out_scale, 40.0
    lq = LatentQuantizer.from_ranges(bits, np.full(LATENT_CHANNELS, -96), np.full(LATENT_CHANNELS, 96))
    return EncoderModel(tuple(layers), rounding, lq, None, {"kind": "random", "seed": int(seed)})
