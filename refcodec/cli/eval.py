"""`refcodec eval`: refcodec at k = 1..12 channels against JPEG on a folder of images (JSON, RD plot)."""

from __future__ import annotations

import json

import click

from refcodec.cli.options import model_option


@click.command("eval")
@click.argument("inputs", metavar="DIR | CLIP...", nargs=-1, required=True, type=click.Path())
@click.option("--size", default=None, metavar="SIZE|WxH",
              help="Images: shorter side resized to SIZE (161..4096, default 224; bilinear, antialiased), then centre "
              "crop SIZE x SIZE. Video (a clip or a folder of clips): frames resized to WxH (default 320x240).")
@click.option("--trim", default=0, show_default=True, type=click.IntRange(0, None), metavar="N",
              help="Images: cut N pixels off each side of every source image before the resize (4 removes the "
              "scanner frame of the Kodak images, docs/EVAL.md); 0 is the paper's protocol.")
@click.option("--frames", "n_frames", default=60, show_default=True, type=click.IntRange(2, None),
              help="Video: the first N frames of each clip.")
@click.option("--keyframe-interval", "keyframe_interval", default=30, show_default=True,
              type=click.IntRange(1, None), help="Video: keyframe interval of the inter streams.")
@click.option("--json", "json_out", default=None, metavar="OUT", help="Write the JSON result here (else to stdout).")
@click.option("--plot", "plot_out", default=None, metavar="OUT.png", help="Write the RD plot (PNG) here.")
@model_option
@click.option("--decoder", "decoder_path", default=None, metavar="D",
              help="Decoder weights (.npz); default: the bundled decoder.")
@click.option("--limit", default=None, type=click.IntRange(1, None), metavar="N", help="Use the first N images only.")
@click.option("--qualities", default=None, metavar="Q1,Q2,...",
              help="JPEG qualities of the anchor sweep (default: 2,5,8,10,15,20,25,30,40,50,60,70,80,90).")
def eval_cmd(inputs, size, trim, n_frames, keyframe_interval, json_out, plot_out, model_path, decoder_path, limit,
             qualities) -> None:
    """Evaluate refcodec at every channel prefix against JPEG 4:2:0 and 4:4:4 on the images in DIR; on a video
    clip or a folder of clips, intra against inter streams, M-JPEG and x264 (refcodec.eval.video).

    Progress and a summary go to stderr; the JSON result to stdout (or --json OUT).
    """
    from refcodec.eval.video import is_video_input

    if all(is_video_input(p) for p in inputs):
        if trim:
            from refcodec.errors import InvalidArgumentError

            raise InvalidArgumentError("--trim applies to image folders, not to video")
        return _eval_video(inputs, size or "320x240", n_frames, keyframe_interval, json_out, plot_out,
                           model_path, decoder_path)
    try:
        size = 224 if size is None else int(size)
    except ValueError:
        from refcodec.errors import InvalidArgumentError

        raise InvalidArgumentError(f'invalid --size "{size}" for images: an integer in [161, 4096]') from None
    if not 161 <= size <= 4096:
        from refcodec.errors import InvalidArgumentError

        raise InvalidArgumentError(f"--size {size} outside [161, 4096]")
    if len(inputs) != 1:
        from refcodec.errors import InvalidArgumentError

        raise InvalidArgumentError(f"image evaluation takes one folder, got {len(inputs)} paths")
    image_dir = inputs[0]
    from refcodec.errors import InvalidArgumentError
    from refcodec.eval.jpeg import DEFAULT_QUALITIES
    from refcodec.eval.prep import list_images
    from refcodec.eval.run import evaluate, json_safe, summary_lines
    from refcodec.model.registry import resolve_model

    if qualities is None:
        qs = DEFAULT_QUALITIES
    else:
        try:
            qs = tuple(int(q) for q in qualities.split(","))
        except ValueError:
            raise InvalidArgumentError(
                f'invalid --qualities "{qualities}", expected integers such as 10,50,90') from None
        if len(qs) < 2 or not all(1 <= q <= 100 for q in qs):
            raise InvalidArgumentError(f'invalid --qualities "{qualities}": need >= 2 values in [1, 100]')
    list_images(image_dir)  # fail early on a bad folder, before loading models
    model = resolve_model(model_path)
    from pathlib import Path

    from refcodec.decoder.pairing import decoder_for
    from refcodec.decoder.weights import find_bundled

    decoder = decoder_for(model, decoder_path, warn=lambda m: click.echo(f"refcodec: warning: {m}", err=True))
    decoder_id = Path(decoder_path).name if decoder_path else find_bundled().name

    def progress(msg: str) -> None:
        click.echo(msg, err=True)

    result = json_safe(evaluate(image_dir, size=size, model=model, decoder=decoder, limit=limit,
                                qualities=qs, progress=progress, decoder_id=decoder_id, trim=trim))
    from refcodec.eval.plot import plot_rd

    _write_results(result, summary_lines(result), json_out, plot_out, plot_rd)


def _eval_video(path, size, n_frames, keyframe_interval, json_out, plot_out, model_path, decoder_path) -> None:
    from refcodec.cli.options import parse_size
    from refcodec.decoder.pairing import decoder_for
    from refcodec.eval.run import json_safe
    from refcodec.eval.video import evaluate_video, video_summary_lines
    from refcodec.model.registry import resolve_model

    wh = parse_size(size)
    model = resolve_model(model_path)
    decoder = decoder_for(model, decoder_path, warn=lambda m: click.echo(f"refcodec: warning: {m}", err=True))
    result = json_safe(evaluate_video(path, n_frames, wh, model, decoder, keyframe_interval,
                                      progress=lambda m: click.echo(m, err=True)))
    from refcodec.eval.plot import plot_video_rd

    _write_results(result, video_summary_lines(result), json_out, plot_out, plot_video_rd)


def _write_results(result: dict, summary: list[str], json_out, plot_out, plot) -> None:
    """The summary on stderr, the JSON to json_out (atomically) or stdout, and the RD plot to plot_out."""
    from refcodec.io_utils import atomic_write

    for line in summary:
        click.echo(line, err=True)
    text = json.dumps(result, indent=1, allow_nan=False) + "\n"
    if json_out:
        atomic_write(json_out, text.encode())
        click.echo(f"wrote {json_out}", err=True)
    else:
        click.echo(text, nl=False)
    if plot_out:
        plot(result, plot_out)
        click.echo(f"wrote {plot_out}", err=True)
