"""`refcodec decode`: .mcuc stream -> .png / folder of PNGs / .y4m / .mp4 (by the output's extension)."""

from __future__ import annotations

import json

import click

from refcodec.cli.options import model_option
from refcodec.cli.stream_common import Progress, read_stream_file


@click.command("decode")
@click.argument("input_path", metavar="IN.mcuc")
@click.option("-o", "--output", "output", required=True, metavar="OUT",
              help="OUT.png (one frame), a folder (PNGs), OUT.y4m, OUT.mp4/.mkv/.mov/.avi, or - (Y4M on stdout).")
@model_option
@click.option("--decoder", "decoder_path", default=None, metavar="W",
              help="Decoder weights trained for the stream's model (default: bundled, for the bundled model).")
@click.option("--any-decoder", "any_decoder", is_flag=True,
              help="Decode even with a decoder trained for another encoder model (wrong pictures; a preview).")
@click.option("--channels", "channels", type=int, default=None, metavar="K",
              help="Use only the first K channels of each frame: a preview of level K without `truncate`.")
@click.option("--keep-going", "keep_going", is_flag=True,
              help="Skip corrupt packets (resync on the packet marker), report the lost frames, and keep their "
              "slots in the timeline by repeating the last decoded frame.")
@click.option("--names", "names_from", default=None, metavar="SRC",
              help="Folder output: name the PNGs after SRC's files (the folder given to encode, same order) or "
              "after the lines of a text file (default frame_NNNNNN.png).")
@click.option("--crf", "crf", type=click.IntRange(0, 51), default=18, show_default=True,
              help="x264 quality of .mp4/.mkv/.mov output (0 lossless .. 51 worst).")
@click.option("--force", "force", is_flag=True, help="Overwrite an existing output (default: refuse).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def decode(input_path: str, output: str, model_path: str | None, decoder_path: str | None, any_decoder: bool,
           channels: int | None, keep_going: bool, names_from: str | None, crf: int, force: bool,
           as_json: bool) -> None:
    """Decode IN.mcuc ("-": stdin) to pictures."""
    from refcodec.cli.outputs import check_output
    from refcodec.bitstream.lost import format_lost
    from refcodec.codec import decode_symbols, latent_from_symbols
    from refcodec.decoder.pairing import decoder_for
    from refcodec.errors import BitstreamError, InvalidArgumentError
    from refcodec.media import output_kind, write_frames
    from refcodec.media.writer import stored_size
    from refcodec.model.registry import resolve_model
    from refcodec.recovery import timeline

    def warn(msg: str) -> None:
        click.echo(f"refcodec: warning: {msg}", err=True)

    check_output(output, [input_path], force, "pictures")  # before any work (refcodec.cli.outputs)
    kind = output_kind(output)
    if as_json and kind == "stdout":
        raise InvalidArgumentError("--json prints on stdout, which -o - already uses")
    if names_from is not None and kind != "folder":
        raise InvalidArgumentError("--names applies to a folder output only")
    if channels is not None and channels < 0:
        raise InvalidArgumentError(f"--channels {channels} must be >= 0")
    data = read_stream_file(input_path)
    model = resolve_model(model_path)
    ds = decode_symbols(data, model, keep_going=keep_going)
    tl = timeline(ds.frame_indices, ds.lost, ds.header.frame_count)
    if not tl.source and not ds.lost and not ds.errors:  # spec §7.1: a valid stream of 0 packets
        raise InvalidArgumentError(f"the stream holds no frame (a valid stream of 0 packets): nothing written to "
                                   f"'{output}'")
    if not tl.source:
        raise BitstreamError(f"no frame of the stream could be decoded (lost frames {format_lost(ds.lost)}): "
                             + (ds.errors[0] if ds.errors else "the stream holds no packet"))
    if not tl.filled:
        warn(f"{len(ds.lost)} lost frames are far more than the {len(ds.symbols)} decoded: gaps not filled")
    n_out = len(tl.source)
    if kind == "png" and n_out != 1:
        raise InvalidArgumentError(
            f"'{output}' is a single PNG but the stream has {n_out} frames; give a folder, .y4m or .mp4")
    names = _names(names_from, n_out) if names_from is not None else None
    decoder = decoder_for(model, decoder_path, any_decoder=any_decoder, warn=warn)
    h, w = ds.header.height, ds.header.width
    progress = Progress(n_out, "decoding", enabled=n_out > 1)

    def frames():
        # all cores, in order, large frames in tiles, uint8 frames streamed to the writer
        # (refcodec.decoder.pipeline); a lost frame's slot repeats the last decoded one (refcodec.recovery)
        from refcodec.decoder.pipeline import decode_frames

        def k_of(i: int) -> int:
            return ds.channels_present[i] if channels is None else min(channels, ds.channels_present[i])

        latents = (latent_from_symbols(ds.symbols[i], k_of(i), model) for i in range(len(ds.symbols)))
        decoded = iter(decode_frames(decoder, latents, (h, w)))
        current, current_i = None, -1
        for src in tl.source:  # non-decreasing: each decoded frame is taken once, in order
            while current_i < src:
                current, current_i = next(decoded), current_i + 1
            yield current
            progress(1)

    try:
        rate = ds.header.rate if ds.header.has_timing else None
        n = write_frames(output, frames(), rate, n_out, names=names, crf=crf, replace=force)
    finally:
        progress.close()
    for line in ds.errors:
        warn(line)
    if ds.lost:
        warn(f"lost frames {format_lost(ds.lost)}" + (f"; repeated the last decoded frame in slots {tl.repeated}"
                                         if tl.repeated else ""))
    sw, sh = stored_size(w, h, kind)
    if (sw, sh) != (w, h):
        warn(f"{output} stores {sw}x{sh}: 4:2:0 video needs even sides, the last column/row is repeated "
             f"(decode to .png, a folder or .y4m for exactly {w}x{h})")
    summary = {"input": input_path, "output": output, "frames": n, "width": w, "height": h,
               "stored_width": sw, "stored_height": sh,
               "channels_used": channels, "lost": ds.lost, "repeated": tl.repeated, "errors": ds.errors}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"wrote {output}: {n} frame(s) {w}x{h}", err=True)


def _names(src: str, n: int) -> list[str]:
    """PNG names for a folder output: the image files of folder `src` (sorted, as encode reads them) with
    the suffix .png, or the lines of text file `src`; exactly n, distinct, plain names."""
    from pathlib import Path

    from refcodec.errors import InputFileError, InvalidArgumentError
    from refcodec.media.reader import list_images

    p = Path(src)
    if p.is_dir():
        names = [q.stem + ".png" for q in list_images(p)]
    elif p.is_file():
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"cannot read names from '{src}': {exc}") from None
        names = [ln.strip() for ln in lines if ln.strip()]
        names = [nm if nm.lower().endswith(".png") else nm + ".png" for nm in names]
    else:
        raise InputFileError(f"--names: no such folder or file '{src}'")
    bad = next((nm for nm in names if "/" in nm or "\\" in nm or nm.startswith(".")), None)
    if bad is not None:
        raise InvalidArgumentError(f"--names: '{bad}' is not a plain file name")
    if len(set(names)) != len(names):
        dup = next(nm for nm in names if names.count(nm) > 1)
        raise InvalidArgumentError(f"--names: two frames would both be named '{dup}'")
    if len(names) != n:
        raise InvalidArgumentError(f"--names '{src}' gives {len(names)} names for {n} frames")
    return names
