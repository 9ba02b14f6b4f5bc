"""Benchmark the INT8 encoder (conv 3->16 k7 s2 ReLU, 16->16 k5 s4 ReLU, 16->12 k3 s1) at 224x224:
reference path, fast path (double and single rounding) and TFLite Micro's interpreter, side by side in
one process on the seeded random model (refcodec.model.random_model, seed 0). Checks that the
double-rounding outputs of all three are byte-identical (and that fast == reference for single
rounding), then writes ms/frame (median of repeated runs, warm-up excluded) and ratios to
bench/results/encoder.json and prints a table.

Usage: python bench/bench_encoder.py [--repeats N]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refcodec.io_utils import write_json  # noqa: E402
from refcodec.kernels import conv2d_s8, conv2d_s8_fast  # noqa: E402
from refcodec.model.random_model import make_random_model  # noqa: E402
from refcodec.tflite import encoder_model_bytes  # noqa: E402

H = W = 224


def _median_ms(fn, repeats: int, warmup: int = 2) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3), float(np.min(times) * 1e3)


def _encoder(conv, model, x):
    def run():
        y = x
        for layer, params in zip(model.layers, model.conv_params(H, W)):
            y = conv(y, layer.weights, layer.bias, params, layer.quant_params(), rounding=model.rounding)
        return y
    return run


def _tflm(model, x):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        return None
    blob = encoder_model_bytes(model, H, W)
    interp = runtime.Interpreter.from_bytes(blob, arena_size=8 << 20)
    last = len(model.layers) - 1

    def run():
        interp.set_input(x, 0)
        interp.invoke()
        return np.array(interp.get_output(last))
    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, H, W, 3)).astype(np.int8)
    double = make_random_model(seed=0, rounding="double")
    single = make_random_model(seed=0, rounding="single")

    fast_module = importlib.import_module("refcodec.kernels.conv2d_s8_fast")

    def two_threads(run):
        def wrapped():
            saved, fast_module.THREADS = fast_module.THREADS, 2
            try:
                return run()
            finally:
                fast_module.THREADS = saved
        return wrapped

    paths = {
        "reference_double": _encoder(conv2d_s8, double, x),
        "fast_double": _encoder(conv2d_s8_fast, double, x),
        "fast_double_2threads": two_threads(_encoder(conv2d_s8_fast, double, x)),
        "reference_single": _encoder(conv2d_s8, single, x),
        "fast_single": _encoder(conv2d_s8_fast, single, x),
    }
    tflm = _tflm(double, x)
    if tflm is not None:
        paths["tflm_interpreter"] = tflm

    outs = {name: fn() for name, fn in paths.items()}
    identical_double = all(np.array_equal(outs["reference_double"], outs[k])
                           for k in ("fast_double", "fast_double_2threads", "tflm_interpreter") if k in outs)
    identical_single = np.array_equal(outs["reference_single"], outs["fast_single"])
    differs = int((outs["reference_double"] != outs["reference_single"]).sum())

    results = {}
    for name, fn in paths.items():
        reps = args.repeats if name.startswith("fast") else max(3, args.repeats // 5)
        med, best = _median_ms(fn, reps)
        results[name] = {"ms_per_frame_median": round(med, 3), "ms_per_frame_min": round(best, 3), "repeats": reps}
    base = results["fast_double"]["ms_per_frame_median"]
    for name, r in results.items():
        r["ratio_to_fast_double"] = round(r["ms_per_frame_median"] / base, 2)

    report = {
        "benchmark": "encoder_224x224",
        "model": "make_random_model(seed=0)",
        "input": [1, H, W, 3],
        "bytes_identical_double": bool(identical_double),
        "bytes_identical_single_fast_vs_reference": bool(identical_single),
        "latent_bytes_single_vs_double_differ": differs,
        "fast_target_ms": 2.0,
        "blas_threads": fast_module.BLAS_THREADS,
        "fast_threads_default": fast_module.THREADS,
        "host": {"machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
                 "python": platform.python_version(), "numpy": np.__version__,
                 "loadavg_1min": round(os.getloadavg()[0], 2)},
        "paths": results,
    }
    out = ROOT / "bench" / "results" / "encoder.json"
    write_json(out, report, indent=2)

    print(f"{'path':<20}{'ms/frame (median)':>20}{'min':>10}{'x fast_double':>16}")
    for name, r in results.items():
        print(f"{name:<20}{r['ms_per_frame_median']:>20.3f}{r['ms_per_frame_min']:>10.3f}"
              f"{r['ratio_to_fast_double']:>16.2f}")
    print(f"bytes identical (double: reference/fast/TFLM): {identical_double}; "
          f"single fast == reference: {identical_single}; load avg {report['host']['loadavg_1min']}")
    print(f"wrote {out}")
    return 0 if identical_double and identical_single else 1


if __name__ == "__main__":
    sys.exit(main())
