"""`refcodec plan`: tensor sizes and the peak arena of layer-by-layer execution."""

from __future__ import annotations

import json

import click

from refcodec.cli.options import model_option, parse_size
from refcodec.model.plan import memory_plan


@click.command()
@model_option
@click.option("--size", "size", default="224x224", show_default=True, help="Input size WxH.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(model_path: str | None, size: str, as_json: bool) -> None:
    """Print every tensor's size and the peak arena of layer-by-layer execution."""
    from refcodec.model.registry import resolve_model

    w, h = parse_size(size)
    model = resolve_model(model_path)  # validates the model file; the plan depends only on the topology
    p = memory_plan(h, w)
    if as_json:
        d = p.to_json()
        d["model_id"] = model.model_id
        click.echo(json.dumps(d, indent=1))
        return
    click.echo(f"model {model.model_id[:16]}  input {w}x{h}")
    click.echo(f"{'tensor':8} {'shape (NHWC)':>18} {'bytes':>10}")
    for t in p.tensors:
        click.echo(f"{t.name:8} {str(list(t.shape)):>18} {t.bytes:>10,}")
    click.echo(f"{'layer':8} {'pad t/l/b/r':>12} {'stride':>6} {'arena bytes':>12} {'scratch':>8}")
    for l in p.layers:
        pads = f"{l.pad_top}/{l.pad_left}/{l.pad_bottom}/{l.pad_right}"
        click.echo(f"{l.name:8} {pads:>12} {l.stride:>6} {l.arena_bytes:>12,} {l.scratch_bytes:>8,}")
    click.echo(f"peak arena: {p.peak_arena_bytes:,} bytes ({p.peak_arena_bytes / 1024:.1f} KiB) during {p.peak_layer}; "
               f"with im2col scratch {p.peak_with_scratch_bytes:,} bytes; weights {p.weight_bytes:,} bytes (flash)")
