"""`refcodec decode`: .mcuc stream -> .png / folder of PNGs / .y4m / .mp4 (by the output's extension)."""

from __future__ import annotations

import json

import click

from refcodec.cli.options import model_option
from refcodec.cli.stream_common import Progress, read_stream_file


@click.command("decode")
@click.argument("input_path", metavar="IN.mcuc")
@click.option("-o", "--output", "output", required=True, metavar="OUT",
              help="OUT.png (one frame), a folder (PNGs), OUT.y4m or OUT.mp4/.avi.")
@model_option
@click.option("--decoder", "decoder_path", default=None, metavar="W", help="Decoder weights (default: bundled).")
@click.option("--keep-going", "keep_going", is_flag=True,
              help="Skip corrupt packets (resync on the packet marker) and report the lost frames.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def decode(input_path: str, output: str, model_path: str | None, decoder_path: str | None, keep_going: bool,
           as_json: bool) -> None:
    """Decode IN.mcuc to pictures."""
    from refcodec.codec import decode_symbols, latent_from_symbols
    from refcodec.decoder import load_decoder
    from refcodec.media import output_kind, write_frames
    from refcodec.model.registry import resolve_model

    output_kind(output)  # reject an unsupported output before any work
    data = read_stream_file(input_path)
    model = resolve_model(model_path)
    ds = decode_symbols(data, model, keep_going=keep_going)
    decoder = load_decoder(decoder_path)
    h, w = ds.header.height, ds.header.width
    progress = Progress(len(ds.symbols), "decoding", enabled=len(ds.symbols) > 1)

    def frames():
        # all cores, in order, large frames in tiles, uint8 frames streamed to the writer (refcodec.decoder.pipeline)
        from refcodec.decoder.pipeline import decode_frames

        latents = (latent_from_symbols(sym, k, model) for sym, k in zip(ds.symbols, ds.channels_present))
        for frame in decode_frames(decoder, latents, (h, w)):
            yield frame
            progress(1)

    try:
        n = write_frames(output, frames(), ds.header.rate, len(ds.symbols))
    finally:
        progress.close()
    for line in ds.errors:
        click.echo(f"refcodec: warning: {line}", err=True)
    if ds.lost:
        click.echo(f"refcodec: warning: lost frames {ds.lost}", err=True)
    summary = {"input": input_path, "output": output, "frames": n, "width": w, "height": h,
               "lost": ds.lost, "errors": ds.errors}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"wrote {output}: {n} frame(s) {w}x{h}", err=True)
