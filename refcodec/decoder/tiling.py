"""Decoding a large frame in overlapping latent tiles, so that memory is bounded by the tile, not the frame.

The float decoder (refcodec.decoder.numpy_decoder) is fully convolutional: 'same' convolutions, exact x2
transposed-convolution upsamplings, and an attention block that is local (a sigmoid gate computed by
convolutions, x + trunk(x) * sigmoid(mask(x)); no global pooling or softmax over positions). So every output
pixel depends on a bounded window of the latent, its receptive field. `receptive_margin` computes it from the
layers: a block of output pixels aligned on latent pixels, rows [8a, 8b), depends only on latent rows
[a - m, b + m) (m = 8 for the bundled decoder: head 1, attention 3, rb1 1, then the three upsampling stages
together 3). A tile decoded from its core plus m latent pixels on each side (clipped at the frame edge, where
the tile then sees the same padding, zeros or replicated edge pixels, as the whole frame) gives, on its core,
the same output as the whole frame in exact arithmetic; in float32 the only difference is the order of
rounding inside BLAS, far below spec §8.4's tolerance (1 in an 8-bit sample). tests/test_decoder_tiling.py
checks both on a real image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALE = 8
"""Output pixels per latent pixel (three x2 upsamplings)."""


def _conv_radius(conv) -> int:
    return conv.k // 2


def _block_radius(block) -> int:
    return sum(_conv_radius(c) for c in (block.c1, block.c2, block.c3))


def receptive_margin(decoder) -> int:
    """Latent pixels m such that output rows [8a, 8b) depend only on latent rows [a - m, b + m) (columns
    alike), computed backwards through the decoder's layers from their kernel sizes."""
    lo, hi = 10 * SCALE, 11 * SCALE  # one latent pixel's output block; the result does not depend on where
    for lvl in (2, 1, 0):
        # transposed conv k4 s2 p1: out[o] sums x[i] for o = 2i + kh - 1, kh in 0..3, so rows [lo, hi) need
        # i in [ceil((lo - 2) / 2), floor(hi / 2)]
        lo, hi = -((2 - lo) // 2), hi // 2 + 1
        r = sum(_block_radius(b) for b in decoder.rb[lvl])
        lo, hi = lo - r, hi + r
    att = decoder.att
    r_att = max(sum(_block_radius(b) for b in att.trunk),
                sum(_block_radius(b) for b in att.mask) + _conv_radius(att.mask_conv))
    r = r_att + _conv_radius(decoder.head)
    lo, hi = lo - r, hi + r
    return max(10 - lo, hi - 11)


WORKING_SET_BUFFERS = 3.1
"""Peak float32 working set of one decode, in buffers of the widest stage (measured with tracemalloc for the
bundled decoder: 12.4 KB per latent pixel = 3.1 x 16 positions x 64 channels x 4 bytes; bench/bench_video.py
reports the measured value next to this estimate)."""


def bytes_per_latent_pixel(decoder) -> int:
    """Estimated peak memory of Decoder.decode per latent pixel: WORKING_SET_BUFFERS float32 buffers of the
    stage with the most values per latent pixel (head/attention/rb1 at 1, rb2 at 4, rb3 at 16 positions)."""
    stages = [decoder.head.cout] + [4 ** i * up.cout for i, up in enumerate(decoder.up[:2], start=1)]
    return int(WORKING_SET_BUFFERS * 4 * max(stages)) + 1


def tile_for_budget(decoder, lh: int, lw: int, budget_bytes: int, margin: int, min_tile: int = 16) -> int | None:
    """The latent tile side that keeps one decode within budget_bytes: None (no tiling) when the whole frame
    fits, else the largest t with (t + 2 margin)^2 pixels within the budget (at least min_tile)."""
    per_px = bytes_per_latent_pixel(decoder)
    if lh * lw * per_px <= budget_bytes:
        return None
    return max(min_tile, int((budget_bytes / per_px) ** 0.5) - 2 * margin)


@dataclass(frozen=True)
class Tile:
    """A tile in latent pixels: its core [y0, y1) x [x0, x1), which it outputs, and the window
    [py0, py1) x [px0, px1) it is decoded from (the core plus the margin, clipped to the frame)."""

    y0: int
    y1: int
    x0: int
    x1: int
    py0: int
    py1: int
    px0: int
    px1: int


def _splits(n: int, tile: int) -> list[tuple[int, int]]:
    parts = -(-n // tile)
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def plan_tiles(lh: int, lw: int, tile: int | None, margin: int) -> list[Tile]:
    """Split a latent of lh x lw into near-equal cores of at most tile x tile (one tile when tile is None or
    the latent fits), each with its decoding window."""
    if tile is None or (lh <= tile and lw <= tile):
        return [Tile(0, lh, 0, lw, 0, lh, 0, lw)]
    if tile < 1 or margin < 0:
        raise ValueError(f"tile {tile} must be >= 1 and margin {margin} >= 0")
    return [Tile(y0, y1, x0, x1, max(0, y0 - margin), min(lh, y1 + margin), max(0, x0 - margin),
                 min(lw, x1 + margin))
            for y0, y1 in _splits(lh, tile) for x0, x1 in _splits(lw, tile)]


def decode_tile(decoder, latent: np.ndarray, t: Tile) -> np.ndarray:
    """float32 [8 (y1 - y0), 8 (x1 - x0), 3]: the decoder's output on the tile's core."""
    window = np.ascontiguousarray(latent[t.py0:t.py1, t.px0:t.px1])
    out = decoder.decode(window)
    oy, ox = SCALE * (t.y0 - t.py0), SCALE * (t.x0 - t.px0)
    return out[oy:oy + SCALE * (t.y1 - t.y0), ox:ox + SCALE * (t.x1 - t.x0)]


def decode_tiled(decoder, latent: np.ndarray, tile: int | None, margin: int | None = None) -> np.ndarray:
    """The whole frame, float32 [8 lh, 8 lw, 3], decoded tile by tile (serially; see refcodec.decoder.pipeline
    for the parallel, uint8, bounded-memory form). margin: None = receptive_margin(decoder)."""
    lh, lw = latent.shape[:2]
    m = receptive_margin(decoder) if margin is None else margin
    out = np.empty((SCALE * lh, SCALE * lw, 3), np.float32)
    for t in plan_tiles(lh, lw, tile, m):
        out[SCALE * t.y0:SCALE * t.y1, SCALE * t.x0:SCALE * t.x1] = decode_tile(decoder, latent, t)
    return out
