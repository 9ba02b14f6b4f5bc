"""Writing an encoder model file and its paired decoder weights into an assets folder (no PyTorch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refcodec.decoder.weights import write_decoder_weights
from refcodec.model.modelfile import EncoderModel, save_model


def save_pair(model: EncoderModel, dec_arrays: dict[str, np.ndarray], dec_meta: dict, out: Path) -> tuple[Path, Path]:
    """Write `model` as out/encoder-<id8>.npz and the decoder weights, paired with it (their `encoder_model_id`
    set to its id), as out/decoder-<hash8>.npz; remove the other encoder-*.npz and decoder-*.npz in `out`, so
    that the folder holds one pair. Returns (encoder path, decoder path)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    enc_path = out / f"encoder-{model.model_id[:8]}.npz"
    save_model(model, enc_path)
    meta = {k: v for k, v in dec_meta.items() if k not in ("format", "version")}
    dec_path = write_decoder_weights(dec_arrays, dict(meta, encoder_model_id=model.model_id), out)
    for stale in out.glob("encoder-*.npz"):
        if stale != enc_path:
            stale.unlink()
    return enc_path, dec_path
