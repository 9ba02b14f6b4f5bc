#!/usr/bin/env python3
"""Check .mcuc streams against the machine-readable description (mcuc_construct.py), plus the
stream-level rules of SPEC.md §7.4 (both container versions) that a per-packet grammar cannot state
(frame indices 0, 1, 2, ...;
exactly frame_count packets when frame_count > 0).

    python bitstream_spec/check_stream.py [--model MODEL.npz] FILE.mcuc [...]
        prints one JSON line per file; exit 1 on failure. With --model, every chunk is also entropy-decoded
        by mcuc_chunks.py (plain Python) with the model file's `entropy.code_lengths` /
        `entropy.context_code_lengths` arrays, and the line gets a `symbols_sha256` of the decoded symbols.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("mcuc_construct", Path(__file__).with_name("mcuc_construct.py"))
mcuc_construct = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcuc_construct)
_spec = importlib.util.spec_from_file_location("mcuc_chunks", Path(__file__).with_name("mcuc_chunks.py"))
mcuc_chunks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcuc_chunks)


class StreamCheckError(Exception):
    """The stream does not follow SPEC.md."""


def check_stream(data: bytes) -> dict:
    """Parse `data` with the construct grammar and check §7.4; return a summary dict."""
    try:
        parsed = mcuc_construct.parse(data)
    except Exception as exc:  # construct raises several ConstructError subclasses
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise StreamCheckError(f"grammar: {type(exc).__name__}: {first}") from exc
    h = parsed.header.body.value
    indices = [p.body.value.frame_index for p in parsed.packets]
    if indices != list(range(len(indices))):
        raise StreamCheckError(f"frame indices {indices[:8]}... are not 0, 1, 2, ...")
    frame_count = h.frame_count or 0  # v2: None when absent
    if frame_count and len(indices) != frame_count:
        raise StreamCheckError(f"{len(indices)} packets, header frame_count {h.frame_count}")
    return {
        "version": h.version, "width": h.width, "height": h.height, "channels": h.channels, "bits": h.bits,
        "entropy_mode": h.entropy_mode, "frame_count": frame_count, "packets": len(indices),
        "k": [p.body.value.k for p in parsed.packets],
        "modes": [[e.mode for e in p.body.value.table] for p in parsed.packets],
    }


def decode_symbols(data: bytes, code_lengths=None, context_lengths=None, inter_freqs=None) -> list[list[list[int]]]:
    """check_stream, then decode every chunk (mcuc_chunks): [packet][channel i < k] -> symbols in raster order.
    code_lengths[c][s] / context_lengths[c][ctx][s] / inter_freqs[ctx][s]: the model's tables (any nested
    indexable). An inter chunk (§6.7.5) decodes against the same channel of the previous packet, which must be
    frame_index - 1 and carry the channel (else StreamCheckError "E_REFERENCE")."""
    check_stream(data)
    parsed = mcuc_construct.parse(data)
    h = parsed.header.body.value
    out = []
    for p in parsed.packets:
        body = p.body.value
        chans = []
        for c, (entry, chunk) in enumerate(zip(body.table, body.chunks)):
            if entry.mode == 3:
                if not out or c >= len(out[-1]) or body.frame_index == 0:
                    raise StreamCheckError(f"frame {body.frame_index} channel {c}: E_REFERENCE")
                try:
                    chans.append(mcuc_chunks.decode_inter_chunk(chunk, h.latent_width, h.latent_height,
                                                                out[-1][c], inter_freqs))
                except (mcuc_chunks.ChunkError, TypeError) as exc:
                    raise StreamCheckError(f"frame {body.frame_index} channel {c}: {exc}") from exc
                continue
            try:
                chans.append(mcuc_chunks.decode_chunk(
                    entry.mode, chunk, h.bits, h.latent_width, h.latent_height,
                    None if code_lengths is None else code_lengths[c],
                    None if context_lengths is None else context_lengths[c]))
            except mcuc_chunks.ChunkError as exc:
                raise StreamCheckError(f"frame {body.frame_index} channel {c}: {exc}") from exc
        out.append(chans)
    return out


def _model_tables(path: str):
    import numpy as np  # only to read the model file's arrays (allow_pickle=False)

    with np.load(path, allow_pickle=False) as z:
        get = lambda k: z[k].tolist() if k in z.files else None  # noqa: E731
        return get("entropy.code_lengths"), get("entropy.context_code_lengths"), get("entropy.inter_freqs")


def main(argv: list[str]) -> int:
    import hashlib

    status = 0
    tables = None
    if argv[:1] == ["--model"] and len(argv) >= 2:
        tables = _model_tables(argv[1])
        argv = argv[2:]
    for name in argv:
        try:
            data = Path(name).read_bytes()
            summary = check_stream(data)
            line = {"file": name, "ok": True, **{k: v for k, v in summary.items() if k != "modes"}}
            if tables is not None:
                syms = decode_symbols(data, *tables)
                line["symbols_sha256"] = hashlib.sha256(json.dumps(syms).encode()).hexdigest()
            print(json.dumps(line))
        except (OSError, StreamCheckError) as exc:
            print(json.dumps({"file": name, "ok": False, "error": str(exc)}))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
