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

import numpy as np

from refcodec.blas import blas_threads
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

    from refcodec.kernels.conv2d_s8_fast_jit import _pad_offset, _requantize, _row_runs

    with blas_threads(BLAS_THREADS):
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
