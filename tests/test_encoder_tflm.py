"""The whole encoder, every layer, on real Kodak photos, byte for byte against TFLite Micro's interpreter.

The .tflite comes from refcodec.tflite.encoder_model_bytes (our writer, no TensorFlow); TFLM's own reference
kernels compute every layer (the subgraph outputs are conv1, conv2 and the latent). 0 mismatching bytes is the
only pass, on the reference path and on the fast path. TFLM's pip build uses double rounding only.
"""

from __future__ import annotations


import numpy as np
import pytest

from refcodec.model.encoder import run_encoder
from refcodec.model.random_model import make_random_model
from refcodec.model.registry import default_model
from refcodec.tflite.writer import encoder_model_bytes

from tflm_oracle import make_interpreter, require_tflm, run_tflm

from datasets import KODAK, require_file


def _kodak(name: str) -> np.ndarray:
    import imageio.v3 as iio

    path = require_file(KODAK / name, f"the Kodak image {name}")
    return np.asarray(iio.imread(path))[..., :3]


def _centre_crop(img: np.ndarray, h: int, w: int) -> np.ndarray:
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[y:y + h, x:x + w])


def _compare(model, frames):
    require_tflm()
    h, w = frames[0].shape[:2]
    tflite_bytes = encoder_model_bytes(model, h, w)
    interp = make_interpreter(tflite_bytes, arena_size=8 << 20)
    for frame in frames:
        ours = {path: run_encoder(model, frame, path=path) for path in ("reference", "fast")}
        theirs = run_tflm(tflite_bytes, ours["reference"]["input"], interpreter=interp)
        for name, expected in zip(("conv1", "conv2", "latent"), theirs):
            for path, tensors in ours.items():
                got = tensors[name][0]
                assert got.shape == expected.shape, (name, path)
                mismatches = int(np.count_nonzero(got != expected))
                assert mismatches == 0, f"{path} path, layer {name}: {mismatches} of {got.size} bytes differ"


@pytest.mark.parametrize("model_name", ["random", "bundled"])
def test_encoder_matches_tflm_on_kodak_224(model_name):
    model = make_random_model(0) if model_name == "random" else default_model()
    frames = [_centre_crop(_kodak(f"kodim{i:02d}.png"), 224, 224) for i in (1, 4, 8, 13, 19, 23)]
    # portrait images are 512x768: centre crops are 224x224 either way
    _compare(model, frames)


def test_encoder_matches_tflm_on_native_kodak():
    img = _kodak("kodim05.png")  # 768x512, multiples of 8: no padding needed
    assert img.shape[:2] == (512, 768)
    _compare(make_random_model(7), [img])


def test_encoder_matches_tflm_on_saturating_frames():
    model = make_random_model(2)
    frames = [np.zeros((64, 48, 3), np.uint8), np.full((64, 48, 3), 255, np.uint8),
              (np.indices((64, 48)).sum(0)[..., None] % 2 * 255).repeat(3, 2).astype(np.uint8)]
    _compare(model, frames)
