"""`refcodec export`: the model in the forms a firmware toolchain eats (C header, .tflite)."""

from __future__ import annotations

import click

from refcodec.cli.options import model_option, parse_size


@click.group("export")
def export() -> None:
    """Export the encoder model for firmware (C header, .tflite)."""


@export.command("c-header")
@model_option
@click.option("-o", "--output", "output", required=True, metavar="FILE", help="Header to write (e.g. model.h).")
@click.option("--ref-size", "ref_size", default="224x224", show_default=True,
              help="WxH at which the per-layer padding and output sizes are written out.")
def c_header(model_path: str | None, output: str, ref_size: str) -> None:
    """Write CMSIS-NN-ready C constants: OHWI int8 weights, int32 biases, per-channel multipliers and shifts,
    offsets, dims, padding, activation bounds, the latent quantizer and the entropy tables."""
    from refcodec.firmware.c_header import export_c_header
    from refcodec.model.registry import resolve_model

    w, h = parse_size(ref_size)
    model = resolve_model(model_path)
    export_c_header(model, output, (h, w))
    click.echo(f"wrote {output} (model {model.model_id[:16]})", err=True)


@export.command("tflite")
@model_option
@click.option("-o", "--output", "output", required=True, metavar="FILE", help=".tflite file to write.")
@click.option("--size", "size", default="224x224", show_default=True,
              help="Frame size WxH (any size); the graph's input is the frame padded to multiples of 8.")
def tflite_cmd(model_path: str | None, output: str, size: str) -> None:
    """Write the encoder as a .tflite flatbuffer (int8 CONV_2D x 3, SAME padding) that TFLite Micro runs.
    The graph's input is the PADDED frame: WxH rounded up to multiples of 8 (spec section 3.1). For a frame whose
    sides are not multiples of 8 the firmware must replicate the last row and column up to that size, and
    subtract 128, before invoking it (the file's description says so too). The rounding mode is a build flag of
    the interpreter, not part of the file."""
    from refcodec.io_utils import atomic_write
    from refcodec.model.registry import resolve_model
    from refcodec.tflite import frame_model_bytes

    w, h = parse_size(size)
    model = resolve_model(model_path)
    data, (ph, pw) = frame_model_bytes(model, h, w)
    atomic_write(output, data)
    if model.rounding != "double":
        click.echo(f"note: model {model.model_id[:16]} uses {model.rounding} rounding; build TFLM with "
                   "TFLITE_SINGLE_ROUNDING to match it", err=True)
    if (ph, pw) != (h, w):
        click.echo(f"note: the graph's input is {pw}x{ph}, the {w}x{h} frame padded to multiples of 8: the firmware "
                   f"must replicate the frame's last row and column up to {pw}x{ph} (spec section 3.1), then "
                   "subtract 128, before invoking it", err=True)
    click.echo(f"wrote {output} (model {model.model_id[:16]}, input {pw}x{ph} for {w}x{h} frames)", err=True)
