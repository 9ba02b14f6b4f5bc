"""Which model a command uses: an explicit model file (or the word "random": the seeded random model), else
the bundled trained model (refcodec/assets/encoder-<id8>.npz). A missing bundled model is an error (a
broken install), never a silent switch to the random model."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from refcodec.errors import ModelFileError
from refcodec.model.modelfile import EncoderModel, load_model

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def bundled_model_path() -> Path | None:
    found = sorted(ASSETS.glob("encoder-*.npz"))
    if len(found) > 1:
        raise ModelFileError(f"several bundled encoder models in {ASSETS}: {[p.name for p in found]}")
    return found[0] if found else None


@lru_cache(maxsize=1)
def default_model() -> EncoderModel:
    path = bundled_model_path()
    if path is not None:
        model = load_model(path)
        if not path.stem.endswith(model.model_id[:8]):
            raise ModelFileError(f"bundled model {path.name} does not carry its id prefix {model.model_id[:8]}")
        return model
    raise ModelFileError(f"no bundled encoder model (encoder-<id8>.npz) in {ASSETS}: the installation is "
                         "incomplete; reinstall, or give --model M (or --model random)")


def resolve_model(path: str | Path | None) -> EncoderModel:
    """`--model` option semantics: a path to a model file, the word "random" (seeded random model, seed 0),
    or None for the default."""
    if path is None:
        return default_model()
    if str(path) == "random":
        from refcodec.model.random_model import make_random_model

        return make_random_model(0)
    return load_model(path)
