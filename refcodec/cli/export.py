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
