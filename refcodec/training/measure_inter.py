"""Measure inter coding (spec §11.3): bits per symbol of the choices compared in the rationale (not normative).

    python -m refcodec.training.measure_inter [--frames N] [--size WxH]

Tables are fitted on the FIT clips (refcodec.training.fit_inter.FIT_CLIPS, the bundled table is checked to be that
fit) and every figure is measured on the VALIDATION clips only (consecutive frames, k = 12). Prints JSON:
- `intra_ctx_bits_per_symbol`: the reference encoder's context-stream chunks (§6.4 rule, padding included);
- `inter_stream_bits_per_symbol`: the inter stream's chunks (§6.7.5: per channel the smaller of intra and inter,
  keyframe interval as given), termination included; `inter_chunk_fraction`;
- `ideal_bits_per_symbol`: -log2 of the fitted probabilities for several context choices (reference symbol only;
  + left changed; + (left, top) changed count; the chosen 4-neighbour count bucketed 0/1/2+; per-channel tables),
  and for a static Huffman code per context of the chosen contexts (its 1-bit floor), with each table's bytes;
- `same_as_reference`: the fraction of symbols equal to the reference.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from refcodec.training.fit_inter import FIT_CLIPS, FIT_FRAMES, VALIDATION_CLIPS, clip_symbols


def _contexts(cur, ref, kind):
    r = ref.astype(np.int64)
    ch = (cur != ref).astype(np.int64)
    L = np.zeros_like(ch)
    L[:, 1:] = ch[:, :-1]
    T = np.zeros_like(ch)
    T[1:, :] = ch[:-1, :]
    TL = np.zeros_like(ch)
    TL[1:, 1:] = ch[:-1, :-1]
    TR = np.zeros_like(ch)
    TR[1:, :-1] = ch[:-1, 1:]
    if kind == "ref":
        return r, 1
    if kind == "ref+left":
        return r * 2 + L, 2
    if kind == "ref+left,top count":
        return r * 3 + L + T, 3
    return r * 3 + np.minimum(L + T + TL + TR, 2), 3  # "ref+4-neighbour count" (spec §6.7.1)


KINDS = ("ref", "ref+left", "ref+left,top count", "ref+4-neighbour count")


def main(argv: list[str] | None = None) -> int:
    from refcodec.cli.options import parse_size
    from refcodec.codec import encode_packet
    from refcodec.bitstream.format import CHUNK_INTER
    from refcodec.entropy.huffman import build_code_lengths
    from refcodec.entropy.inter import fit_inter_freqs, quantize_freqs
    from refcodec.model.registry import default_model
    from refcodec.paths import data_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--keyframe-interval", type=int, default=30)
    a = ap.parse_args(argv)
    size = parse_size(a.size)
    model = default_model()
    bits = int(model.latent_quantizer.bits)
    levels = 1 << bits
    video = data_root() / "video"
    fit = {c: list(clip_symbols(model, video / f"{c}.mp4", FIT_FRAMES, size)) for c in FIT_CLIPS}
    val = {c: list(clip_symbols(model, video / f"{c}.mp4", a.frames, size)) for c in VALIDATION_CLIPS}
    pairs = lambda d: [(s[i], s[i - 1]) for s in d.values() for i in range(1, len(s))]  # noqa: E731
    fit_pairs, val_pairs = pairs(fit), pairs(val)
    C = fit_pairs[0][0].shape[2]
    out = {"model_id": model.model_id[:16], "fit_clips": list(FIT_CLIPS), "validation_clips": list(VALIDATION_CLIPS),
           "frames_per_clip": a.frames, "fit_frames_per_clip": FIT_FRAMES, "size": a.size, "symbols": int(sum(c.size for c, _ in val_pairs))}
    out["same_as_reference"] = float(np.mean([np.mean(c == r) for c, r in val_pairs]))
    ideal = {}
    for kind in KINDS:
        for per_channel in (False, True):
            nb = _contexts(fit_pairs[0][0][:, :, 0], fit_pairs[0][1][:, :, 0], kind)[1]
            counts = np.zeros((C if per_channel else 1, levels * nb, levels))
            for cur, ref in fit_pairs:
                for c in range(C):
                    x, _ = _contexts(cur[:, :, c], ref[:, :, c], kind)
                    np.add.at(counts[c if per_channel else 0], (x.ravel(), cur[:, :, c].ravel()), 1)
            f = np.stack([quantize_freqs(t + 0.5) for t in counts]).astype(np.float64)
            total = 0.0
            huff = 0.0
            lengths = None
            if kind == KINDS[-1] and not per_channel:
                lengths = np.stack([build_code_lengths((row + 1).astype(np.int64), 15) for row in counts[0]])
            for cur, ref in val_pairs:
                for c in range(C):
                    x, _ = _contexts(cur[:, :, c], ref[:, :, c], kind)
                    s = cur[:, :, c].ravel()
                    total += float(np.sum(12 - np.log2(f[c if per_channel else 0][x.ravel(), s])))
                    if lengths is not None:
                        huff += float(lengths[x.ravel(), s].sum())
            name = kind + (" per channel" if per_channel else " shared")
            ideal[name] = {"bits_per_symbol": round(total / out["symbols"], 4), "table_bytes": int(f.size * 2)}
            if lengths is not None:
                ideal["huffman " + kind + " shared"] = {"bits_per_symbol": round(huff / out["symbols"], 4),
                                                        "table_bytes": int(lengths.size)}
    out["ideal_bits_per_symbol"] = ideal
    freqs = fit_inter_freqs(fit_pairs, bits)
    out["bundled_table_is_this_fit"] = bool(model.has_inter_tables and
                                            np.array_equal(freqs, model.entropy.inter_freqs))
    ctx = model.entropy.context_coders
    inter = model.entropy.inter_coder
    intra_bytes = inter_bytes = n_inter = n_chunks = 0
    for seq in val.values():
        for i, sym in enumerate(seq):
            p_intra = encode_packet(sym, i, C, bits, None, ctx)
            ref = None if i % a.keyframe_interval == 0 else seq[i - 1]
            p_inter = encode_packet(sym, i, C, bits, None, ctx, inter, ref, C)
            intra_bytes += sum(len(c.data) for c in p_intra.chunks)
            inter_bytes += sum(len(c.data) for c in p_inter.chunks)
            n_inter += sum(c.mode == CHUNK_INTER for c in p_inter.chunks)
            n_chunks += C
    n_all = sum(s.size for seq in val.values() for s in seq)
    out["keyframe_interval"] = a.keyframe_interval
    out["intra_ctx_bits_per_symbol"] = round(8 * intra_bytes / n_all, 4)
    out["inter_stream_bits_per_symbol"] = round(8 * inter_bytes / n_all, 4)
    out["inter_vs_intra_chunk_bytes_percent"] = round(100 * (inter_bytes / intra_bytes - 1), 2)
    out["inter_chunk_fraction"] = round(n_inter / n_chunks, 4)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
