"""Measure what the static Huffman tables save against raw packing (spec §11.1).

    python -m refcodec.entropy.measure [--model M] [--images DIR] [--size WxH|native] [--context]

Encodes every image of DIR (default: the Kodak set, which is never used to fit tables) with the model,
and prints, per channel and overall, the bits per latent symbol of raw packing, of the reference
encoder's chunks (Huffman or raw per chunk, spec §6.4) and of the ideal static code (the empirical
cross-entropy of the symbols under the model's code lengths), as JSON. With --context it also
estimates a one-bit context (is the left neighbour the channel's most frequent training symbol?) by
fitting two tables per channel on training images and coding the evaluation images with them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from refcodec.bitstream.format import CHUNK_HUFFMAN
from refcodec.entropy.chunk import encode_channel
from refcodec.entropy.tables import fit_code_lengths

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


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
    raw_bytes = np.zeros(C, np.int64)
    coded_bytes = np.zeros(C, np.int64)
    ideal_bits = np.zeros(C, np.int64)
    huff_chunks = np.zeros(C, np.int64)
    n_sym = 0
    n_img = 0
    for sym in _symbols(model, folder, size, None):
        n_img += 1
        n = sym.shape[0] * sym.shape[1]
        n_sym += n
        for c in range(C):
            s = sym[:, :, c]
            raw_bytes[c] += (n * bits + 7) // 8
            ch = encode_channel(s, bits, None if tables is None else tables[c])
            coded_bytes[c] += len(ch.data)
            huff_chunks[c] += ch.mode == CHUNK_HUFFMAN
            if tables is not None:
                ideal_bits[c] += int(tables[c][s.ravel()].astype(np.int64).sum())
    per_symbol = lambda b: [round(float(x) * 8 / n_sym, 4) for x in b]  # noqa: E731
    return {
        "model_id": model.model_id[:16], "images": n_img, "size": "native" if size is None else f"{size[0]}x{size[1]}",
        "bits": bits, "symbols_per_channel": n_sym,
        "raw_bits_per_symbol": bits,
        "coded_bits_per_symbol_per_channel": per_symbol(coded_bytes),
        "coded_bits_per_symbol": round(float(coded_bytes.sum()) * 8 / (n_sym * C), 4),
        "huffman_code_bits_per_symbol": None if tables is None else round(float(ideal_bits.sum()) / (n_sym * C), 4),
        "huffman_chunk_fraction": round(float(huff_chunks.sum()) / (n_img * C), 4),
        "saving_vs_raw_percent": round(100.0 * (1 - coded_bytes.sum() / raw_bytes.sum()), 2),
        "chunk_overhead_bytes_per_frame": 14 + 4 * C,
    }


def context_estimate(model, train: Path, evaluate: Path, size, n_train: int) -> dict:
    """Bits per symbol of one static table per channel vs two tables chosen by the left neighbour."""
    bits = int(model.latent_quantizer.bits)
    tr = list(_symbols(model, train, size, n_train))
    ev = list(_symbols(model, evaluate, size, None))
    plain = fit_code_lengths(tr, bits)
    mode = np.array([np.bincount(np.concatenate([t[:, :, c].ravel() for t in tr]), minlength=1 << bits).argmax()
                     for c in range(model.channels)])

    def ctx(s):  # 1 where the left neighbour (or, in column 0, the value above; at (0,0): 0) is the mode
        left = np.empty_like(s)
        left[:, 1:] = s[:, :-1]
        left[1:, 0] = s[:-1, 0]
        left[0, 0] = 255
        return left == mode[None, None, :]

    split = [[], []]
    for t in tr:
        m = ctx(t)
        for v in (0, 1):
            split[v].append(np.where(m == v, t, 255))
    tables = []
    for v in (0, 1):
        counts = np.zeros((model.channels, 1 << bits), np.int64)
        for t in split[v]:
            for c in range(model.channels):
                x = t[:, :, c].ravel()
                counts[c] += np.bincount(x[x != 255], minlength=1 << bits)
        from refcodec.entropy.huffman import build_code_lengths

        tables.append(np.stack([build_code_lengths(cnt + 1, 15) for cnt in counts]))
    b_plain = b_ctx = n = 0
    for s in ev:
        m = ctx(s)
        for c in range(model.channels):
            x = s[:, :, c].ravel().astype(np.int64)
            mc = m[:, :, c].ravel()
            b_plain += int(plain[c][x].astype(np.int64).sum())
            b_ctx += int(np.where(mc, tables[1][c][x], tables[0][c][x]).astype(np.int64).sum())
            n += x.size
    return {"train_images": len(tr), "one_table_bits_per_symbol": round(b_plain / n, 4),
            "left_context_bits_per_symbol": round(b_ctx / n, 4),
            "context_saving_percent": round(100.0 * (1 - b_ctx / b_plain), 2)}


def main(argv: list[str] | None = None) -> int:
    from refcodec.cli.options import parse_size
    from refcodec.model.registry import resolve_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--images", default=str(DATASETS / "kodak"))
    ap.add_argument("--size", default="224x224", help="WxH or 'native'")
    ap.add_argument("--context", action="store_true")
    ap.add_argument("--train-images", type=int, default=100)
    args = ap.parse_args(argv)
    model = resolve_model(args.model)
    size = None if args.size == "native" else parse_size(args.size)
    out = measure(model, Path(args.images), size)
    if args.context:
        out["context"] = context_estimate(model, DATASETS / "train", Path(args.images), size, args.train_images)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
