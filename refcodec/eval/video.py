"""`refcodec eval` on video clips: intra versus inter streams (spec §6.7), M-JPEG and x264 (not normative).

For each clip (the first `frames` frames, resized to `size` with refcodec.media.resize_frame, cover + centre crop):
- refcodec: one context stream (intra, entropy_mode 2) and one inter stream (entropy_mode 4, keyframe interval
  `keyframe_interval`) at k = 12, and for k = 1..12 their `truncate --channels k` prefixes. Every byte is
  counted (header, packet overhead, chunks). The two streams must decode to identical symbols, hence identical
  pictures, at every k (checked here: a RefcodecError otherwise); PSNR and MS-SSIM per frame.
- M-JPEG: a Pillow JPEG per frame (optimize, 4:2:0 and 4:4:4) at each quality; bytes are the sum of the files.
- x264 through imageio-ffmpeg's ffmpeg (`-preset ultrafast -tune zerolatency`, and `-preset medium`), yuv420p,
  raw Annex B H.264 (no container) at each CRF; decoded back with the same ffmpeg.
BD-rates (refcodec.eval.bdrate) of intra and inter against each anchor, in PSNR and MS-SSIM dB, over the
clips' mean rate (bits per pixel per frame) and mean quality.
"""

from __future__ import annotations

import itertools
import platform
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, RefcodecError
from refcodec.eval.bdrate import bd_rate
from refcodec.eval.jpeg import jpeg_decode, jpeg_encode
from refcodec.eval.metrics import ms_ssim, ms_ssim_db, psnr, to_float01
from refcodec.eval.run import fmt_percent
from refcodec.media.reader import VIDEO_EXTS, Y4M_EXTS

VIDEO_SUFFIXES = VIDEO_EXTS + Y4M_EXTS  # the media reader's (refcodec.media.reader)
VIDEO_QUALITIES = (5, 10, 20, 30, 50, 70, 90)
X264_CRFS = (18, 23, 28, 33, 38, 43, 48)
X264_PRESETS = {"x264_ultrafast_zerolatency": ["-preset", "ultrafast", "-tune", "zerolatency"],
                "x264_medium": ["-preset", "medium"]}


def list_clips(path) -> list[Path]:
    """Clips of a path (a clip, or a folder's clips in name order), or of a list of such paths."""
    if isinstance(path, (list, tuple)):
        return [c for p in path for c in list_clips(p)]
    p = Path(path)
    if p.is_file():
        return [p]
    clips = sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES) if p.is_dir() else []
    if not clips:
        raise InputFileError(f"no video clip ({', '.join(VIDEO_SUFFIXES)}) at {p}")
    return clips


def is_video_input(path: str | Path) -> bool:
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() in VIDEO_SUFFIXES
    return p.is_dir() and any(q.suffix.lower() in VIDEO_SUFFIXES for q in p.iterdir())


def load_clip(path: Path, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    from refcodec.media import open_media, resize_frame

    out = [resize_frame(f, size) for f in itertools.islice(open_media(path).frames, frames)]
    if not out:
        raise InputFileError(f"{path}: no frames")
    return out


def _metrics(ref: list[np.ndarray], rec: list[np.ndarray]) -> tuple[list[float], list[float]]:
    p, m = [], []
    for a, b in zip(ref, rec):
        fa, fb = to_float01(a), to_float01(b)
        p.append(psnr(fa, fb))
        m.append(ms_ssim(fa, fb))
    return p, m


def _point(nbytes: int, n_frames: int, h: int, w: int, p: list[float], m: list[float], **extra) -> dict:
    return {**extra, "bytes": int(nbytes), "bpp": 8.0 * nbytes / (n_frames * h * w),
            "psnr": float(np.mean(p)), "ms_ssim": float(np.mean(m)), "ms_ssim_db": ms_ssim_db(float(np.mean(m))),
            "psnr_per_frame": [round(float(x), 4) for x in p], "ms_ssim_per_frame": [round(float(x), 6) for x in m]}


def refcodec_points(frames: list[np.ndarray], model, decoder, keyframe_interval: int, fps) -> dict:
    """{"intra": [...], "inter": [...], "lossless": {...}} for k = 1..C (see the module docstring)."""
    from refcodec.bitstream.container import parse_stream
    from refcodec.bitstream.format import CHUNK_INTER
    from refcodec.codec import decode_stream, decode_symbols, encode_frames, truncate_stream
    from refcodec.eval.run import quantize8

    h, w = frames[0].shape[:2]
    n = len(frames)
    intra = encode_frames(frames, model, entropy="ctx", fps=fps)
    inter = encode_frames(frames, model, entropy="inter", fps=fps, keyframe_interval=keyframe_interval)
    out = {"intra": [], "inter": []}
    for k in range(1, model.channels + 1):
        a = truncate_stream(intra, channels=k) if k < model.channels else intra
        b = truncate_stream(inter, channels=k) if k < model.channels else inter
        sa, sb = decode_symbols(a, model), decode_symbols(b, model)
        if len(sa.symbols) != n or len(sb.symbols) != n or not all(
                np.array_equal(x, y) for x, y in zip(sa.symbols, sb.symbols)):
            raise RefcodecError(f"k={k}: the inter stream does not decode to the intra stream's symbols")
        rec = [quantize8(f) for f in decode_stream(b, model, decoder=decoder).frames]
        p, m = _metrics(frames, rec)
        out["intra"].append(_point(len(a), n, h, w, p, m, k=k))
        out["inter"].append(_point(len(b), n, h, w, p, m, k=k))
        if k == model.channels:
            rec_intra = [quantize8(f) for f in decode_stream(a, model, decoder=decoder).frames]
            identical = all(np.array_equal(x, y) for x, y in zip(rec, rec_intra))
            info_frames = [sum(1 for c in pkt.chunks if c.mode == CHUNK_INTER) for pkt in parse_stream(b).packets]
            out["lossless"] = {
                "intra_bytes": len(a), "inter_bytes": len(b),
                "saving_percent": 100.0 * (1 - len(b) / len(a)),
                "decoded_frames_byte_identical": bool(identical),
                "inter_chunks": int(sum(info_frames)), "chunks": n * model.channels,
                "keyframes": [i for i, c in enumerate(info_frames) if c == 0],
            }
    return out


def jpeg_points(frames: list[np.ndarray], qualities: Sequence[int], subsampling: str) -> list[dict]:
    h, w = frames[0].shape[:2]
    rows = []
    for q in qualities:
        files = [jpeg_encode(f, q, subsampling) for f in frames]
        p, m = _metrics(frames, [jpeg_decode(d) for d in files])
        rows.append(_point(sum(len(d) for d in files), len(frames), h, w, p, m, quality=int(q)))
    return rows


def x264_points(frames: list[np.ndarray], fps: float, crfs: Sequence[int], preset_args: list[str]) -> list[dict]:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    h, w = frames[0].shape[:2]
    raw = np.stack(frames).tobytes()
    rows = []
    for crf in crfs:
        enc = subprocess.run(
            [exe, "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-",
             "-c:v", "libx264", *preset_args, "-crf", str(crf), "-pix_fmt", "yuv420p", "-f", "h264", "-"],
            input=raw, capture_output=True, check=True)
        # passthrough: one output picture per coded frame. Without it ffmpeg resamples the stream's own frame rate
        # (x264 writes `fps` into the VUI) to rawvideo's default 25 fps, duplicating frames of a 12.5 fps clip.
        dec = subprocess.run([exe, "-v", "error", "-f", "h264", "-i", "-", "-fps_mode", "passthrough",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             input=enc.stdout, capture_output=True, check=True)
        rec = np.frombuffer(dec.stdout, np.uint8).reshape(-1, h, w, 3)
        if len(rec) != len(frames):
            raise RefcodecError(f"x264 crf {crf}: {len(rec)} frames decoded, {len(frames)} encoded")
        p, m = _metrics(frames, list(rec))
        rows.append(_point(len(enc.stdout), len(frames), h, w, p, m, crf=int(crf)))
    return rows


def _mean(rows_per_clip: list[list[dict]], key: str) -> list[dict]:
    out = []
    for j, first in enumerate(rows_per_clip[0]):
        pts = [rows[j] for rows in rows_per_clip]
        row = {key: first[key]}
        for f in ("bpp", "psnr", "ms_ssim"):
            row[f] = float(np.mean([p[f] for p in pts]))
        row["bytes"] = int(sum(p["bytes"] for p in pts))
        row["ms_ssim_db"] = ms_ssim_db(row["ms_ssim"])
        out.append(row)
    return out


def evaluate_video(path, frames: int, size: tuple[int, int], model, decoder, keyframe_interval: int = 30,
                   qualities: Sequence[int] = VIDEO_QUALITIES, crfs: Sequence[int] = X264_CRFS,
                   progress: Callable[[str], None] | None = None) -> dict:
    from refcodec.media import open_media

    say = progress or (lambda s: None)
    clips = list_clips(path)
    per_clip = {}
    for clip in clips:
        src = open_media(clip)
        fps = src.fps or (25, 1)
        fr = load_clip(clip, frames, size)
        say(f"{clip.name}: {len(fr)} frames at {size[0]}x{size[1]}")
        res = {"frames": len(fr), "fps": list(fps), **refcodec_points(fr, model, decoder, keyframe_interval, fps)}
        ll = res["lossless"]
        say(f"  lossless k=12: intra {ll['intra_bytes']} B, inter {ll['inter_bytes']} B "
            f"({ll['saving_percent']:.1f} % smaller), decoded frames identical: {ll['decoded_frames_byte_identical']}")
        for sub in ("420", "444"):
            res[f"mjpeg{sub}"] = jpeg_points(fr, qualities, sub)
        for name, args in X264_PRESETS.items():
            res[name] = x264_points(fr, fps[0] / fps[1], crfs, args)
        per_clip[clip.name] = res
    names = list(per_clip)
    mean = {"intra": _mean([per_clip[c]["intra"] for c in names], "k"),
            "inter": _mean([per_clip[c]["inter"] for c in names], "k")}
    for a in ("mjpeg420", "mjpeg444"):
        mean[a] = _mean([per_clip[c][a] for c in names], "quality")
    for a in X264_PRESETS:
        mean[a] = _mean([per_clip[c][a] for c in names], "crf")
    bd = {}
    for test in ("intra", "inter"):
        for anchor in ("mjpeg420", "mjpeg444", *X264_PRESETS):
            bd[f"{test}_vs_{anchor}"] = {
                metric: bd_rate([r["bpp"] for r in mean[anchor]], [r[metric] for r in mean[anchor]],
                                [r["bpp"] for r in mean[test]], [r[metric] for r in mean[test]])
                for metric in ("psnr", "ms_ssim_db")}
    intra_b = sum(per_clip[c]["lossless"]["intra_bytes"] for c in names)
    inter_b = sum(per_clip[c]["lossless"]["inter_bytes"] for c in names)
    import imageio_ffmpeg
    from PIL import __version__ as pillow_version

    return {
        "kind": "video", "clips": names, "frames_per_clip": frames, "size": f"{size[0]}x{size[1]}",
        "model_id": model.model_id[:16], "keyframe_interval": keyframe_interval,
        "lossless": {"intra_bytes": intra_b, "inter_bytes": inter_b,
                     "saving_percent": 100.0 * (1 - inter_b / intra_b),
                     "decoded_frames_byte_identical": all(per_clip[c]["lossless"]["decoded_frames_byte_identical"]
                                                          for c in names)},
        "mean": mean, "bd_rate": bd, "per_clip": per_clip,
        "software": {"pillow": pillow_version, "ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
                     "python": platform.python_version()},
    }


def video_summary_lines(result: dict) -> list[str]:
    ll = result["lossless"]
    lines = [f"clips {', '.join(result['clips'])}: {result['frames_per_clip']} frames each at {result['size']}",
             f"lossless (k=12): intra {ll['intra_bytes']} B, inter {ll['inter_bytes']} B: "
             f"{ll['saving_percent']:.1f} % smaller; decoded frames identical: {ll['decoded_frames_byte_identical']}"]
    for name, v in result["bd_rate"].items():  # null (n/a) where the quality ranges do not overlap
        lines.append(f"BD-rate {name}: PSNR {fmt_percent(v['psnr']['bd_rate_percent'], '+.1f')}, "
                     f"MS-SSIM {fmt_percent(v['ms_ssim_db']['bd_rate_percent'], '+.1f')}")
    return lines
