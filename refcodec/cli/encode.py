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


LAYER_NAMES = ("input", "conv1", "conv2", "latent")


def check_dump_dir(folder: Path, force: bool) -> None:
    """Before any work: the --dump-layers target can be written (exit 8 otherwise)."""
    from refcodec.errors import OutputFileError
    from refcodec.io_utils import check_writable

    if folder.exists() and not folder.is_dir():
        raise InvalidArgumentError(f"--dump-layers target '{folder}' is not a folder")
    if folder.is_dir():
        old = [n for n in LAYER_NAMES if (folder / f"{n}.npy").exists()]
        if old and not force:
            raise OutputFileError(f"--dump-layers folder '{folder}' already holds {old[0]}.npy; use --force")
        check_writable(folder / "input.npy")
    else:
        check_writable(folder)


def dump_layers(model, rgb: np.ndarray, folder: Path) -> list[str]:
    """Write input/conv1/conv2/latent int8 NHWC .npy tensors of one (padded) frame into `folder`: a new folder
    is written as a temporary folder and renamed; into an existing one, each file is written atomically."""
    import contextlib

    from refcodec.io_utils import atomic_dir, atomic_path
    from refcodec.model.encoder import pad_to_multiple, run_encoder

    if folder.exists() and not folder.is_dir():
        raise InvalidArgumentError(f"--dump-layers target '{folder}' is not a folder")
    tensors = run_encoder(model, pad_to_multiple(rgb, 8))
    with (contextlib.nullcontext(folder) if folder.is_dir() else atomic_dir(folder)) as target:
        for name, arr in tensors.items():
            with atomic_path(target / f"{name}.npy") as tmp:
                np.save(tmp, arr, allow_pickle=False)
    return [str(folder / f"{name}.npy") for name in tensors]


@click.command("encode")
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", "output", default=None, metavar="OUT.mcuc", help="Stream to write (- for stdout).")
@click.option("--channels", "channels", type=int, default=None, metavar="K",
              help="Latent channels sent per frame, 0..12 (default: all).")
@model_option
@click.option("--size", "size", default=None, metavar="WxH",
              help="Resize each frame first (cover + centre crop, bilinear antialiased; 224x224 = paper protocol).")
@click.option("--frames", "frames", type=int, default=None, metavar="N", help="Encode only the first N frames.")
@click.option("--entropy", "entropy", type=click.Choice(["auto", "inter", "ctx", "huffman", "raw"]), default="auto",
              show_default=True, help="inter: context Huffman + inter frames coded against the previous frame "
              "(entropy_mode 4, spec §6.7), ctx: context Huffman (2), huffman: per-channel Huffman (1), "
              "raw (0); auto: ctx when the model has context tables, else huffman when it has tables, else raw.")
@click.option("--keyframe-interval", "-i", "keyframe_interval", type=click.IntRange(min=1), default=30,
              show_default=True, metavar="N", help="With --entropy inter: frames 0, N, 2N, ... are keyframes.")
@click.option("--fps", "fps", default=None, metavar="N[/D]",
              help="Frame rate to store (default: a video's or .y4m's; none for an image or a folder of images).")
@click.option("--max-bytes", "max_bytes", type=int, default=None, metavar="N",
              help="Budget: each frame's packet at most N bytes (the most channels that fit, as truncate "
              "--frame-bytes).")
@click.option("--bpp", "bpp", type=float, default=None, metavar="B",
              help="Budget: the whole stream at most B bits per pixel (header included), met per frame by "
              "dropping trailing channels.")
@click.option("--dump-layers", "dump_dir", default=None, metavar="DIR",
              help="Also write the int8 tensors (input, conv1, conv2, latent; NHWC .npy) of the first frame.")
@click.option("--force", "force", is_flag=True, help="Overwrite an existing output (default: refuse).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def encode(input_path: str, output: str | None, channels: int | None, model_path: str | None, size: str | None,
           frames: int | None, entropy: str, keyframe_interval: int, fps: str | None, max_bytes: int | None, bpp: float | None,
           dump_dir: str | None, force: bool, as_json: bool) -> None:
    """Encode IN (image, folder of images, .y4m, .mp4/.avi, or - for a Y4M stream or an image on stdin) into
    an .mcuc stream."""
    from refcodec.cli.outputs import check_output, write_stream
    from refcodec.codec import encode_frames
    from refcodec.media import open_media, resize_frame
    from refcodec.model.registry import resolve_model

    def note(msg: str, what: str = "note") -> None:
        click.echo(f"refcodec: {what}: {msg}", err=True)

    if output is None and dump_dir is None:
        raise InvalidArgumentError("encode needs -o OUT.mcuc (or --dump-layers DIR)")
    if output == "-" and as_json:
        raise InvalidArgumentError("--json prints on stdout, which -o - already uses")
    if max_bytes is not None and bpp is not None:
        raise InvalidArgumentError("give --max-bytes or --bpp, not both")
    if bpp is not None and not (bpp > 0 and np.isfinite(bpp)):
        raise InvalidArgumentError(f"--bpp {bpp} must be a positive number")
    if max_bytes is not None and max_bytes < 8:
        raise InvalidArgumentError(f"--max-bytes {max_bytes}: a frame packet needs at least 8 bytes")
    wh = parse_size(size) if size else None
    rate_arg = parse_fps(fps) if fps else None
    if output is not None:
        check_output(output, [input_path], force, "stream")
    if dump_dir is not None:
        check_dump_dir(Path(dump_dir), force)
    model = resolve_model(model_path)
    k = model.channels if channels is None else channels
    if not 0 <= k <= model.channels:
        raise InvalidArgumentError(f"--channels {k} outside [0, {model.channels}]")
    src = open_media(input_path, max_frames=1 if output is None else frames, fps=rate_arg)
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
        if input_path == "-":
            raise InvalidArgumentError("--dump-layers with -o needs a file input (stdin is read once)")
        src = open_media(input_path, max_frames=frames, fps=rate_arg)

    progress = Progress(src.n_frames, "encoding", enabled=src.kind in ("video", "y4m", "folder"))
    try:
        data = encode_frames(src.frames, model, channels=k, fps=src.fps, size=wh, entropy=entropy,
                             progress=progress, keyframe_interval=keyframe_interval)
    finally:
        progress.close()
    for line in src.notes:
        note(line, "warning" if "cut or damaged" in line else "note")
    from refcodec.bitstream import StreamHeader
    from refcodec.bitstream.format import ENTROPY_NAMES

    h = StreamHeader.unpack(data)
    n_frames = h.frame_count or 1  # the encoder leaves frame_count out of a one-frame stream only
    pixels = h.width * h.height * n_frames
    if max_bytes is not None or bpp is not None:
        from refcodec.codec import truncate_stream
        from refcodec.bitstream import parse_stream

        if bpp is not None:
            # sum(packets) + header <= n * (floor(B W H / 8) - ceil(header / n)) + header <= B W H n / 8
            budget = int(bpp * h.width * h.height // 8) - (-(-h.size // n_frames))
            if budget < 8:
                raise InvalidArgumentError(
                    f"--bpp {bpp} leaves {budget} bytes per {h.width}x{h.height} frame after the {h.size}-byte "
                    "header; a frame packet needs at least 8")
        else:
            budget = max_bytes
        data = truncate_stream(data, frame_budget_bytes=budget)
        ks = [p.k for p in parse_stream(data).packets]
        summary["budget_bytes_per_frame"] = budget
        summary["k_per_frame"] = ks
        empty = sum(1 for x in ks if x == 0)
        if empty:
            note(f"{empty} of {len(ks)} frames keep no channel within {budget} bytes per frame (they decode "
                 "to a flat picture)", "warning")
    write_stream(output, data)
    summary.update({"output": output, "frames": n_frames, "width": h.width, "height": h.height,
                    "channels": k, "entropy": ENTROPY_NAMES[h.entropy_mode], "bytes": len(data),
                    "bpp": round(8 * len(data) / pixels, 5),
                    "fps": [h.fps_num, h.fps_den] if h.has_timing else None})
    if src.names is not None:
        summary["files"] = src.names  # frame i was this file: `decode --names` can name PNGs after them
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"wrote {output}: {n_frames} frame(s) {h.width}x{h.height}, k={k}, {len(data)} bytes, "
                   f"{summary['bpp']} bpp", err=True)
