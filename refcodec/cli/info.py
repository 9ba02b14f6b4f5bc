"""`refcodec info`: headers, frames, bytes per frame and per channel of an .mcuc stream."""

from __future__ import annotations

import json

import click

from refcodec.cli.stream_common import read_stream_file


def stream_info(data: bytes, keep_going: bool = False) -> dict:
    """A JSON-able description of a stream (no model needed; chunks are not entropy-decoded)."""
    from refcodec.bitstream import parse_stream
    from refcodec.bitstream.format import CHUNK_MODE_NAMES, ENTROPY_NAMES

    parsed = parse_stream(data, keep_going=keep_going)
    h = parsed.header
    frames = []
    for off, p in zip(parsed.packet_offsets, parsed.packets):
        frames.append({"index": p.frame_index, "offset": off, "bytes": p.size, "k": p.k,
                       "chunk_bytes": [len(c.data) for c in p.chunks],
                       "chunk_modes": [CHUNK_MODE_NAMES[c.mode] for c in p.chunks]})
    from refcodec.bitstream.format import CHUNK_INTER

    keyframes = [p.frame_index for p in parsed.packets if all(c.mode != CHUNK_INTER for c in p.chunks)]
    per_channel = [0] * h.channels
    for f in frames:
        for c, n in enumerate(f["chunk_bytes"]):
            per_channel[c] += n
    return {
        "version": h.version, "header_bytes": h.size, "model_id": h.model_id.hex(),
        "width": h.width, "height": h.height,
        "latent_width": h.latent_width, "latent_height": h.latent_height, "channels": h.channels,
        "bits": h.bits, "entropy": ENTROPY_NAMES[h.entropy_mode],
        "fps": [h.fps_num, h.fps_den] if h.has_timing else None,
        "frame_count": h.frame_count, "frames_present": len(frames), "total_bytes": len(data),
        "bytes_per_channel": per_channel, "keyframes": keyframes, "lost": parsed.lost, "errors": parsed.errors, "frames": frames,
    }


@click.command("info")
@click.argument("input_path", metavar="IN.mcuc")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON on stdout.")
@click.option("--keep-going", "keep_going", is_flag=True, help="Skip corrupt packets instead of failing.")
def info(input_path: str, as_json: bool, keep_going: bool) -> None:
    """Print the stream header, frames, and bytes per frame and per channel."""
    d = stream_info(read_stream_file(input_path), keep_going=keep_going)
    if as_json:
        click.echo(json.dumps(d, indent=1))
        return
    click.echo(f"{input_path}: MCUC v{d['version']}  model {d['model_id'][:16]}  {d['width']}x{d['height']} "
               f"(latent {d['latent_width']}x{d['latent_height']}x{d['channels']}, {d['bits']} bits, {d['entropy']})")
    fc = d["frame_count"] or "absent"
    fps = f"{d['fps'][0]}/{d['fps'][1]}" if d["fps"] else "absent (still image)"
    click.echo(f"fps {fps}  frame_count {fc}  frames present {d['frames_present']}  header {d['header_bytes']} bytes  "
               f"{d['total_bytes']} bytes")
    click.echo("bytes per channel: " + " ".join(str(n) for n in d["bytes_per_channel"]))
    if d["entropy"] == "inter":  # spec §6.7.5: a packet without an inter chunk is a keyframe
        click.echo(f"keyframes ({len(d['keyframes'])}): " + " ".join(str(i) for i in d["keyframes"][:64])
                   + (" ..." if len(d["keyframes"]) > 64 else ""))
    click.echo(f"{'frame':>6} {'offset':>9} {'bytes':>7} {'k':>3}  chunk bytes (h = huffman, c = context huffman, r = raw, i = inter)")
    for f in d["frames"]:
        chunks = " ".join(f"{n}{m[0]}" for n, m in zip(f["chunk_bytes"], f["chunk_modes"]))
        click.echo(f"{f['index']:>6} {f['offset']:>9} {f['bytes']:>7} {f['k']:>3}  {chunks}")
    if d["lost"]:
        from refcodec.bitstream.lost import format_lost

        click.echo(f"lost frames {format_lost(d['lost'])}", err=True)
