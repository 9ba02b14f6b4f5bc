"""Where the error sits: squared error per distance to the frame edge (issue 13).

Ring r of an HxW frame is the set of pixels whose distance to the nearest edge is r: min(y, x, H-1-y, W-1-x)
== r (ring 0 is the outermost row/column on all four sides). The interior is every pixel at distance
>= INTERIOR (16 px). Per image we keep, on the squared error averaged over the colour channels:
- ring_mse[r] for r = 0..RINGS-1, interior_mse, and the squared-error sums within EDGE px of the edge
  (rings 0..EDGE-1) and over the whole frame.
Over images (`aggregate`): ring_ratio[r] = mean over images of ring_mse[r] / mean of interior_mse (so an image
with a large error weighs as it does in the mean PSNR), and edge_share = sum of the within-EDGE sums / sum
of the whole-frame sums: the share of all squared error that lies within EDGE px of the edge. A decoder with
no border effect has ring_ratio ~ 1 and edge_share ~ the share of pixels there (7.0 % at 224x224).
A ring or an interior that the frame is too small to have gives NaN (None in the JSON).

`source_edge_step` looks at the source instead: does it have a line of its own along the edge (a scanner's
frame)? Such a line is part of ring 0's error for any codec that cannot draw a one-pixel line, and it is not
the decoder's border effect (docs/EVAL.md, "Kodak's scanner frame").
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError

RINGS = 8
INTERIOR = 16
EDGE = 4


def edge_distance(h: int, w: int) -> np.ndarray:
    """int HxW: distance of each pixel to the nearest frame edge, min(y, x, h-1-y, w-1-x)."""
    y = np.arange(h).reshape(-1, 1)
    x = np.arange(w).reshape(1, -1)
    return np.minimum(np.minimum(y, h - 1 - y), np.minimum(x, w - 1 - x))


def border_errors(ref: np.ndarray, rec: np.ndarray) -> dict:
    """Per-image border figures of two float HxWxC images: {"ring_mse": [RINGS], "interior_mse",
    "edge_sse", "total_sse"} (squared error averaged over channels; NaN where a ring or the interior is empty)."""
    ref = np.asarray(ref, dtype=np.float64)
    rec = np.asarray(rec, dtype=np.float64)
    if ref.shape != rec.shape or ref.ndim != 3:
        raise InvalidArgumentError(f"border_errors: expected two HxWxC images of one shape, got {ref.shape}, "
                                   f"{rec.shape}")
    sq = ((ref - rec) ** 2).mean(axis=2)
    d = edge_distance(*sq.shape)

    def mean_where(mask: np.ndarray) -> float:
        return float(sq[mask].mean()) if mask.any() else float("nan")

    return {
        "ring_mse": [mean_where(d == r) for r in range(RINGS)],
        "interior_mse": mean_where(d >= INTERIOR),
        "edge_sse": float(sq[d < EDGE].sum()),
        "total_sse": float(sq.sum()),
    }


def aggregate(per_image: list[dict]) -> dict:
    """Over images: {"ring_ratio": [RINGS], "ring_mse": [RINGS], "interior_mse", "edge_share"}."""
    if not per_image:
        raise InvalidArgumentError("border aggregate: no images")
    ring = np.array([p["ring_mse"] for p in per_image], dtype=np.float64).mean(axis=0)
    interior = float(np.mean([p["interior_mse"] for p in per_image]))
    total = float(np.sum([p["total_sse"] for p in per_image]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ring / interior if interior > 0 else np.full(RINGS, np.nan)
    return {
        "ring_ratio": [float(v) for v in ratio],
        "ring_mse": [float(v) for v in ring],
        "interior_mse": interior,
        "edge_share": float(np.sum([p["edge_sse"] for p in per_image]) / total) if total > 0 else float("nan"),
    }


def _side_steps(img: np.ndarray) -> tuple[float, float]:
    """(d01, d12) of one HxWxC image: mean |row 0 - row 1| and mean |row 1 - row 2| over its four sides (rows
    counted inwards from each side), the absolute differences averaged over the colour channels."""
    a = np.asarray(img, dtype=np.float64)
    sides = (a, a[::-1], a.transpose(1, 0, 2), a.transpose(1, 0, 2)[::-1])  # top, bottom, left, right
    d01 = float(np.mean([np.abs(s[0] - s[1]).mean() for s in sides]))
    d12 = float(np.mean([np.abs(s[1] - s[2]).mean() for s in sides]))
    return d01, d12


def source_edge_step(images: list[np.ndarray]) -> float:
    """sum over images of d01 / sum of d12 (`_side_steps`): how much more the outermost pixel row of the
    source images differs from the next row than that row from the one after. Content cut at an arbitrary
    place gives ~1 (neighbouring rows are alike wherever the cut falls); a frame line drawn along the edge
    gives more (Kodak at 224x224: 2.25, docs/EVAL.md). NaN for images with a side shorter than 3 pixels or
    flat images (no step at all)."""
    if not images:
        raise InvalidArgumentError("source_edge_step: no images")
    if any(np.asarray(im).ndim != 3 or min(np.asarray(im).shape[:2]) < 3 for im in images):
        return float("nan")
    steps = np.array([_side_steps(im) for im in images])
    return float(steps[:, 0].sum() / steps[:, 1].sum()) if steps[:, 1].sum() > 0 else float("nan")
