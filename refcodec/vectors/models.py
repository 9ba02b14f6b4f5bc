"""The models the conformance vectors are made with. They are defined here, not taken from the bundled trained
model, so that the vectors never change when the trained model does.

* `rand-double`: the seeded random model (seed 0, refcodec.model.random_model) with fixed, data-independent
  Huffman tables (a discrete Laplacian per channel, so that Huffman and raw chunks both occur), double rounding.
* `rand-single`: the same model with single rounding.
* `rand-ctx`: `rand-double` plus fixed, data-independent context tables (spec §6.6): per context a discrete
  Laplacian centred on the mean of the known neighbours' bucket centres; channel 11's tables all zero (its
  chunks are always raw) and channel 10 has no code in contexts whose left bucket is 0 (its chunks fall back
  to raw when such a context occurs).
* `extreme-double` / `extreme-single`: every quantization parameter at or near its limits: input offset 128
  (conv1) and -120 / -127 (conv2 / conv3 inputs), output zero points -128, 120 and 127; per-channel effective
  scales from 2^-33 (multiplier flushed to 0) through 2^-31, 2^-24, ... up to 2^4 (left shifts); weights at
  +-127; biases from -2^24 to 2^24; latent quantizer with 8 bits, lo at -128 and 127, mult 1 and 2^23 - 1;
  Huffman code lengths up to the maximum of 15.
"""

from __future__ import annotations

import numpy as np

from refcodec.entropy.huffman import build_code_lengths
from refcodec.model.latent_quantizer import MAX_MULT, LatentQuantizer
from refcodec.model.modelfile import INPUT_SCALE, EncoderModel, EntropyTables, make_layer
from refcodec.model.random_model import make_random_model
from refcodec.model.topology import ENCODER_LAYERS

MODEL_NAMES = ("rand-double", "rand-single", "extreme-double", "extreme-single", "rand-ctx", "rand-inter")
MAX_CODE_LENGTH = 15  # spec section 6.2


def laplacian_tables(channels: int, bits: int) -> EntropyTables:
    """Code lengths of a discrete Laplacian centred on the middle symbol, wider for later channels."""
    levels = 1 << bits
    s = np.arange(levels, dtype=np.float64)
    rows = []
    for c in range(channels):
        width = 1.0 + 0.4 * c
        counts = np.floor(1e6 * np.exp(-np.abs(s - levels / 2) / width)).astype(np.int64) + 1
        rows.append(build_code_lengths(counts, MAX_CODE_LENGTH))
    return EntropyTables(np.stack(rows).astype(np.uint8))


def _fibonacci_tables(channels: int, bits: int) -> EntropyTables:
    """Fibonacci-distributed counts: an unlimited Huffman code would be deeper than 15, so package-merge
    produces lengths up to exactly 15."""
    levels = 1 << bits
    fib = [1, 1]
    while len(fib) < levels:
        fib.append(min(fib[-1] + fib[-2], 1 << 40))
    counts = np.array(fib[::-1], dtype=np.int64)
    rows = [build_code_lengths(np.roll(counts, 37 * c), MAX_CODE_LENGTH) for c in range(channels)]
    return EntropyTables(np.stack(rows).astype(np.uint8))


def laplacian_context_tables(channels: int, bits: int) -> np.ndarray:
    """uint8 [C, NCTX, 2^bits] context code lengths (see the module docstring for `rand-ctx`)."""
    from refcodec.entropy.context import context_params

    shift, nb, nctx = context_params(bits)
    levels = 1 << bits
    s = np.arange(levels, dtype=np.float64)
    centre_of = lambda b: None if b == nb else (b << shift) + ((1 << shift) - 1) / 2.0  # noqa: E731
    out = np.zeros((channels, nctx, levels), np.uint8)
    cache: dict = {}
    for c in range(channels - 1):  # the last channel keeps all-zero tables
        width = 1.0 + 0.4 * c
        for left in range(nb + 1):
            for top in range(nb + 1):
                known = [v for v in (centre_of(left), centre_of(top)) if v is not None]
                m = sum(known) / len(known) if known else levels / 2
                key = (m, width)
                if key not in cache:
                    counts = np.floor(1e6 * np.exp(-np.abs(s - m) / width)).astype(np.int64) + 1
                    cache[key] = build_code_lengths(counts, MAX_CODE_LENGTH)
                if not (c == channels - 2 and left == 0):
                    out[c, left * (nb + 1) + top] = cache[key]
    return out


def random_model(rounding: str) -> EncoderModel:
    base = make_random_model(0, "double")
    lq = base.latent_quantizer
    model = base.with_entropy(laplacian_tables(lq.channels, int(lq.bits))).with_rounding(rounding)
    return EncoderModel(model.layers, model.rounding, model.latent_quantizer, model.entropy,
                        {"kind": "conformance", "name": f"rand-{rounding}", "seed": 0})


def extreme_model(rounding: str) -> EncoderModel:
    rng = np.random.default_rng(20261123)
    out_zps = (-128, 120, 127)
    out_scales = (0.02, 0.05, 0.1)
    in_scale = INPUT_SCALE
    layers = []
    for spec, zp, s_out in zip(ENCODER_LAYERS, out_zps, out_scales):
        o = spec.out_channels
        w = rng.choice(np.array([-127, -1, 0, 1, 127]), size=(o, spec.kernel, spec.kernel, spec.in_channels),
                       p=[0.3, 0.1, 0.2, 0.1, 0.3]).astype(np.int8)
        # effective scale s_in * s_w / s_out per channel: from flushed-to-zero to left shifts
        eff = 2.0 ** np.linspace(-33.0, 4.0, o)
        eff[1] = 2.0 ** -31.0
        eff[2] = 2.0 ** -31.5 * 1.0001
        w_scales = (eff * s_out / in_scale).astype(np.float32)
        bias = np.linspace(-(1 << 24), 1 << 24, o).astype(np.int64)
        bias[::3] = 0
        layers.append(make_layer(spec.name, w, bias.astype(np.int32), w_scales, in_scale, s_out, zp, spec.stride,
                                 spec.activation))
        in_scale = s_out
    c = ENCODER_LAYERS[-1].out_channels
    lo = np.array([-128, 127] * (c // 2), dtype=np.int32)
    mult = np.array([1, MAX_MULT - 1, 256, 65536, 3, 1 << 20] * (c // 6), dtype=np.int32)
    lq = LatentQuantizer(8, lo, mult, LatentQuantizer.bin_centres(8, lo, mult))
    return EncoderModel(tuple(layers), rounding, lq, _fibonacci_tables(c, 8),
                        {"kind": "conformance", "name": f"extreme-{rounding}"})


def context_model() -> EncoderModel:
    base = random_model("double")
    lq = base.latent_quantizer
    tables = EntropyTables(base.entropy.code_lengths, laplacian_context_tables(lq.channels, int(lq.bits)))
    return EncoderModel(base.layers, base.rounding, lq, tables, {"kind": "conformance", "name": "rand-ctx", "seed": 0})


def conformance_model(name: str) -> EncoderModel:
    """One of MODEL_NAMES."""
    from refcodec.errors import InvalidArgumentError

    if name not in MODEL_NAMES:
        raise InvalidArgumentError(f'unknown vector model "{name}", expected one of {MODEL_NAMES}')
    if name == "rand-ctx":
        return context_model()
    if name == "rand-inter":  # rand-ctx + a fixed inter table (spec section 6.7), refcodec/vectors/inter_vectors.py
        from refcodec.vectors.inter_vectors import inter_model

        return inter_model()
    kind, rounding = name.split("-")
    return random_model(rounding) if kind == "rand" else extreme_model(rounding)
