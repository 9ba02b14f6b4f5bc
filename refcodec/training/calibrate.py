"""Calibration on training images (never Kodak) of what the INT8 encoder feeds the entropy coder:

- ``int8_latents``: the bit-exact INT8 encoder (refcodec.model.encoder.run_encoder) on prepared images;
- ``fit_latent_quantizer``: per channel lo/hi = low/high percentiles of the int8 latent, then
  LatentQuantizer.from_ranges (mult = round((2^b - 1) 2^16 / (hi - lo))); recon[c][s] = mean of the int8
  latent values that map to symbol s (the bin centre where a symbol was never seen);
- ``fit_tables``: canonical Huffman code lengths per channel and the context tables per channel and
  (left, top) context (spec §6.6) on the training symbols, +1 smoothing
  (refcodec.entropy.tables.fit_entropy_tables), so every symbol is codable in every context.
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.model.encoder import pad_to_multiple, run_encoder
from refcodec.model.latent_quantizer import LatentQuantizer
from refcodec.model.modelfile import EncoderModel


def int8_latents(model: EncoderModel, images: list[np.ndarray]) -> list[np.ndarray]:
    """int8 [h, w, C] latent of each uint8 image (padded to a multiple of 8, edge replicate)."""
    return [run_encoder(model, pad_to_multiple(im))["latent"][0] for im in images]


def fit_latent_quantizer(latents: list[np.ndarray], bits: int, low_pct: float = 0.05,
                         high_pct: float = 99.95, levels: int | None = None) -> LatentQuantizer:
    """lo/hi per channel from percentiles of the int8 latents, spread over `levels` (default 2^bits) uniform
    levels, recon = centroids (fit_recon)."""
    if not 1 <= bits <= 8:
        raise InvalidArgumentError(f"latent bits {bits} outside [1, 8]")
    flat = np.concatenate([l.reshape(-1, l.shape[-1]) for l in latents]).astype(np.int64)
    lo = np.floor(np.percentile(flat, low_pct, axis=0)).astype(np.int64)
    hi = np.ceil(np.percentile(flat, high_pct, axis=0)).astype(np.int64)
    hi = np.maximum(hi, lo + 1)
    lo = np.clip(lo, -128, 126)
    hi = np.clip(hi, lo + 1, 127)
    return fit_recon(LatentQuantizer.from_ranges(bits, lo, hi, levels), latents)


def fit_recon(lq: LatentQuantizer, latents: list[np.ndarray]) -> LatentQuantizer:
    """recon[c][s] = mean of the int8 latent values that map to symbol s (the bin centre where none does)."""
    flat = np.concatenate([l.reshape(-1, l.shape[-1]) for l in latents]).astype(np.int64)
    sym = lq.quantize(flat.astype(np.int8))
    recon = lq.recon.astype(np.float64).copy()
    for c in range(flat.shape[1]):
        n = np.bincount(sym[:, c], minlength=lq.levels)
        s = np.bincount(sym[:, c], weights=flat[:, c], minlength=lq.levels)
        seen = n > 0
        recon[c, seen] = s[seen] / n[seen]
    return LatentQuantizer(lq.bits, lq.lo, lq.mult, recon.astype(np.float32))


def fit_tables(lq: LatentQuantizer, latents: list[np.ndarray]):
    from refcodec.entropy.tables import fit_entropy_tables

    return fit_entropy_tables([lq.quantize(l) for l in latents], lq.bits)


def with_quantizer(model: EncoderModel, lq: LatentQuantizer, entropy) -> EncoderModel:
    return EncoderModel(model.layers, model.rounding, lq, entropy, dict(model.meta), model.input_scale,
                        model.input_zero_point)


def dequantize_latent(model: EncoderModel, symbols: np.ndarray, k: int = 12) -> np.ndarray:
    """Decoder-side input: latent_scale * (recon[c][symbol] - latent_zero_point), channels >= k exactly 0.
    symbols uint8 [h, w, C] -> float32 [h, w, C]."""
    lat = (np.float32(model.latent_scale)
           * (model.latent_quantizer.dequantize(symbols) - np.float32(model.latent_zero_point))).astype(np.float32)
    lat[..., k:] = 0.0
    return lat
