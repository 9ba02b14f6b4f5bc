"""OpenBLAS threads of the calling thread (NumPy's matmul): `blas_threads(n)` sets them for a block.

OpenBLAS's own threads busy-wait between calls; on a host whose cores are shared with other processes (or with
our own worker threads) they spin against them and a GEMM runs many times slower (bench/bench_video.py measures
it). refcodec's INT8 fast path (refcodec.kernels.conv2d_s8_fast) and the float decoder's frame pool
(refcodec.decoder.pipeline) therefore run each GEMM on one BLAS thread and get their parallelism from their own
workers. `openblas_set_num_threads_local` (OpenBLAS >= 0.3.27) changes the setting of the calling thread only
and returns the previous one; without it (another BLAS) these helpers do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from functools import lru_cache


@lru_cache(maxsize=1)
def openblas_setter():
    """`openblas_set_num_threads_local` of the OpenBLAS that NumPy loaded, or None."""
    import numpy  # noqa: F401  (loads the library)

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


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Run the block with n OpenBLAS threads in the calling thread (None: leave the setting alone)."""
    setter = None if n is None else openblas_setter()
    if setter is None:
        yield
        return
    prev = setter(n)
    try:
        yield
    finally:
        setter(prev)
