"""Decoder speed at 224x224 (latent 28x28x12): the NumPy decoder (refcodec.decoder) vs the same weights in
PyTorch on the CPU, in the same run. Writes bench/results/decoder.json; prints it on stdout.

    python bench/bench_decoder.py [--repeat 20] [--size 224]

Target (issue 4): NumPy ms/frame within 1.2x of PyTorch CPU. Wall times (the ratio) are medians of
interleaved runs; process CPU times and the load average are recorded too, because on a shared machine
other processes inflate wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refcodec.decoder import load_decoder  # noqa: E402
from refcodec.decoder.weights import find_bundled, read_decoder_weights  # noqa: E402
from refcodec.io_utils import write_json  # noqa: E402


def _time(fn, repeat: int) -> tuple[list[float], list[float]]:
    """(wall ms, process CPU ms) of each call, after two warm-up calls."""
    fn()
    fn()  # warm-up (allocations, BLAS threads, torch's lazy init)
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed (pip install torch==2.13.0): no comparison", file=sys.stderr)
        return 1
    from refcodec.training.nets import Decoder as TorchDecoder

    path = find_bundled()
    arrays, meta = read_decoder_weights(path)
    np_dec = load_decoder(path)
    t_dec = TorchDecoder(tuple(meta["widths"]), tuple(meta["blocks"]), meta.get("padding", "zeros")).eval()
    t_dec.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    h = w = a.size // 8
    latent = np.random.default_rng(0).uniform(-1, 1, (h, w, 12)).astype(np.float32)
    x = torch.from_numpy(np.ascontiguousarray(latent.transpose(2, 0, 1)))[None]

    def run_torch():
        with torch.inference_mode():
            return t_dec(x)

    with torch.inference_mode():
        max_abs = float(np.abs(np_dec.decode(latent) - t_dec(x)[0].numpy().transpose(1, 2, 0)).max())
    # interleave the two so that load from other processes hits both alike
    np_ms, torch_ms, np_cpu, torch_cpu = [], [], [], []
    for _ in range(3):
        wall, cpu = _time(lambda: np_dec.decode(latent), max(1, a.repeat // 3))
        np_ms += wall
        np_cpu += cpu
        wall, cpu = _time(run_torch, max(1, a.repeat // 3))
        torch_ms += wall
        torch_cpu += cpu
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    res = {
        "benchmark": "decoder", "size": [a.size, a.size], "weights": path.name,
        "params": int(sum(v.size for v in arrays.values())),
        "numpy_ms_median": round(float(np.median(np_ms)), 2), "numpy_ms_min": round(float(np.min(np_ms)), 2),
        "torch_ms_median": round(float(np.median(torch_ms)), 2), "torch_ms_min": round(float(np.min(torch_ms)), 2),
        "ratio_numpy_over_torch": round(float(np.median(np_ms) / np.median(torch_ms)), 3),
        "numpy_cpu_ms_median": round(float(np.median(np_cpu)), 2),
        "torch_cpu_ms_median": round(float(np.median(torch_cpu)), 2),
        "load_average_1min_before": load,
        "target_ratio": 1.2, "max_abs_diff": max_abs, "repeat": len(np_ms),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "numpy": np.__version__,
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
    }
    out = ROOT / "bench" / "results" / "decoder.json"
    write_json(out, res)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
