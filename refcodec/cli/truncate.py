"""`refcodec truncate`: keep a prefix of channels per frame (spec §9), no re-encoding."""

from __future__ import annotations

import json

import click

from refcodec.cli.stream_common import read_stream_file
from refcodec.errors import InvalidArgumentError


@click.command("truncate")
@click.argument("input_path", metavar="IN.mcuc")
@click.option("-o", "--output", "output", required=True, metavar="OUT.mcuc", help="Stream to write (- for stdout).")
@click.option("--channels", "channels", type=int, default=None, metavar="K", help="Keep at most K channels per frame.")
@click.option("--frame-bytes", "frame_bytes", type=int, default=None, metavar="N",
              help="Keep, per frame, the most channels whose packet fits N bytes (>= 8; version 1 stream: >= 14).")
@click.option("--force", "force", is_flag=True, help="Overwrite an existing output (default: refuse).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def truncate(input_path: str, output: str, channels: int | None, frame_bytes: int | None, force: bool,
             as_json: bool) -> None:
    """Drop trailing latent channels of every frame of IN.mcuc ("-": stdin)."""
    from refcodec.bitstream import parse_stream
    from refcodec.cli.outputs import check_output, write_stream
    from refcodec.codec import truncate_stream

    if channels is None and frame_bytes is None:
        raise InvalidArgumentError("truncate needs --channels K or --frame-bytes N")
    if output == "-" and as_json:
        raise InvalidArgumentError("--json prints on stdout, which -o - already uses")
    check_output(output, [input_path], force, "stream")
    data = read_stream_file(input_path)
    out = truncate_stream(data, channels=channels, frame_budget_bytes=frame_bytes)
    write_stream(output, out)
    ks = [p.k for p in parse_stream(out).packets]
    empty = sum(1 for k in ks if k == 0)
    if empty and frame_bytes is not None:
        click.echo(f"refcodec: warning: {empty} of {len(ks)} frames keep no channel within {frame_bytes} bytes "
                   "(they decode to a flat picture)", err=True)
    summary = {"input": input_path, "output": output, "bytes_in": len(data), "bytes_out": len(out),
               "frames": len(ks), "k_per_frame": ks, "empty_frames": empty}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"wrote {output}: {len(data)} -> {len(out)} bytes, k per frame min {min(ks, default=0)} "
                   f"max {max(ks, default=0)}", err=True)
