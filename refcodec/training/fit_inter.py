"""Fit the inter coder's frequency table (spec §6.7) on training video and add it to a model (not normative).

    python -m refcodec.training.fit_inter --assets DIR [--out DIR] [--clips NAME ...] [--frames N] [--size WxH]

The table is fitted on the FIT clips only (default: FIT_CLIPS of ../shared/datasets/video); the other clips
(VALIDATION_CLIPS) are what every measurement of inter coding reports on (spec §11.3). Writes
OUT/encoder-<new id8>.npz (the same encoder and intra tables plus `entropy.inter_freqs`) and re-exports the
decoder weights with `encoder_model_id` set to the new id (as `pipeline refit-tables` does), removing the old
encoder file from OUT (it stays in git history and loadable: a model without inter tables keeps its id).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from refcodec.paths import data_root

FIT_CLIPS = ("car-detection", "one-by-one-person-detection")
VALIDATION_CLIPS = ("bottle-detection", "vtest")
FIT_FRAMES = 400
"""Frames of each fit clip (consecutive, from the start) the bundled table was fitted on."""


def clip_symbols(model, path: Path, frames: int, size):
    """Latent symbols of the first `frames` frames of a clip, resized to `size`."""
    from refcodec.codec import frame_symbols
    from refcodec.media import open_media, resize_frame

    for rgb in itertools.islice(open_media(path).frames, frames):
        yield frame_symbols(model, resize_frame(rgb, size))


def fit_pairs(model, clips, folder: Path, frames: int, size):
    """(cur, ref) symbol pairs of consecutive frames of every clip."""
    for name in clips:
        prev = None
        for sym in clip_symbols(model, folder / f"{name}.mp4", frames, size):
            if prev is not None:
                yield sym, prev
            prev = sym


def main(argv: list[str] | None = None) -> int:
    from refcodec.cli.options import parse_size
    from refcodec.decoder.weights import find_bundled, read_decoder_weights
    from refcodec.entropy.inter import fit_inter_freqs
    from refcodec.entropy.model_tables import EntropyTables
    from refcodec.model.modelfile import load_model
    from refcodec.model.registry import ASSETS, bundled_model_path
    from refcodec.training.assets import save_pair

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=Path, default=ASSETS)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--clips", nargs="+", default=list(FIT_CLIPS))
    ap.add_argument("--video", type=Path, default=data_root() / "video")
    ap.add_argument("--frames", type=int, default=FIT_FRAMES)
    ap.add_argument("--size", default="320x240")
    a = ap.parse_args(argv)
    enc_file = sorted(a.assets.glob("encoder-*.npz"))[0] if a.assets != ASSETS else bundled_model_path()
    old = load_model(enc_file)
    e = old.entropy
    if e is None or e.context_lengths is None:
        raise SystemExit("the model needs context tables first (pipeline refit-tables)")
    bits = int(old.latent_quantizer.bits)
    freqs = fit_inter_freqs(fit_pairs(old, a.clips, a.video, a.frames, parse_size(a.size)), bits)
    meta = dict(old.meta, inter_tables={"fit_clips": a.clips, "frames": a.frames, "size": a.size,
                                        "tool": "python -m refcodec.training.fit_inter"})
    model = old.with_entropy(EntropyTables(e.code_lengths, e.context_lengths, freqs))
    model = type(model)(model.layers, model.rounding, model.latent_quantizer, model.entropy, meta)
    enc_path, dec_path = save_pair(model, *read_decoder_weights(find_bundled(a.assets)), Path(a.out or a.assets))
    print(json.dumps({"encoder": str(enc_path), "decoder": str(dec_path), "old_model_id": old.model_id,
                      "model_id": model.model_id, "fit_clips": a.clips, "table_bytes": int(freqs.nbytes)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
