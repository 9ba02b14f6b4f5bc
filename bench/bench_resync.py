"""Keep-going resync time against a strict parse of the same number of bytes (spec §10.2: linear time).

    python bench/bench_resync.py [--sizes 262144,1048576,4194304]

For each size N: CPU time of `parse_stream(keep_going=True)` over an 8192 x 8192 header followed by N bytes of
hostile packet starts (refcodec.fuzz.hostile_resync_stream: one every 9 bytes, each claiming a packet up to the
end of the stream), and of a strict parse of a valid stream of N bytes of empty packets (about as many packets
as there are false starts), in the same run. Writes bench/results/resync.json. A linear resync keeps the ratio
flat as N grows; the quadratic one before issue 12 grew it with N (256 KiB: 24x, see the JSON's note).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refcodec.bitstream.container import parse_stream  # noqa: E402
from refcodec.fuzz import hostile_resync_stream, small_packet_stream  # noqa: E402
from refcodec.io_utils import write_json  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="262144,1048576,4194304")
    args = ap.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        garbage, peer = hostile_resync_stream(size), small_packet_stream(size)
        t0 = time.process_time()
        kg = parse_stream(garbage, keep_going=True)
        t_keep = time.process_time() - t0
        t0 = time.process_time()
        strict = parse_stream(peer)
        t_strict = time.process_time() - t0
        rows.append({"bytes": size, "false_starts": garbage.count(b"MF"), "keep_going_cpu_s": round(t_keep, 4),
                     "strict_packets": len(strict.packets), "strict_cpu_s": round(t_strict, 4),
                     "ratio": round(t_keep / t_strict, 2), "error_lines": len(kg.errors)})
        print(json.dumps(rows[-1]), flush=True)
    out = {"benchmark": "keep-going resync vs strict parse, same bytes", "rows": rows,
           "note": "before issue 12 (quadratic resync), same script: 65,536 bytes ratio 5.6, 262,144 bytes 23.9"}
    write_json(ROOT / "bench" / "results" / "resync.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
