"""Which decode loop runs: plain Python (refcodec.entropy.kernels_python) or numba
(refcodec.entropy.kernels_numba). Both give the same symbols and the same error results
(tests/test_entropy_kernels.py compares them on the conformance vectors and on random and corrupted streams);
only the cost differs.

numba costs a fixed start-up per process (import, then loading the kernel from numba's cache: 0.35 s to 0.75 s
measured by bench/bench_startup.py on the shared 2-core machine; a compile of seconds when the cache is cold)
and then decodes 4x to 15x faster than Python (0.05 to 0.17 against 0.43 to 1 microseconds per symbol in
runs of the same bench under varying load). With
`mode` "auto" a process therefore decodes in Python until it has decoded PYTHON_BUDGET_SYMBOLS symbols, about
as much Python time as numba's start-up costs, and with numba from then on (the ski-rental rule: never more
than about twice the cost of the better choice made in hindsight). One small image (224 x 224 x 12 channels =
9,408 symbols) never loads numba; a 768 x 432 video (62,208 symbols a frame) switches after 8 frames.
"""

from __future__ import annotations

import os
import threading

import numpy as np

PYTHON_BUDGET_SYMBOLS = 500_000
"""Symbols a process decodes in plain Python before "auto" switches to numba (bench/bench_startup.py measures
Python's cost per symbol and numba's start-up)."""

MODES = ("auto", "python", "numba")
_lock = threading.Lock()
_python_symbols = 0  # decoded in Python so far by "auto"
_numba_ready = False


def default_mode() -> str:
    """REFCODEC_ENTROPY_KERNEL (auto | python | numba), default auto."""
    mode = os.environ.get("REFCODEC_ENTROPY_KERNEL", "auto")
    return mode if mode in MODES else "auto"


def _use_numba(n: int, mode: str | None) -> bool:
    global _python_symbols, _numba_ready
    mode = default_mode() if mode is None else mode
    if mode == "numba":
        return True
    if mode == "python":
        return False
    with _lock:
        if _numba_ready or _python_symbols + n > PYTHON_BUDGET_SYMBOLS:
            _numba_ready = True
            return True
        _python_symbols += n
        return False


def huffman_decode_symbols(buf: np.ndarray, n: int, bl_count: np.ndarray, sorted_symbols: np.ndarray,
                           mode: str | None = None) -> tuple[np.ndarray, int]:
    """Decode n symbols of one canonical table from the chunk bytes `buf` (uint8). Returns (symbols int64 [n],
    bit position after the last one, or -1 / -2: see kernels_python.huffman_loop)."""
    if _use_numba(n, mode):
        from refcodec.entropy.kernels_numba import huffman_kernel

        out = np.zeros(n, dtype=np.int64)
        return out, int(huffman_kernel(buf, n, bl_count, sorted_symbols, out))
    from refcodec.entropy.kernels_python import huffman_loop

    out_list = [0] * n
    pos = huffman_loop(np.unpackbits(buf).tobytes(), n, bl_count.tolist(), sorted_symbols.tolist(), out_list)
    return np.array(out_list, dtype=np.int64), pos


def context_decode_symbols(buf: np.ndarray, h: int, w: int, shift: int, nb: int, bl_count: np.ndarray,
                           sorted_symbols: np.ndarray, tables_as_lists=None,
                           mode: str | None = None) -> tuple[np.ndarray, int]:
    """Decode h x w context-coded symbols (spec §6.6). bl_count int64 [NCTX, 16], sorted_symbols int64
    [NCTX, 2^bits]; tables_as_lists: the same two as nested lists (cached by the caller), or None.
    Returns (symbols int64 [h * w], bit position or -1 / -2)."""
    n = h * w
    if _use_numba(n, mode):
        from refcodec.entropy.kernels_numba import context_kernel

        out = np.zeros(n, dtype=np.int64)
        return out, int(context_kernel(buf, h, w, shift, nb, bl_count, sorted_symbols, out))
    from refcodec.entropy.kernels_python import context_loop

    blc, srt = tables_as_lists if tables_as_lists is not None else (bl_count.tolist(), sorted_symbols.tolist())
    out_list = [0] * n
    pos = context_loop(np.unpackbits(buf).tobytes(), h, w, shift, nb, blc, srt, out_list)
    return np.array(out_list, dtype=np.int64), pos
