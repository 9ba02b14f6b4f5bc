"""Measure what the static Huffman tables and the context tables save against raw packing (spec §11.1).

    python -m refcodec.entropy.measure [--model M] [--images DIR] [--size WxH|native]

Encodes every image of DIR (default: the Kodak set, which is never used to fit tables) with the model,
and prints, per channel and overall, the bits per latent symbol of raw packing, of the reference
encoder's chunks in a huffman stream (entropy_mode 1: Huffman or raw per chunk, spec §6.4) and, when the
model has context tables, in a ctx stream (entropy_mode 2: context Huffman or raw per chunk, §6.6), and
the ideal static code bits (the symbols' code lengths summed, no byte padding), as JSON. It also times the
entropy decoding of every chunk (decode_channel, tables built once per model) per frame of k = C channels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from refcodec.bitstream.format import CHUNK_RAW
from refcodec.entropy.chunk import decode_channel, encode_channel
from refcodec.paths import data_root

DATASETS = data_root()  # refcodec.paths: $REFCODEC_DATA or ../shared/datasets


def _symbols(model, folder: Path, size, limit: int | None):
    from refcodec.codec import frame_symbols
    from refcodec.media import open_media, resize_frame

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:limit]
    for p in files:
        rgb = next(open_media(p).frames)
        if size is not None:
            rgb = resize_frame(rgb, size)
        yield frame_symbols(model, rgb)


def measure(model, folder: Path, size) -> dict:
    bits = int(model.latent_quantizer.bits)
    C = model.channels
    tables = None if model.entropy is None else np.asarray(model.entropy.code_lengths)
    coders = None if model.entropy is None else model.entropy.context_coders
    modes = {"huffman": (tables, None)} if tables is not None else {}
    if coders is not None:
        modes["ctx"] = (None, coders)
    raw_bytes = np.zeros(C, np.int64)
    coded = {m: np.zeros(C, np.int64) for m in modes}
    ideal = {m: np.zeros(C, np.int64) for m in modes}
    coded_chunks = {m: np.zeros(C, np.int64) for m in modes}
    decode_s = {m: 0.0 for m in modes}
    n_sym = n_img = 0
    for sym in _symbols(model, folder, size, None):
        n_img += 1
        n = sym.shape[0] * sym.shape[1]
        n_sym += n
        for c in range(C):
            s = sym[:, :, c]
            raw_bytes[c] += (n * bits + 7) // 8
            for m, (cl, cc) in modes.items():
                ch = encode_channel(s, bits, None if cl is None else cl[c], None if cc is None else cc[c])
                t0 = time.perf_counter()
                back = decode_channel(ch, bits, n, None if cl is None else cl[c], None if cc is None else cc[c],
                                      s.shape[1])
                decode_s[m] += time.perf_counter() - t0
                assert np.array_equal(back, s.ravel())
                coded[m][c] += len(ch.data)
                coded_chunks[m][c] += ch.mode != CHUNK_RAW
                ideal[m][c] += (int(cl[c][s.ravel()].astype(np.int64).sum()) if cc is None
                                else (cc[c].coded_bits(s) or 0))
    per_symbol = lambda b: [round(float(x) * 8 / n_sym, 4) for x in b]  # noqa: E731
    out = {
        "model_id": model.model_id[:16], "images": n_img, "size": "native" if size is None else f"{size[0]}x{size[1]}",
        "bits": bits, "symbols_per_channel": n_sym, "raw_bits_per_symbol": bits,
        "chunk_overhead_bytes_per_frame": 14 + 4 * C,
    }
    for m in modes:
        out[m] = {
            "coded_bits_per_symbol_per_channel": per_symbol(coded[m]),
            "coded_bits_per_symbol": round(float(coded[m].sum()) * 8 / (n_sym * C), 4),
            "code_bits_per_symbol": round(float(ideal[m].sum()) / (n_sym * C), 4),
            "coded_chunk_fraction": round(float(coded_chunks[m].sum()) / (n_img * C), 4),
            "saving_vs_raw_percent": round(100.0 * (1 - coded[m].sum() / raw_bytes.sum()), 2),
            "decode_ms_per_frame": round(1e3 * decode_s[m] / n_img, 3),
        }
    if "ctx" in modes and "huffman" in modes:
        out["ctx_saving_vs_huffman_percent"] = round(100.0 * (1 - coded["ctx"].sum() / coded["huffman"].sum()), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    from refcodec.cli.options import parse_size
    from refcodec.model.registry import resolve_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--images", default=str(DATASETS / "kodak"))
    ap.add_argument("--size", default="224x224", help="WxH or 'native'")
    args = ap.parse_args(argv)
    model = resolve_model(args.model)
    size = None if args.size == "native" else parse_size(args.size)
    print(json.dumps(measure(model, Path(args.images), size), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
