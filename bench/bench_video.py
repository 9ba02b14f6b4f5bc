"""Video and large-image decode (issue 11 item 11): `refcodec decode` (refcodec.decoder.pipeline: frames and
tiles on worker threads with one OpenBLAS thread each, uint8 frames streamed to the writer) against the
serial, untiled loop it replaced (Decoder.decode per whole frame with OpenBLAS's default threads, float frames
to the same writer), in the same script. Writes bench/results/video.json; prints it.

    python bench/bench_video.py [--frames 24] [--large 4000x3000] [--repeat 2] [--load 0] [--parts clip,large]

1. clip: the first --frames frames of datasets/video/car-detection.mp4 (768 x 432, the clip of the
   issue) encoded with the bundled model, decoded to MP4: frames/s of each path and the ratio; and the pipeline
   with one worker (REFCODEC_THREADS=1) to show what the threads add.
2. large: a Kodak picture resized to --large, encoded, decoded to PNG: seconds, peak memory (the decoding
   process's peak resident set, VmHWM) and the ratio; and the largest difference between the two outputs
   in 8-bit samples (spec §8.4 allows 1).
Each measurement runs in a fresh process (this script with --child), peers interleaved, median of --repeat.
--load N starts N busy processes during the measurements, as on a loaded host (OpenBLAS's spinning threads
then cost the most).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
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
from refcodec.paths import data_root  # noqa: E402

DATASETS = data_root()  # refcodec.paths: $REFCODEC_DATA or ../shared/datasets
CLIP = DATASETS / "video" / "car-detection.mp4"
PICTURE = DATASETS / "kodak" / "kodim23.png"


def _serial_untiled(stream: str, out: str) -> None:
    """The decode loop as it was before the pipeline: whole frames, one after another, float to the writer."""
    from refcodec.codec import decode_symbols, latent_from_symbols
    from refcodec.decoder import load_decoder
    from refcodec.media import write_frames
    from refcodec.model.registry import resolve_model

    model = resolve_model(None)
    ds = decode_symbols(Path(stream).read_bytes(), model)
    decoder = load_decoder()
    h, w = ds.header.height, ds.header.width
    frames = (decoder.decode(latent_from_symbols(s, k, model))[:h, :w] for s, k in zip(ds.symbols, ds.channels_present))
    write_frames(out, frames, ds.header.rate, len(ds.symbols))


def _child(mode: str, stream: str, out: str) -> None:
    from refcodec.decoder.pipeline import available_workers, default_workers

    threads = os.environ.get("REFCODEC_THREADS")
    workers = int(threads) if threads else available_workers(default_workers())
    t, c = time.perf_counter(), time.process_time()
    if mode == "serial":
        _serial_untiled(stream, out)
    else:
        from refcodec.cli.main import cli

        cli(["decode", stream, "-o", out, "--force"], prog_name="refcodec", standalone_mode=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(),
                      "workers": workers if mode == "cli" else None}))


def _peak_rss_mb() -> float:
    """This process's peak resident set: VmHWM of /proc/self/status (Linux; getrusage's ru_maxrss would carry
    the parent's high-water mark over fork + exec), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(mode: str, stream: Path, out: Path, extra_env: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra_env)
    r = subprocess.run([sys.executable, __file__, "--child", mode, str(stream), str(out)], capture_output=True,
                       text=True, env=env, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"{mode} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _busy(stop) -> None:  # pragma: no cover - load generator
    x = 0
    while not stop.is_set():
        x += 1


def _compare(peers: dict[str, tuple], frames: int, stream: Path, repeat: int) -> dict:
    """peers: name -> (mode, output path, extra environment)."""
    runs: dict[str, list[dict]] = {k: [] for k in peers}
    for _ in range(repeat):
        for name, (mode, out, extra_env) in peers.items():  # interleaved: load from others hits all alike
            runs[name].append(_measure(mode, stream, out, extra_env))
    res = {}
    for mode, rs in runs.items():
        wall = float(np.median([r["wall_s"] for r in rs]))
        res[mode] = {"wall_s": round(wall, 3), "cpu_s": round(float(np.median([r["cpu_s"] for r in rs])), 3),
                     "frames_per_s": round(frames / wall, 3),
                     "peak_rss_mb": round(float(max(r["peak_rss_mb"] for r in rs)), 1), "runs": len(rs),
                     "workers_by_run": [r["workers"] for r in rs]}
    return res


def _measured_bytes_per_latent_pixel(decoder, side: int = 48) -> int:
    """Peak traced (tracemalloc: NumPy reports its buffers) memory of one decode of a side x side latent."""
    import tracemalloc

    lat = np.random.default_rng(0).uniform(-1, 1, (side, side, 12)).astype(np.float32)
    tracemalloc.start()
    decoder.decode(lat)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return int(peak / side ** 2)


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--large", default="4000x3000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--load", type=int, default=0)
    ap.add_argument("--parts", default="clip,large", help="which measurements: clip, large or both")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "STREAM", "OUT"))
    a = ap.parse_args()
    if a.child:
        _child(*a.child)
        return 0
    from PIL import Image

    from refcodec.codec import encode_frames
    from refcodec.decoder import load_decoder
    from refcodec.decoder.pipeline import default_workers, memory_budget
    from refcodec.decoder.tiling import bytes_per_latent_pixel, receptive_margin
    from refcodec.io_utils import write_json
    from refcodec.media import open_media
    from refcodec.model.registry import default_model

    model = default_model()
    decoder = load_decoder()
    res: dict = {"benchmark": "video_decode", "peer": "serial: Decoder.decode per whole frame, default OpenBLAS "
                 "threads (the loop before the pipeline)", "cpus_for_workers": default_workers(),
                 "memory_budget_mb": memory_budget() >> 20, "receptive_margin": receptive_margin(decoder),
                 "bytes_per_latent_pixel_estimate": bytes_per_latent_pixel(decoder),
                 "bytes_per_latent_pixel_measured": _measured_bytes_per_latent_pixel(decoder),
                 "load_processes": a.load}
    stop = multiprocessing.Event()
    busy = [multiprocessing.Process(target=_busy, args=(stop,), daemon=True) for _ in range(a.load)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = open_media(CLIP)
        frames = [f for _, f in zip(range(a.frames), src.frames)]
        clip = tmp / "clip.mcuc"
        clip.write_bytes(encode_frames(frames, model, fps=(25, 2)))
        w, h = (int(v) for v in a.large.lower().split("x"))
        pic = np.asarray(Image.open(PICTURE).convert("RGB").resize((w, h), Image.BILINEAR))
        large = tmp / "large.mcuc"
        large.write_bytes(encode_frames([pic], model))
        for p in busy:
            p.start()
        parts = a.parts.split(",")
        try:
            if "clip" in parts:
                res["clip"] = {"source": f"{CLIP.name}, first {len(frames)} frames",
                               "size": [frames[0].shape[1], frames[0].shape[0]], "frames": len(frames),
                               **_compare({"serial": ("serial", tmp / "s.mp4", {}),
                                           "pipeline": ("cli", tmp / "p.mp4", {}),
                                           "pipeline_1_worker": ("cli", tmp / "p1.mp4", {"REFCODEC_THREADS": "1"})},
                                          len(frames), clip, a.repeat)}
            if "large" in parts:
                res["large"] = {"source": f"{PICTURE.name} resized", "size": [w, h],
                                **_compare({"serial": ("serial", tmp / "s.png", {}),
                                            "pipeline": ("cli", tmp / "p.png", {})}, 1, large, a.repeat)}
        finally:
            stop.set()
            for p in busy:
                p.join()
        if "large" in res:
            diff = np.abs(_png(tmp / "s.png") - _png(tmp / "p.png"))
            res["large"]["max_diff_8bit"] = int(diff.max())
            res["large"]["samples_differing"] = int((diff > 0).sum())
    for part in ("clip", "large"):
        if part not in res:
            continue
        r = res[part]
        r["speedup_pipeline_over_serial"] = round(r["serial"]["wall_s"] / r["pipeline"]["wall_s"], 3)
        r["peak_memory_ratio_pipeline_over_serial"] = round(r["pipeline"]["peak_rss_mb"]
                                                            / r["serial"]["peak_rss_mb"], 3)
    if "clip" in res:
        one = res["clip"]["pipeline_1_worker"]["wall_s"]
        res["clip"]["speedup_workers_over_1_worker"] = round(one / res["clip"]["pipeline"]["wall_s"], 3)
    res["host"] = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
                   "numpy": np.__version__, "loadavg_1min": round(os.getloadavg()[0], 2)}
    out = ROOT / "bench" / "results" / ("video.json" if set(parts) >= {"clip", "large"} else f"video-{a.parts}.json")
    write_json(out, res)
    print(json.dumps(res, indent=1))
    return 0 if res.get("large", {}).get("max_diff_8bit", 0) <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
