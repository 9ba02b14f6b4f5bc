"""`refcodec plan`: tensor sizes and the arena of layer-by-layer execution, and of the line-buffered firmware."""

from __future__ import annotations

import json

import click

from refcodec.cli.options import model_option, parse_size
from refcodec.model.plan import line_plan, memory_plan


@click.command()
@model_option
@click.option("--size", "size", default="224x224", show_default=True, help="Source frame size WxH (padded to "
              "multiples of 8 as the encoder does, spec 3.1).")
@click.option("--schedule", type=click.Choice(["layer", "line"]), default="layer", show_default=True,
              help="layer: whole tensors, layer by layer (TFLM-style); line: the line-buffered firmware library "
                   "(firmware/, its rc_plan), printed next to the layer-by-layer figure.")
@click.option("--channels", "channels", type=int, default=None,
              help="Line schedule: the most channels a packet sends (rc_plan's max_channels). Default: the model's C.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(model_path: str | None, size: str, schedule: str, channels: int | None, as_json: bool) -> None:
    """Print every tensor's size and the peak arena of layer-by-layer execution, or (--schedule line) the arena of
    the line-buffered firmware library, term by term."""
    from refcodec.model.registry import resolve_model

    w, h = parse_size(size)
    model = resolve_model(model_path)  # validates the model file; the plan depends on the topology and bits
    p = memory_plan(h, w)
    if schedule == "line":
        lp = line_plan(h, w, model.channels if channels is None else channels, int(model.latent_quantizer.bits))
        # inter streams (spec §6.7): rc_plan_inter = rc_plan + the previous frame's packed symbols (the same term as
        # the frame's own), and the model's frequency and cumulative tables in flash (rc_model.h: 2 x u16 each).
        inter_ref = lp.symbol_bytes
        inter_table = 2 * int(model.entropy.inter_freqs.nbytes) if model.has_inter_tables else 0
        if as_json:
            d = lp.to_json()
            d["inter_reference_bytes"] = inter_ref
            d["inter_table_flash_bytes"] = inter_table
            d["model_id"] = model.model_id
            d["schedule"] = "line"
            d["layer_by_layer_peak_arena_bytes"] = p.peak_arena_bytes
            d["layer_by_layer_peak_with_scratch_bytes"] = p.peak_with_scratch_bytes
            click.echo(json.dumps(d, indent=1))
            return
        click.echo(f"model {model.model_id[:16]}  input {w}x{h} (padded {lp.padded_width}x{lp.padded_height})  "
                   f"line-buffered, k <= {lp.channels}, b = {lp.bits}")
        click.echo(f"{'part':24} {'bytes':>10}")
        click.echo(f"{'im2col scratch':24} {lp.scratch_bytes:>10,}")
        for name, b in lp.ring_bytes.items():
            click.echo(f"{'ring: ' + name + ' input rows':24} {b:>10,}")
        click.echo(f"{'latent row':24} {lp.latent_row_bytes:>10,}")
        click.echo(f"{'packed symbols':24} {lp.symbol_bytes:>10,}")
        click.echo(f"arena (rc_plan): {lp.arena_bytes:,} bytes ({lp.arena_bytes / 1024:.1f} KiB); layer by layer: "
                   f"{p.peak_arena_bytes:,} bytes + {p.peak_with_scratch_bytes - p.peak_arena_bytes:,} B "
                   "CMSIS-NN DSP scratch")
        click.echo(f"inter streams (spec 6.7, rc_plan_inter): + previous frame's symbols {inter_ref:,} bytes = "
                   f"{lp.arena_bytes_inter:,} bytes; inter tables {inter_table:,} bytes flash")
        return
    if as_json:
        d = p.to_json()
        d["model_id"] = model.model_id
        click.echo(json.dumps(d, indent=1))
        return
    click.echo(f"model {model.model_id[:16]}  input {w}x{h} (padded {p.padded_width}x{p.padded_height})")
    click.echo(f"{'tensor':8} {'shape (NHWC)':>18} {'bytes':>10}")
    for t in p.tensors:
        click.echo(f"{t.name:8} {str(list(t.shape)):>18} {t.bytes:>10,}")
    click.echo(f"{'layer':8} {'pad t/l/b/r':>12} {'stride':>6} {'arena bytes':>12} {'scratch':>8} {'(MVE)':>8}")
    for l in p.layers:
        pads = f"{l.pad_top}/{l.pad_left}/{l.pad_bottom}/{l.pad_right}"
        click.echo(f"{l.name:8} {pads:>12} {l.stride:>6} {l.arena_bytes:>12,} {l.scratch_bytes:>8,} "
                   f"{l.scratch_bytes_mve:>8,}")
    click.echo("scratch: CMSIS-NN arm_convolve_wrapper_s8_get_buffer_size, DSP / pure-C build (MVE build in brackets)")
    click.echo(f"peak arena: {p.peak_arena_bytes:,} bytes ({p.peak_arena_bytes / 1024:.1f} KiB) during {p.peak_layer}; "
               f"with im2col scratch {p.peak_with_scratch_bytes:,} bytes (MVE {p.peak_with_scratch_bytes_mve:,}); "
               f"weights {p.weight_bytes:,} bytes (flash)")
