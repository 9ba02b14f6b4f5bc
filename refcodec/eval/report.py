"""Markdown tables of an evaluation result: `python -m refcodec.eval.report results/eval_kodak.json`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from refcodec.errors import InputFileError, RefcodecError
from refcodec.eval.run import fmt_or_na, fmt_percent, fmt_share, jpeg_border_peers


def _bd(entry: dict) -> str:
    """BD-rate with the share of the quality range that both curves cover."""
    return f"{fmt_percent(entry['bd_rate_percent'], '+.2f')} (overlap {100 * entry['overlap']:.0f}%)"


def _num(x: float | None, fmt: str) -> str:
    return "inf" if x is None or not math.isfinite(x) else format(x, fmt)


def markdown(result: dict) -> str:
    """The README tables: refcodec per k, BD-rates vs JPEG, the ordering check and the frame borders."""
    size = result["size"]
    lines = [
        f"refcodec on `{Path(result['dataset']).name}` ({len(result['images'])} images, {size}x{size}), "
        f"model `{result['model_id'][:16]}`; bpp counts every byte of the stream.",
        "",
        "| k | bpp | PSNR dB | MS-SSIM | MS-SSIM dB |",
        "|---|---|---|---|---|",
    ]
    for r in result["codec"]:
        lines.append(f"| {r['k']} | {r['bpp']:.3f} | {_num(r['psnr'], '.2f')} | {r['ms_ssim']:.4f} "
                     f"| {_num(r['ms_ssim_db'], '.2f')} |")
    lines += ["", "| BD-rate vs | MS-SSIM (dB) | PSNR |", "|---|---|---|"]
    for name, bd in result["bd_rate"].items():
        label = {"jpeg420": "JPEG 4:2:0", "jpeg444": "JPEG 4:4:4"}.get(name, name)
        lines.append(f"| {label} | {_bd(bd['ms_ssim_db'])} | {_bd(bd['psnr'])} |")
    order = result["ordering"]
    bad = [s["k"] for s in order["steps"] if not s["better"]]
    verdict = "yes, for every k" if order["ok"] else f"NO at k = {bad}"
    lines += ["", f"Ordering (each k beats k-1 in MS-SSIM): {verdict}"]
    lines += border_lines(result)
    return "\n".join(lines) + "\n"


def border_lines(result: dict) -> list[str]:
    """Squared error per ring (distance to the frame edge) / interior error, and the share of all squared
    error within 4 px of the edge, per k (refcodec.eval.borders); nothing for results without them."""
    rows = result.get("borders")
    if not rows:
        return []
    lines = ["", "Frame borders: squared error of ring r (r px from the nearest edge) / interior (>= 16 px), "
                 "share of all squared error within 4 px of the edge", "",
             "| k | ring 0 | ring 1 | ring 2 | ring 3 | ring 4 | ring 5 | ring 6 | ring 7 | within 4 px |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    def row(label, b: dict) -> str:
        rings = " | ".join(fmt_or_na(v, ".2f") for v in b["ring_ratio"])
        return f"| {label} | {rings} | {fmt_share(b['edge_share'])} |"

    lines += [row(r["k"], r) for r in rows]
    for name, jr in jpeg_border_peers(result).items():
        label = {"420": "JPEG 4:2:0", "444": "JPEG 4:4:4"}.get(name, name)
        lines.append(row(f"{label} q={jr['quality']} ({jr['bpp']:.3f} bpp)", jr["borders"]))
    last = rows[-1]
    lines += ["", f"At k = {last['k']}: outermost ring {fmt_or_na(last['ring_ratio'][0], '.1f')}x the interior, "
                  f"{fmt_share(last['edge_share'])} of the squared error within 4 px of the edge."]
    step = result.get("source_edge_step")
    if step is not None and math.isfinite(step):
        trim = result.get("trim") or 0
        lines += ["", f"Source images{f' (trimmed by {trim} px per side)' if trim else ''}: the outermost pixel row "
                      f"differs from the next {step:.2f}x as much as that row from the one after (about 1 when the "
                      "source has no frame line of its own; refcodec.eval.borders.source_edge_step)."]
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m refcodec.eval.report RESULT.json", file=sys.stderr)
        return 2
    try:
        try:
            result = json.loads(Path(argv[0]).read_text())
        except (OSError, ValueError) as exc:
            raise InputFileError(f"cannot read result {argv[0]!r}: {exc}") from None
        try:
            sys.stdout.write(markdown(result))
        except (KeyError, TypeError) as exc:
            raise InputFileError(f"not an eval result {argv[0]!r}: missing {exc}") from None
    except RefcodecError as exc:
        print(f"refcodec: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
