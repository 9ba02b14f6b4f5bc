"""Which float decoder decodes a stream of a given encoder model.

A decoder is trained for one encoder: its weight file's header carries that encoder's `encoder_model_id`
(refcodec.training.pipeline writes it). The bundled decoder decodes streams of the bundled encoder only; a
stream of another model (e.g. `--model random` or a conformance-vector model) decoded with it gives wrong
pictures, so that is an error unless the user asks for it (`--any-decoder`), or gives decoder weights
trained for that model (`--decoder W`).
"""

from __future__ import annotations

from pathlib import Path

from refcodec.errors import ModelFileError


def decoder_for(model, path: str | Path | None = None, any_decoder: bool = False, warn=None):
    """The Decoder for streams of `model`: the weights at `path` (default: the bundled ones).

    The weights' `encoder_model_id` must be `model.model_id` (ModelFileError otherwise, exit code 4);
    any_decoder turns that error into a call of warn(message). Weights without an `encoder_model_id` are
    used with a warning."""
    from refcodec.decoder import Decoder
    from refcodec.decoder.weights import find_bundled, read_decoder_weights

    file = find_bundled() if path is None else Path(path)
    arrays, meta = read_decoder_weights(file)
    trained_for = meta.get("encoder_model_id")
    what = "the bundled decoder" if path is None else f"decoder '{file}'"
    if trained_for is None:
        if warn is not None:
            warn(f"{what} does not say which encoder it was trained for (no encoder_model_id)")
    elif trained_for != model.model_id:
        msg = (f"{what} was trained for encoder {trained_for[:16]}..., not for the stream's model "
               f"{model.model_id[:16]}...: give --decoder W trained for that model, or --any-decoder to "
               "decode anyway (wrong pictures)")
        if not any_decoder:
            raise ModelFileError(msg)
        if warn is not None:
            warn(msg.split(":")[0] + " (--any-decoder: decoding anyway)")
    return Decoder(arrays, meta)
