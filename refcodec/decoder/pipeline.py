"""Decoding many frames (or one large frame) on all cores, in order, with bounded memory.

Work is split into jobs, one per latent tile of a frame (refcodec.decoder.tiling; a frame whose decode fits
in its worker's share of the memory budget is one job), run by a pool of `workers` threads. NumPy's matmuls
and element-wise operations release the GIL, so threads share one copy of the weights and can use several
cores; each worker runs its GEMMs on one OpenBLAS thread (refcodec.blas), because OpenBLAS's own threads busy-wait and, on cores shared with other
workers, other processes or ffmpeg, make a frame several times slower (bench/bench_video.py measures both).

`decode_frames` yields the frames in stream order as uint8 [H, W, 3] (round(255 x), refcodec.media.to_uint8,
applied tile by tile), pulling latents from its input only as jobs are submitted: at most `2 * workers` jobs
are in flight, so memory is bounded by the budget for the workers' tiles plus the few uint8 frames being
assembled, not by the number or size of frames.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from typing import Iterable, Iterator

import numpy as np

from refcodec.blas import blas_threads
from refcodec.decoder.tiling import SCALE, decode_tile, plan_tiles, receptive_margin, tile_for_budget
from refcodec.errors import InvalidArgumentError

DEFAULT_MEMORY_MB = 1024
"""Memory for the decodes in flight, all workers together (REFCODEC_DECODE_MEMORY_MB overrides): a frame whose
decode would need more than its worker's share (refcodec.decoder.tiling.bytes_per_latent_pixel, about 12.7 KB
per latent pixel, 0.2 KB per output pixel) is decoded in tiles that fit. A 4000 x 3000 image decoded whole
needs about 2.4 GB."""


def default_workers() -> int:
    """REFCODEC_THREADS if set (>= 1), else the CPUs this process may run on. This number (not the load) sets
    each worker's share of the memory budget, so the tiling, and the output, does not depend on the load."""
    env = os.environ.get("REFCODEC_THREADS", "")
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def available_workers(cpus: int) -> int:
    """Threads to run now: the cpus not already kept busy by other processes (cpus minus the 1-minute load
    average, at least 1). On a loaded host a second thread only adds contention: bench/bench_video.py measured
    one worker faster than two on the shared 2-core machine at load 6 to 11."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cpus
    return max(1, min(cpus, int(cpus - load + 0.5)))


def memory_budget() -> int:
    """Bytes for all decodes in flight: REFCODEC_DECODE_MEMORY_MB if set (>= 1), else DEFAULT_MEMORY_MB."""
    env = os.environ.get("REFCODEC_DECODE_MEMORY_MB", "")
    return (int(env) if env.isdigit() and int(env) >= 1 else DEFAULT_MEMORY_MB) << 20


def _to_uint8(a: np.ndarray) -> np.ndarray:
    from refcodec.media.writer import to_uint8

    return to_uint8(a)


def decode_frames(decoder, latents: Iterable[np.ndarray], size: tuple[int, int], workers: int | None = None,
                  tile: int | None | str = "auto", memory: int | None = None,
                  blas: int | None = 1) -> Iterator[np.ndarray]:
    """Decode each latent float32 [lh, lw, C] to uint8 [H, W, 3] (size = (H, W), the top-left crop of the
    8 lh x 8 lw output, spec §8.4), in order.

    workers: threads (None: default_workers() for the memory share, of which available_workers() run; 1:
    everything in the calling thread). tile: latent tile side (None: never tile; "auto": tile a frame only
    when its decode needs more than memory / workers bytes, refcodec.decoder.tiling.tile_for_budget).
    memory: bytes for all workers (None: memory_budget()). blas: OpenBLAS threads per worker (None: leave the
    setting alone).
    """
    h, w = size
    planned = default_workers() if workers is None else max(1, int(workers))
    share = (memory_budget() if memory is None else int(memory)) // planned
    if workers is None and not os.environ.get("REFCODEC_THREADS", "").isdigit():
        workers = available_workers(planned)  # REFCODEC_THREADS or an explicit argument is taken as given
    else:
        workers = planned
    margin = receptive_margin(decoder)

    def run(latent: np.ndarray, t, out: np.ndarray) -> None:
        with blas_threads(blas):
            rgb = decode_tile(decoder, latent, t)  # the tile's core (refcodec.decoder.tiling)
        y0, y1 = SCALE * t.y0, min(h, SCALE * t.y1)  # core rows of the frame, cropped to H x W
        x0, x1 = SCALE * t.x0, min(w, SCALE * t.x1)
        if y1 > y0 and x1 > x0:
            out[y0:y1, x0:x1] = _to_uint8(rgb[:y1 - y0, :x1 - x0])

    def jobs():
        for latent in latents:
            latent = np.asarray(latent)
            lh, lw = latent.shape[:2]
            if SCALE * lh < h or SCALE * lw < w:
                raise InvalidArgumentError(f"latent {lw}x{lh} is too small for a {w}x{h} frame")
            out = np.empty((h, w, 3), np.uint8)
            side = tile_for_budget(decoder, lh, lw, share, margin) if tile == "auto" else tile
            tiles = plan_tiles(lh, lw, side, margin)
            for i, t in enumerate(tiles):
                yield latent, t, out, i == len(tiles) - 1

    if workers == 1:
        for latent, t, out, last in jobs():
            run(latent, t, out)
            if last:
                yield out
        return

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refcodec-decode")
    pending: collections.deque = collections.deque()  # (future, frame or None when not its last tile)
    try:
        for latent, t, out, last in jobs():
            pending.append((pool.submit(run, latent, t, out), out if last else None))
            while len(pending) >= 2 * workers or (pending and pending[0][0].done()):
                fut, frame = pending.popleft()
                fut.result()
                if frame is not None:
                    yield frame
        while pending:
            fut, frame = pending.popleft()
            fut.result()
            if frame is not None:
                yield frame
    finally:
        for fut, _ in pending:
            fut.cancel()
        pool.shutdown(wait=True)
