"""What a per-chunk CRC would cost (bitstream_spec/SPEC.md §8.3 keep-going): the bytes of today's 224x224
frame packets at every channel count k (Kodak, shorter side to 224 + centre crop, the bundled model, its
default entropy mode), and the bytes a CRC-32 or CRC-16 per chunk would add (4k or 2k per frame), as a share
of the packet and of a one-frame stream (header included). No format change is made; this sizes one.

Usage: python bench/bench_chunk_crc.py   (writes bench/results/chunk_crc.json)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refcodec.bitstream import parse_stream  # noqa: E402
from refcodec.codec import encode_frames, truncate_stream  # noqa: E402
from refcodec.eval.prep import list_images, load_prepared  # noqa: E402
from refcodec.io_utils import write_json  # noqa: E402
from refcodec.model.registry import default_model  # noqa: E402
from refcodec.paths import kodak_dir  # noqa: E402

KODAK = kodak_dir()  # $REFCODEC_DATA/kodak or ../shared/datasets/kodak (refcodec.paths)


def main() -> int:
    if not KODAK.is_dir():
        print(f"Kodak not found at {KODAK} (set REFCODEC_DATA): skipped", file=sys.stderr)
        return 0
    model = default_model()
    streams = [encode_frames([load_prepared(p, 224)], model, channels=model.channels) for p in list_images(KODAK)]
    rows = []
    for k in range(1, model.channels + 1):
        pkt = hdr = 0
        for s in streams:
            t = truncate_stream(s, channels=k)
            ps = parse_stream(t)
            pkt += ps.packets[0].size
            hdr += ps.header.size
        n = len(streams)
        mean_pkt, mean_stream = pkt / n, (pkt + hdr) / n
        rows.append({"k": k, "packet_bytes": round(mean_pkt, 1), "stream_bytes": round(mean_stream, 1),
                     "crc32_per_chunk_bytes": 4 * k, "crc16_per_chunk_bytes": 2 * k,
                     "crc32_pct_of_stream": round(100 * 4 * k / mean_stream, 2),
                     "crc16_pct_of_stream": round(100 * 2 * k / mean_stream, 2)})
    res = {"benchmark": "per-chunk CRC cost", "command": "python bench/bench_chunk_crc.py",
           "images": len(streams), "size": "224x224", "model_id": model.model_id[:16], "rows": rows}
    out = ROOT / "bench" / "results" / "chunk_crc.json"
    write_json(out, res)
    print(f"{'k':>3} {'packet':>8} {'stream':>8} {'+crc32':>7} {'%':>6} {'+crc16':>7} {'%':>6}")
    for r in rows:
        print(f"{r['k']:>3} {r['packet_bytes']:>8} {r['stream_bytes']:>8} {r['crc32_per_chunk_bytes']:>7} "
              f"{r['crc32_pct_of_stream']:>6} {r['crc16_per_chunk_bytes']:>7} {r['crc16_pct_of_stream']:>6}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
