"""Bjontegaard-delta rate with the `bjontegaard` package (Herglotz et al., FAU; Akima interpolation by
default), in percent: negative means the test codec needs fewer bits than the anchor for the same quality.

Quality axes: PSNR in dB, and MS-SSIM in dB, -10*log10(1 - MS-SSIM) (refcodec.eval.metrics.ms_ssim_db).
Only points on the monotone front (quality rising with rate) enter the interpolation: the interpolators need
strictly increasing quality; the points that were dropped are reported.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from refcodec.errors import InvalidArgumentError

METHODS = ("akima", "pchip", "cubic")


def monotone_front(rate: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by rate, keeping only those whose quality beats every lower-rate point."""
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    order = np.argsort(r, kind="stable")
    keep_r, keep_q = [], []
    for i in order:
        if keep_q and (q[i] <= keep_q[-1] or r[i] == keep_r[-1]):
            continue
        keep_r.append(r[i])
        keep_q.append(q[i])
    return np.array(keep_r), np.array(keep_q)


def _validate(name: str, rate, quality) -> None:
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.ndim != 1 or r.shape != q.shape:
        raise InvalidArgumentError(f"{name}: rate and quality must be 1-D of equal length, got {r.shape} and {q.shape}")
    if r.size < 2:
        raise InvalidArgumentError(f"{name}: need at least 2 rate-quality points, got {r.size}")
    if not np.all(np.isfinite(r)) or not np.all(r > 0):
        raise InvalidArgumentError(f"{name}: rates must be finite and > 0, got {r.tolist()}")
    if not np.all(np.isfinite(q)):
        raise InvalidArgumentError(f"{name}: qualities must be finite, got {q.tolist()}")


def bd_rate(
    anchor_rate: Sequence[float],
    anchor_quality: Sequence[float],
    test_rate: Sequence[float],
    test_quality: Sequence[float],
    method: str = "akima",
) -> dict:
    """BD-rate of test vs anchor over their overlapping quality range.

    Returns {"bd_rate_percent": float (nan if the quality ranges do not overlap), "overlap": fraction of
    the union of the two quality ranges that both cover, "anchor_points_used", "test_points_used"}.
    """
    if method not in METHODS:
        raise InvalidArgumentError(f"BD method must be one of {METHODS}, got {method!r}")
    _validate("anchor", anchor_rate, anchor_quality)
    _validate("test", test_rate, test_quality)
    ar, aq = monotone_front(anchor_rate, anchor_quality)
    tr, tq = monotone_front(test_rate, test_quality)
    lo, hi = max(aq.min(), tq.min()), min(aq.max(), tq.max())
    span = max(aq.max(), tq.max()) - min(aq.min(), tq.min())
    overlap = max(hi - lo, 0.0) / span if span > 0 else 0.0
    result = {
        "bd_rate_percent": math.nan,
        "overlap": float(overlap),
        "anchor_points_used": int(ar.size),
        "test_points_used": int(tr.size),
    }
    if ar.size < 2 or tr.size < 2 or overlap <= 0.0:
        return result
    import bjontegaard  # optional extra `eval`; imported here so the rest of the package does not need scipy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overlap is reported in the result instead
        value = bjontegaard.bd_rate(ar, aq, tr, tq, method=method, require_matching_points=False, min_overlap=0)
    result["bd_rate_percent"] = float(value)
    return result
