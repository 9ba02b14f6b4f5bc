"""The server-side float decoder in NumPy, with bundled weights (refcodec/assets/decoder-<hash8>.npz).

``load_decoder(path=None) -> Decoder``; ``Decoder.decode(latent float32 [h, w, 12]) -> float32 [8h, 8w, 3]``
in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

from refcodec.decoder.numpy_decoder import Decoder
from refcodec.decoder.weights import find_bundled, read_decoder_weights

__all__ = ["Decoder", "load_decoder"]


def load_decoder(path: str | Path | None = None) -> Decoder:
    """Load decoder weights (the bundled ones when path is None), checking the hash in the file name."""
    arrays, meta = read_decoder_weights(find_bundled() if path is None else Path(path))
    return Decoder(arrays, meta)
