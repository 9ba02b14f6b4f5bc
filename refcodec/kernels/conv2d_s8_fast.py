"""INT8 2-D convolution, fast path: byte-identical to refcodec.kernels.conv2d_s8.conv2d_s8.

Same math as TFLM `reference_integer_ops::ConvPerChannel` / CMSIS-NN `arm_convolve_s8`, computed as
BLAS GEMMs without an im2col copy:

1. pad + offset (numba): xp[Hp, Wp, C] = input + input_offset, 0 in the padding.
2. row-run planes (numba): runs[q, j, ox, :] = xp[j*SH + q, ox*SW : ox*SW + KW, :] flattened (KW*C values).
   For kernel row ky, the rows (oy, ox) of the conv need runs[ky % SH, oy + ky // SH, ox]: for a tile of
   output rows that is one contiguous block of a plane.
3. acc = sum_ky block(ky) @ w[:, ky].T  (KH GEMMs of [rows, KW*C] x [KW*C, C_out], BLAS).
4. requantize (numba, int64): bias, MultiplyByQuantizedMultiplier, output offset, clamp, int8.

Exactness of the GEMM: every operand is an integer, |input + input_offset| <= 255 and |w| <= 128, so
every partial sum of channel co is bounded by B[co] = 255 * sum|w[co]| (in any summation order, FMA or
not). If max B < 2^24 the GEMM runs in float32, where all integers below 2^24 are exact; otherwise in
float64 (exact below 2^53; B < 2^31 is already enforced). The bias is added afterwards in int64, and
requantization is the integer MultiplyByQuantizedMultiplier (requantize.py), so no float rounding
touches the result.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes

import numba
import numpy as np

from refcodec.kernels.conv2d_s8 import check_conv_args
from refcodec.kernels.params import ConvParams, PerChannelQuantParams

FLOAT32_EXACT_BOUND = 1 << 24
TILE_ELEMS = 1 << 16
"""Rows x KW*C elements of a run-plane block per tile (the accumulator tile stays in cache)."""
BLAS_THREADS = 1
"""OpenBLAS threads used inside each GEMM. These GEMMs are small; on a shared 2-core host, BLAS's own
threads spin against other processes and run many times slower. None leaves the setting alone."""
THREADS = 1
"""Worker threads that split the output rows of a large layer (numba kernels and BLAS release the GIL).
1 by default: on the shared 2-core host a second thread gained nothing under load (bench_encoder.py
measures both); set e.g. `conv2d_s8_fast_module.THREADS = 2` on an idle multi-core host."""
PARALLEL_MIN_MACS = 1 << 22
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, THREADS - 1),
                                                      thread_name_prefix="conv2d_s8_fast")
    return _POOL


def _find_openblas_setter():
    """`openblas_set_num_threads_local` of the OpenBLAS that NumPy loaded, or None."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_int]
        return fn
    return None


_OPENBLAS_SET = _find_openblas_setter()


@contextlib.contextmanager
def _blas_threads(n):
    if n is None or _OPENBLAS_SET is None:
        yield
        return
    prev = _OPENBLAS_SET(n)
    try:
        yield
    finally:
        _OPENBLAS_SET(prev)


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


def gemm_dtype(weights: np.ndarray):
    """np.float32 if 255 * max_co sum|w[co]| < 2^24 (float32 GEMM exact), else np.float64."""
    w = np.asarray(weights)
    bound = 255 * int(np.abs(w.astype(np.int64)).reshape(w.shape[0], -1).sum(axis=1).max())
    return np.float32 if bound < FLOAT32_EXACT_BOUND else np.float64


def conv2d_s8_fast(input, weights, bias, conv_params: ConvParams, quant_params: PerChannelQuantParams,
                   rounding: str = "double") -> np.ndarray:
    """Per-channel quantized INT8 convolution (fast path); arguments and result exactly as conv2d_s8.

    input: int8 [N, H, W, C_in] or [H, W, C_in]; weights: int8 OHWI; bias: int32 [C_out] or None.
    Returns int8 [N, OH, OW, C_out] (or [OH, OW, C_out]).
    """
    x, squeeze, bias, oh, ow = check_conv_args(input, weights, bias, conv_params, quant_params, rounding)
    p = conv_params
    w = np.asarray(weights)
    c_out, kh, kw, c_in = w.shape
    dtype = gemm_dtype(w)
    # out[oy, ox] = sum_ky runs[ky % SH, oy + ky // SH, ox] @ w[:, ky].T: for every ky, the rows of a tile
    # of output rows are one contiguous block of a run plane, so no im2col copy is needed.
    w_ky = [np.ascontiguousarray(w[:, ky].reshape(c_out, -1).T, dtype=dtype) for ky in range(kh)]  # [KW*C, C_out]
    b64 = np.zeros(c_out, np.int64) if bias is None else bias.astype(np.int64)
    mult = quant_params.multiplier.astype(np.int64)
    shift = quant_params.shift.astype(np.int64)
    n = x.shape[0]
    hp, wp = x.shape[1] + p.pad_top + p.pad_bottom, x.shape[2] + p.pad_left + p.pad_right
    run = kw * c_in
    n_j = oh + (kh - 1) // p.stride_h
    rows_per_tile = max(1, min(oh, TILE_ELEMS // max(1, run * ow)))
    tiles = [(oy0, min(oh, oy0 + rows_per_tile)) for oy0 in range(0, oh, rows_per_tile)]
    n_workers = 1
    if THREADS > 1 and len(tiles) > 1 and oh * ow * kh * run * c_out >= PARALLEL_MIN_MACS:
        n_workers = min(THREADS, len(tiles))
    out = np.empty((n, oh * ow, c_out), dtype=np.int8)
    xp = np.empty((hp, wp, c_in), dtype=dtype)
    runs = np.empty((p.stride_h, n_j * ow, run), dtype=dtype)
    single = rounding == "single"

    def work(worker: int, out_b):
        acc = np.empty((rows_per_tile * ow, c_out), dtype=dtype)
        tmp = np.empty_like(acc)
        for oy0, oy1 in tiles[worker::n_workers]:
            r = (oy1 - oy0) * ow
            for ky in range(kh):
                j0 = (oy0 + ky // p.stride_h) * ow
                a = runs[ky % p.stride_h, j0: j0 + r]
                if ky == 0:
                    np.matmul(a, w_ky[0], out=acc[:r])
                else:
                    np.matmul(a, w_ky[ky], out=tmp[:r])
                    acc[:r] += tmp[:r]
            _requantize(acc[:r], b64, mult, shift, p.output_offset, p.act_min, p.act_max, single,
                        out_b[oy0 * ow: oy0 * ow + r])

    with _blas_threads(BLAS_THREADS):
        for b in range(n):
            _pad_offset(x[b], p.input_offset, p.pad_top, p.pad_left, xp)
            _row_runs(xp.reshape(hp, wp * c_in), kh, kw, c_in, p.stride_h, p.stride_w, ow,
                      runs.reshape(p.stride_h, n_j, ow, run))
            if n_workers == 1:
                work(0, out[b])
            else:
                futures = [_pool().submit(work, i, out[b]) for i in range(1, n_workers)]
                work(0, out[b])
                for f in futures:
                    f.result()
    out = out.reshape(n, oh, ow, c_out)
    return out[0] if squeeze else out
