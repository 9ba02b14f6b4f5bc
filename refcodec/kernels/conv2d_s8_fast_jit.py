"""numba kernels of refcodec.kernels.conv2d_s8_fast (padding, row runs, requantization), in their own module
so that importing refcodec.kernels (the model file needs its parameter types) does not import numba; the fast
path imports this module on its first call."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _pad_offset(x, input_offset, pad_top, pad_left, out):
    """out: float [Hp, Wp, C] = x + input_offset placed at (pad_top, pad_left), 0 elsewhere
    (a padded tap holds the zero point, which is 0 once the offset is added)."""
    h, w, c = x.shape
    out[:] = 0
    for iy in range(h):
        for ix in range(w):
            for ci in range(c):
                out[iy + pad_top, ix + pad_left, ci] = x[iy, ix, ci] + input_offset


@numba.njit(cache=True, nogil=True)
def _row_runs(xp, kh, kw, c, stride_h, stride_w, ow, runs):
    """Row-run planes. xp: float [Hp, Wp*C] (padded, offset applied); runs: float [SH, J, OW, KW*C]
    with runs[q, j, ox] = the KW*C values xp[j*SH + q, ox*SW*C : ox*SW*C + KW*C] (rows past Hp are
    never read by the GEMMs and left as they are)."""
    hp = xp.shape[0]
    run = kw * c
    n_j = runs.shape[1]
    for q in range(stride_h):
        for j in range(n_j):
            iy = j * stride_h + q
            if iy >= hp:
                continue
            src = xp[iy]
            for ox in range(ow):
                x0 = ox * stride_w * c
                dst = runs[q, j, ox]
                for t in range(run):
                    dst[t] = src[x0 + t]


@numba.njit(cache=True, nogil=True)
def _mbqm_double(x, m, s):
    """TFLM double-rounding MultiplyByQuantizedMultiplier on int64 scalars (see requantize.py)."""
    left = s if s > 0 else 0
    right = -s if s < 0 else 0
    v = x << left
    v = ((v + 2147483648) & 0xFFFFFFFF) - 2147483648  # int32 wrap of x * (1 << left)
    if v == m and v == -2147483648:
        q = 2147483647
    else:
        ab = v * m
        nudge = 1073741824 if ab >= 0 else 1 - 1073741824
        t = ab + nudge
        q = t >> 31
        if t < 0 and (t & 0x7FFFFFFF) != 0:
            q += 1  # C division truncates toward zero
    mask = (1 << right) - 1
    rem = q & mask
    thr = (mask >> 1) + (1 if q < 0 else 0)
    return (q >> right) + (1 if rem > thr else 0)


@numba.njit(cache=True, nogil=True)
def _mbqm_single(x, m, s):
    """TFLM single-rounding MultiplyByQuantizedMultiplier on int64 scalars (see requantize.py)."""
    total = 31 - s
    r = (x * m + (1 << (total - 1))) >> total
    return ((r + 2147483648) & 0xFFFFFFFF) - 2147483648


@numba.njit(cache=True, nogil=True)
def _requantize(acc, bias, mult, shift, out_offset, act_min, act_max, single, out):
    """acc: float [P, C] of exact integers; bias/mult/shift: int64 [C]; out: int8 [P, C]."""
    p, c = acc.shape
    for i in range(p):
        for co in range(c):
            a = np.int64(acc[i, co]) + bias[co]
            if single:
                v = _mbqm_single(a, mult[co], shift[co])
            else:
                v = _mbqm_double(a, mult[co], shift[co])
            v += out_offset
            if v < act_min:
                v = act_min
            elif v > act_max:
                v = act_max
            out[i, co] = v
