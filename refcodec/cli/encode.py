"""`refcodec encode`: image / folder / .y4m / video -> .mcuc stream (and --dump-layers)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from refcodec.cli.options import model_option, parse_size
from refcodec.cli.stream_common import Progress
from refcodec.errors import InvalidArgumentError


def parse_fps(text: str) -> tuple[int, int]:
    """'30', '30000/1001' or '12.5' -> (num, den)."""
    from fractions import Fraction

    try:
        f = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise InvalidArgumentError(f'invalid frame rate "{text}", expected N or N/D') from None
    if f <= 0 or f.numerator >= 2**32 or f.denominator >= 2**32:
        raise InvalidArgumentError(f'frame rate "{text}" must be positive and fit u32/u32')
    return f.numerator, f.denominator


def dump_layers(model, rgb: np.ndarray, folder: Path) -> list[str]:
    """Write input/conv1/conv2/latent int8 NHWC .npy tensors of one (padded) frame into `folder`."""
    from refcodec.io_utils import atomic_path
    from refcodec.model.encoder import pad_to_multiple, run_encoder

    if folder.exists() and not folder.is_dir():
        raise InvalidArgumentError(f"--dump-layers target '{folder}' is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, arr in run_encoder(model, pad_to_multiple(rgb, 8)).items():
        with atomic_path(folder / f"{name}.npy") as tmp:
            np.save(tmp, arr, allow_pickle=False)
        written.append(str(folder / f"{name}.npy"))
    return written


@click.command("encode")
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", "output", default=None, metavar="OUT.mcuc", help="Stream to write.")
@click.option("--channels", "channels", type=int, default=None, metavar="K",
              help="Latent channels sent per frame, 0..12 (default: all).")
@model_option
@click.option("--size", "size", default=None, metavar="WxH",
              help="Resize each frame first (cover + centre crop, bilinear antialiased; 224x224 = paper protocol).")
@click.option("--frames", "frames", type=int, default=None, metavar="N", help="Encode only the first N frames.")
@click.option("--entropy", "entropy", type=click.Choice(["auto", "ctx", "huffman", "raw"]), default="auto",
              show_default=True, help="ctx: context Huffman (entropy_mode 2), huffman: per-channel Huffman (1), "
              "raw (0); auto: ctx when the model has context tables, else huffman when it has tables, else raw.")
@click.option("--fps", "fps", default=None, metavar="N[/D]",
              help="Frame rate to store (default: the input's; none for a single image).")
@click.option("--dump-layers", "dump_dir", default=None, metavar="DIR",
              help="Also write the int8 tensors (input, conv1, conv2, latent; NHWC .npy) of the first frame.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def encode(input_path: str, output: str | None, channels: int | None, model_path: str | None, size: str | None,
           frames: int | None, entropy: str, fps: str | None, dump_dir: str | None, as_json: bool) -> None:
    """Encode IN (image, folder of images, .y4m, .mp4/.avi) into an .mcuc stream."""
    from refcodec.codec import encode_frames
    from refcodec.io_utils import atomic_write
    from refcodec.media import open_media, resize_frame
    from refcodec.model.registry import resolve_model

    if output is None and dump_dir is None:
        raise InvalidArgumentError("encode needs -o OUT.mcuc (or --dump-layers DIR)")
    wh = parse_size(size) if size else None
    model = resolve_model(model_path)
    k = model.channels if channels is None else channels
    if not 0 <= k <= model.channels:
        raise InvalidArgumentError(f"--channels {k} outside [0, {model.channels}]")
    src = open_media(input_path, max_frames=1 if output is None else frames,
                     fps=parse_fps(fps) if fps else None)
    summary: dict = {"input": input_path, "model_id": model.model_id}

    if dump_dir is not None:
        first = next(iter(src.frames), None)
        if first is None:
            raise InvalidArgumentError(f"'{input_path}' holds no frame")
        if wh is not None:
            first = resize_frame(first, wh)
        summary["dumped"] = dump_layers(model, first, Path(dump_dir))
        if output is None:
            click.echo(json.dumps(summary, indent=1) if as_json else f"wrote {len(summary['dumped'])} tensors to {dump_dir}")
            return
        src = open_media(input_path, max_frames=frames, fps=parse_fps(fps) if fps else None)

    progress = Progress(src.n_frames, "encoding", enabled=src.kind in ("video", "y4m", "folder"))
    try:
        rate = None if src.kind == "image" and not fps else src.fps  # a still image: no timing field (spec §7.1)
        data = encode_frames(src.frames, model, channels=k, fps=rate, size=wh, entropy=entropy, progress=progress)
    finally:
        progress.close()
    atomic_write(output, data)
    from refcodec.bitstream import StreamHeader
    from refcodec.bitstream.format import ENTROPY_NAMES

    h = StreamHeader.unpack(data)
    n_frames = h.frame_count or 1  # the encoder leaves frame_count out of a one-frame stream only
    pixels = h.width * h.height * n_frames
    summary.update({"output": output, "frames": n_frames, "width": h.width, "height": h.height,
                    "channels": k, "entropy": ENTROPY_NAMES[h.entropy_mode], "bytes": len(data),
                    "bpp": round(8 * len(data) / pixels, 5)})
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"wrote {output}: {n_frames} frame(s) {h.width}x{h.height}, k={k}, {len(data)} bytes, "
                   f"{summary['bpp']} bpp", err=True)
