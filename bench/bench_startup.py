"""Start-up of `refcodec decode` for one small image (issue 11 item 10), as a ratio to the start-up of
`python -c "import numpy, PIL.Image"`, both launched as fresh processes from this script, interleaved.
Writes bench/results/startup.json; prints it.

    python bench/bench_startup.py [--repeat 9]

Peers: `baseline` (python -c "import numpy, PIL.Image"), `decode` (python -m refcodec decode s.mcuc -o s.png,
a 224 x 224 context-Huffman stream of vectors/kodim23_224 with the bundled model) and `decode_numba` (the
same with REFCODEC_ENTROPY_KERNEL=numba: what numba's start-up would cost). Target: decode <= 5 x baseline
(median wall time; CPU time, user + sys of the child, is reported too).

It also measures what refcodec.entropy.kernels.PYTHON_BUDGET_SYMBOLS rests on: the plain-Python and the numba
loop's cost per symbol (in this process, on the symbols of a 768 x 432 frame) and numba's start-up in a fresh process (import +
loading the context kernel from numba's cache, after one warm-up run fills the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NUMBA_START = """
import time, numpy as np
t = time.perf_counter()
from refcodec.entropy.kernels_numba import context_kernel
out = np.zeros(4, np.int64)
context_kernel(np.zeros(4, np.uint8), 2, 2, 0, 2, np.ones((9, 16), np.int64), np.zeros((9, 4), np.int64), out)
print(time.perf_counter() - t)
"""


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, child CPU s) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {r.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _us_per_symbol(model) -> tuple[float, float, int]:
    """Context decoding of every chunk of one 768 x 432 frame with each loop (numba after a warm-up call):
    (Python microseconds per symbol, numba microseconds per symbol, symbols)."""
    from refcodec.bitstream.container import parse_stream
    from refcodec.codec import encode_frames
    from refcodec.media import open_media
    from refcodec.paths import video_dir

    frame = next(open_media(video_dir() / "car-detection.mp4").frames)
    parsed = parse_stream(encode_frames([frame], model, entropy="ctx"))
    lh, lw = parsed.header.latent_height, parsed.header.latent_width
    coders = model.entropy.context_coders
    chunks = parsed.packets[0].chunks
    n = lh * lw * len(chunks)
    res = []
    try:
        for kernel in ("python", "numba"):
            os.environ["REFCODEC_ENTROPY_KERNEL"] = kernel
            coders[0].decode(chunks[0].data, lh, lw)  # warm-up (numba: load from its cache)
            t = time.perf_counter()
            for c, chunk in enumerate(chunks):
                coders[c].decode(chunk.data, lh, lw)
            res.append(1e6 * (time.perf_counter() - t) / n)
    finally:
        del os.environ["REFCODEC_ENTROPY_KERNEL"]
    return res[0], res[1], n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    a = ap.parse_args()
    from PIL import Image

    from refcodec.codec import encode_frames
    from refcodec.entropy.kernels import PYTHON_BUDGET_SYMBOLS
    from refcodec.io_utils import write_json
    from refcodec.model.registry import default_model

    model = default_model()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("REFCODEC_ENTROPY_KERNEL", None)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rgb = np.asarray(Image.open(ROOT / "vectors" / "kodim23_224" / "input.png").convert("RGB"))
        stream = tmp / "s.mcuc"
        stream.write_bytes(encode_frames([rgb], model))
        decode = [py, "-m", "refcodec", "decode", str(stream), "-o", str(tmp / "s.png"), "--force"]
        peers = {
            "baseline": ([py, "-c", "import numpy, PIL.Image"], env),
            "decode": (decode, env),
            "decode_numba": (decode, dict(env, REFCODEC_ENTROPY_KERNEL="numba")),
        }
        for cmd, e in peers.values():  # warm-up: OS file cache, numba's on-disk cache, .pyc files
            _run(cmd, e)
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in peers}
        for _ in range(a.repeat):
            for name, (cmd, e) in peers.items():
                times[name].append(_run(cmd, e))
        numba_start = [float(subprocess.run([py, "-c", NUMBA_START], env=env, cwd=ROOT, capture_output=True,
                                            text=True, check=True).stdout) for _ in range(3)]
    us_per_symbol, numba_us_per_symbol, n_sym = _us_per_symbol(model)
    res: dict = {"benchmark": "startup", "stream": "224x224 kodim23_224, bundled model, ctx, k = 12",
                 "repeat": a.repeat}
    for name, ts in times.items():
        res[name] = {"wall_s_median": round(float(np.median([t[0] for t in ts])), 4),
                     "wall_s_min": round(float(np.min([t[0] for t in ts])), 4),
                     "cpu_s_median": round(float(np.median([t[1] for t in ts])), 4)}
    base = res["baseline"]
    res["ratio_decode_over_baseline_wall"] = round(res["decode"]["wall_s_median"] / base["wall_s_median"], 3)
    res["ratio_decode_over_baseline_cpu"] = round(res["decode"]["cpu_s_median"] / base["cpu_s_median"], 3)
    res["ratio_decode_numba_over_baseline_wall"] = round(res["decode_numba"]["wall_s_median"]
                                                         / base["wall_s_median"], 3)
    res["target_ratio"] = 5.0
    res["entropy_kernel_choice"] = {
        "python_us_per_symbol": round(us_per_symbol, 3), "numba_us_per_symbol": round(numba_us_per_symbol, 4),
        "measured_on_symbols": n_sym,
        "numba_startup_s_median": round(float(np.median(numba_start)), 4),
        "python_budget_symbols": PYTHON_BUDGET_SYMBOLS,
        "python_seconds_at_budget": round(PYTHON_BUDGET_SYMBOLS * us_per_symbol * 1e-6, 4),
        "break_even_symbols": int(np.median(numba_start) / (us_per_symbol * 1e-6)),
    }
    res["host"] = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
                   "numpy": np.__version__, "loadavg_1min": round(os.getloadavg()[0], 2)}
    out = ROOT / "bench" / "results" / "startup.json"
    write_json(out, res)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
