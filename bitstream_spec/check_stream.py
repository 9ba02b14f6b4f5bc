#!/usr/bin/env python3
"""Check .mcuc streams against the machine-readable description (mcuc_construct.py), plus the
stream-level rules of SPEC.md §7.4 (both container versions) that a per-packet grammar cannot state
(frame indices 0, 1, 2, ...;
exactly frame_count packets when frame_count > 0).

    python bitstream_spec/check_stream.py FILE.mcuc [...]     # prints one JSON line per file; exit 1 on failure
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("mcuc_construct", Path(__file__).with_name("mcuc_construct.py"))
mcuc_construct = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcuc_construct)


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


def main(argv: list[str]) -> int:
    status = 0
    for name in argv:
        try:
            summary = check_stream(Path(name).read_bytes())
            print(json.dumps({"file": name, "ok": True, **{k: v for k, v in summary.items() if k != "modes"}}))
        except (OSError, StreamCheckError) as exc:
            print(json.dumps({"file": name, "ok": False, "error": str(exc)}))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
