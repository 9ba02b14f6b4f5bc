"""`refcodec verify INPUT [FIRMWARE_STREAM] [--layers DIR] [--json]`: does the firmware produce the reference bytes?"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from refcodec.cli.options import model_option, parse_size
from refcodec.errors import InputFileError, InvalidArgumentError, VerificationFailure


@click.command("verify")
@click.argument("input_path", metavar="INPUT")
@click.argument("stream_path", metavar="[FIRMWARE_STREAM]", required=False)
@click.option("--layers", "layers_dir", default=None, metavar="DIR",
              help="Folder of the firmware's raw layer dumps (input.bin conv1.bin conv2.bin latent.bin symbols.bin, "
                   "or frame_NNNN/ folders of them; see vectors/README.md).")
@model_option
@click.option("--size", "size", default=None, metavar="WxH", help="Frame size of a raw .rgb INPUT.")
@click.option("--channels", "channels", default=None, metavar="K|K0,K1,...",
              help="Channels the firmware must send per frame, or one k per frame (default: each packet's own k).")
@click.option("--entropy", "entropy", type=click.Choice(["raw", "huffman", "ctx", "inter"]), default=None,
              help="Entropy mode the firmware must use (default: the stream's own).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--keyframe-interval", "keyframe_interval", type=click.IntRange(min=1), default=None, metavar="N",
              help="Inter streams (spec 6.7): the keyframe interval the firmware was given (default 30).")
def verify_cmd(input_path: str, stream_path: str | None, layers_dir: str | None, model_path: str | None,
               size: str | None, channels: str | None, entropy: str | None, keyframe_interval: int | None,
               as_json: bool) -> None:
    """Compare a firmware's stream and/or layer dumps for INPUT (image, folder of images, or raw .rgb with --size)
    with the reference. Prints PASS, or FAIL with the first mismatch, mismatch counts per layer and a diagnosis;
    exits non-zero on FAIL."""
    from refcodec.model.registry import resolve_model
    from refcodec.verify.core import verify
    from refcodec.verify.inputs import read_frames

    frames = read_frames(input_path, parse_size(size) if size else None)
    stream = None
    if stream_path is not None:
        try:
            stream = Path(stream_path).read_bytes()
        except OSError as e:
            raise InputFileError(f"cannot read firmware stream '{stream_path}': {e.strerror or e}") from None
    ks = None
    if channels is not None:
        try:
            ks = [int(k) for k in channels.split(",")]
        except ValueError:
            raise InvalidArgumentError(f'invalid --channels "{channels}", expected K or K0,K1,...') from None
    report = verify(resolve_model(model_path), frames, stream, layers_dir,
                    ks if ks is None or "," in channels else ks[0], entropy, keyframe_interval)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        click.echo(report.text())
    if not report.passed:
        sys.exit(VerificationFailure.exit_code)
