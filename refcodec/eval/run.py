"""The evaluation loop behind `refcodec eval`: refcodec at every channel prefix k = 1..12 against JPEG.

For each image of a folder (prepared as the paper does, refcodec.eval.prep):
- encode it once as a one-frame .mcuc stream with all channels (refcodec.codec.encode_frames), then cut it to
  k channels with truncate_stream (the same bytes an MCU's bitrate gate sends); bpp = 8 * len(stream) / (H*W)
  counts every byte: stream header, packet header, chunk table, CRCs, entropy-coded chunks;
- decode each prefix with the float decoder (refcodec.codec.decode_stream), round to 8 bits as a written
  PNG would be, and measure PSNR (RGB) and MS-SSIM (refcodec.eval.metrics);
- JPEG at each quality of the sweep, 4:2:0 and 4:4:4 (refcodec.eval.jpeg).
Means are arithmetic means over images of the per-image bpp, PSNR and MS-SSIM; MS-SSIM in dB is taken of the
mean MS-SSIM. BD-rates (refcodec.eval.bdrate) compare the mean curves. Per k, the squared error per distance
to the frame edge (refcodec.eval.borders, issue 13) is kept per image and aggregated in "borders".
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from refcodec.errors import InvalidArgumentError, RefcodecError
from refcodec.eval.bdrate import bd_rate
from refcodec.eval.borders import EDGE, aggregate, border_errors, source_edge_step
from refcodec.eval.jpeg import DEFAULT_QUALITIES, SUBSAMPLING, jpeg_sweep
from refcodec.eval.metrics import ms_ssim, ms_ssim_db, psnr, to_float01
from refcodec.eval.prep import list_images, load_prepared

RESULT_VERSION = 1
Progress = Callable[[str], None] | None


def quantize8(img: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8, round half up after clipping (what an 8-bit PNG of the output holds)."""
    return np.floor(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _entropy_name(model) -> str:
    """The entropy mode encode_frames(entropy="auto") uses for this model (codec_points encodes with auto)."""
    from refcodec.bitstream.format import ENTROPY_NAMES
    from refcodec.codec import resolve_entropy

    return ENTROPY_NAMES[resolve_entropy(model, "auto")] if hasattr(model, "has_context_tables") else \
        ("raw" if getattr(model, "entropy", None) is None else "huffman")


def codec_points(rgb: np.ndarray, model, decoder, channels: Sequence[int] | None = None) -> list[dict]:
    """One image (uint8 [H, W, 3]) through refcodec at each channel count (default 1..model.channels):
    [{"k", "bytes", "bpp", "psnr", "ms_ssim", "border"}] (border: refcodec.eval.borders.border_errors)."""
    from refcodec.bitstream import truncate_stream
    from refcodec.codec import decode_stream, encode_frames

    if channels is None:
        channels = range(1, model.channels + 1)
    h, w = rgb.shape[:2]
    full = encode_frames([rgb], model, channels=max(channels), entropy="auto")
    ref = to_float01(rgb)
    out = []
    for k in channels:
        data = truncate_stream(full, channels=k)
        decoded = decode_stream(data, model, decoder=decoder)
        if len(decoded.frames) != 1 or decoded.lost:
            raise RefcodecError(f"decoding the k={k} stream gave {len(decoded.frames)} frames, lost {decoded.lost}")
        rec = to_float01(quantize8(decoded.frames[0]))
        out.append(
            {
                "k": int(k),
                "bytes": len(data),
                "bpp": 8.0 * len(data) / (h * w),
                "psnr": psnr(ref, rec),
                "ms_ssim": ms_ssim(ref, rec),
                "border": border_errors(ref, rec),
            }
        )
    return out


def _mean_rows(per_image: list[list[dict]]) -> list[dict]:
    rows = []
    for j, first in enumerate(per_image[0]):
        pts = [img[j] for img in per_image]
        rows.append(
            {
                "k": first["k"],
                "bytes": float(np.mean([p["bytes"] for p in pts])),
                "bpp": float(np.mean([p["bpp"] for p in pts])),
                "psnr": float(np.mean([p["psnr"] for p in pts])),
                "ms_ssim": float(np.mean([p["ms_ssim"] for p in pts])),
            }
        )
    return rows


def _add_db(rows: list[dict]) -> list[dict]:
    for r in rows:
        r["ms_ssim_db"] = ms_ssim_db(r["ms_ssim"])
    return rows


def border_rows(per_image: list[list[dict]]) -> list[dict]:
    """Per k: refcodec.eval.borders.aggregate of the images' border figures, {"k", "ring_ratio", "ring_mse",
    "interior_mse", "edge_share"}."""
    return [{"k": first["k"], **aggregate([img[j]["border"] for img in per_image])}
            for j, first in enumerate(per_image[0])]


def jpeg_border_peers(result: dict) -> dict[str, dict]:
    """Per JPEG setting that has border figures: its row nearest in bpp to refcodec's last (all-channel) row,
    the peer of refcodec's border figures on the same images (a source's own frame line costs every codec)."""
    if not result.get("codec"):
        return {}
    bpp = result["codec"][-1]["bpp"]
    return {name: min(rows, key=lambda r: abs(r["bpp"] - bpp))
            for name, rows in result.get("jpeg", {}).items() if rows and rows[0].get("borders")}


def ordering_check(rows: list[dict]) -> dict:
    """Does each k beat k-1 in mean MS-SSIM? {"ok": bool, "steps": [{"k", "delta_ms_ssim", "better"}]}."""
    steps = []
    for prev, cur in zip(rows, rows[1:]):
        d = cur["ms_ssim"] - prev["ms_ssim"]
        steps.append({"k": cur["k"], "delta_ms_ssim": d, "better": bool(d > 0)})
    return {"ok": all(s["better"] for s in steps), "steps": steps}


def bd_rates(codec_rows: list[dict], jpeg: dict[str, list[dict]]) -> dict:
    """BD-rate of refcodec vs each JPEG setting, in MS-SSIM dB and in PSNR."""
    out = {}
    for name, rows in jpeg.items():
        out[f"jpeg{name}"] = {
            metric: bd_rate(
                [r["bpp"] for r in rows], [r[metric] for r in rows],
                [r["bpp"] for r in codec_rows], [r[metric] for r in codec_rows],
            )
            for metric in ("ms_ssim_db", "psnr")
        }
    return out


def evaluate(
    image_dir: str | Path,
    size: int = 224,
    model=None,
    decoder=None,
    limit: int | None = None,
    qualities: Sequence[int] = DEFAULT_QUALITIES,
    progress: Progress = None,
    decoder_id: str | None = None,
    trim: int = 0,
) -> dict:
    """Run the whole evaluation; returns the JSON-ready result (see docs/EVAL.md for its fields).

    model: an EncoderModel (default: refcodec.model.registry.default_model()); decoder: a Decoder (default:
    refcodec.decoder.load_decoder()); decoder_id: a name recorded in the result (e.g. the weights file name);
    trim: pixels cut off each side of every source image before the preparation (refcodec.eval.prep.trim_frame).
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidArgumentError(f"limit must be a positive integer, got {limit!r}")
    say = progress or (lambda _msg: None)
    files = list_images(image_dir)
    if limit is not None:
        files = files[:limit]
    if model is None:
        from refcodec.model.registry import default_model

        model = default_model()
    if decoder is None:
        from refcodec.decoder.pairing import decoder_for
        from refcodec.decoder.weights import find_bundled

        decoder = decoder_for(model)
        decoder_id = decoder_id or find_bundled().name

    images = []
    per_image = []
    for i, path in enumerate(files):
        rgb = load_prepared(path, size, trim)
        images.append(rgb)
        pts = codec_points(rgb, model, decoder)
        per_image.append(pts)
        last = pts[-1]
        say(f"[{i + 1}/{len(files)}] {path.name}: k=12 {last['bpp']:.3f} bpp, {last['psnr']:.2f} dB, "
            f"MS-SSIM {last['ms_ssim']:.4f}")
    codec_rows = _add_db(_mean_rows(per_image))

    jpeg = {name: _add_db(jpeg_sweep(images, qualities, name, progress=say)) for name in SUBSAMPLING}

    from PIL import __version__ as pillow_version
    from PIL import features

    return {
        "version": RESULT_VERSION,
        "dataset": str(Path(image_dir)),
        "images": [p.name for p in files],
        "size": size,
        "trim": trim,
        "model_id": model.model_id,
        "decoder_id": decoder_id,
        "entropy": _entropy_name(model),
        "codec": codec_rows,
        "jpeg": jpeg,
        "bd_rate": bd_rates(codec_rows, jpeg),
        "ordering": ordering_check(codec_rows),
        "borders": border_rows(per_image),
        "source_edge_step": source_edge_step(images),
        "per_image": {p.name: pts for p, pts in zip(files, per_image)},
        "tools": {
            "pillow": pillow_version,
            "libjpeg_turbo": features.version("libjpeg_turbo"),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "conventions": {
            "bpp": "8 * len(stream or JPEG file bytes, every header included) / (H * W), mean over images",
            "psnr": "RGB, all channels together, data range 1, mean over images",
            "ms_ssim": "pytorch_msssim conventions (win 11, sigma 1.5, 5 scales), mean over images",
            "ms_ssim_db": "-10*log10(1 - mean MS-SSIM)",
            "bd_rate": "bjontegaard package, Akima, percent (negative: fewer bits than the anchor)",
            "codec_output": "decoded float frame rounded to 8 bits before the metrics",
            "borders": "squared error (mean over RGB) per ring r = distance to the nearest frame edge, rings 0..7, "
                       "mean over images / mean interior (>= 16 px) error; edge_share: share of all squared error "
                       f"within {EDGE} px of the edge (refcodec.eval.borders)",
            "source_edge_step": "mean |outermost row - next row| / mean |next row - the one after| of the "
                                "prepared source images, four sides (~1: no frame line in the source)",
            "trim": "pixels cut off each side of every source image before the preparation",
        },
    }


def fmt_or_na(x: float | None, fmt: str) -> str:
    """x formatted, or "n/a" for a missing (None) or non-finite figure (the summary's and the report's)."""
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def fmt_percent(x: float | None, fmt: str) -> str:
    """x (already in percent) formatted with a "%", or "n/a"."""
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt) + "%"


def fmt_share(share: float | None) -> str:
    """A share in [0, 1] as a percentage with one decimal ("12.3%"), or "n/a"."""
    return fmt_percent(None if share is None else 100 * share, ".1f")


def json_safe(obj):
    """Replace NaN / +-inf floats by None (JSON has no such numbers), recursively."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def summary_lines(result: dict) -> list[str]:
    """Human-readable summary (for stderr): per-k table, ordering check, BD-rates."""
    lines = [f"{'k':>3} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8}  beats k-1"]
    steps = {s["k"]: s for s in result["ordering"]["steps"]}
    for r in result["codec"]:
        s = steps.get(r["k"])
        mark = "-" if s is None else ("yes" if s["better"] else f"NO ({s['delta_ms_ssim']:+.4f})")
        lines.append(f"{r['k']:>3} {r['bpp']:7.3f} {r['psnr']:7.2f} {r['ms_ssim']:8.4f}  {mark}")
    lines.append("ordering: " + ("every k beats k-1 in MS-SSIM" if result["ordering"]["ok"] else "FAILS"))
    for name, bd in result["bd_rate"].items():
        parts = []
        for metric in ("ms_ssim_db", "psnr"):
            v = bd[metric]["bd_rate_percent"]
            parts.append(f"{metric} {fmt_percent(v, '+.2f')}"
                         f" (overlap {bd[metric]['overlap']:.2f})")
        lines.append(f"BD-rate vs {name}: " + ", ".join(parts))
    if result.get("borders"):
        b = result["borders"][-1]
        rings = " ".join(fmt_or_na(v, ".1f") for v in b["ring_ratio"])
        lines.append(f"borders at k={b['k']}: ring 0..7 error / interior = {rings}; share of error within "
                     f"{EDGE} px of the edge {fmt_share(b['edge_share'])}")
    for name, row in jpeg_border_peers(result).items():
        jb = row["borders"]
        lines.append(f"  jpeg{name} q={row['quality']} ({row['bpp']:.3f} bpp): ring 0 "
                     f"{fmt_or_na(jb['ring_ratio'][0], '.1f')}x, within {EDGE} px {fmt_share(jb['edge_share'])}")
    step = result.get("source_edge_step")
    if step is not None and np.isfinite(step):
        lines.append(f"source edge step (outermost row vs the next, ~1 without a frame line): {step:.2f}"
                     + (f" (sources trimmed by {result['trim']} px per side)" if result.get("trim") else ""))
    return lines
