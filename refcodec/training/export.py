"""Export of trained networks: the decoder's weights to refcodec/assets/decoder-<hash8>.npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refcodec.decoder.weights import ASSETS_DIR, write_decoder_weights
from refcodec.training.nets import Decoder


def export_decoder(dec: Decoder, folder: Path = ASSETS_DIR, meta: dict | None = None,
                   replace_existing: bool = True) -> Path:
    """Write the decoder's state dict (float32) + meta (widths, blocks, padding unless zeros, anything given)
    as decoder-<hash8>.npz."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in dec.state_dict().items()}
    header = dict(meta or {}, widths=list(dec.widths), blocks=list(dec.blocks))
    if dec.padding != "zeros":  # absent = zeros: files written before issue 13 keep their bytes and hash
        header["padding"] = dec.padding
    return write_decoder_weights(arrays, header, folder, replace_existing)
