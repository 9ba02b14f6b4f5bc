"""Tiled and parallel float decoding (refcodec.decoder.tiling, refcodec.decoder.pipeline; issue 11 item 11).

The reference is the untiled, serial Decoder.decode (itself checked against PyTorch in tests/test_decoder.py).
Tiles must reproduce it within spec §8.4's tolerance (at most 1 in any 8-bit sample), on a real picture at a
size that forces several tiles; the receptive margin must really bound the decoder's receptive field (a
perturbed latent pixel changes nothing beyond it), and a smaller margin must visibly break (so the test can
fail). Frames come out in order, and the input is pulled lazily (bounded memory)."""

from __future__ import annotations


import numpy as np
import pytest

from refcodec.codec import decode_symbols, encode_frames, latent_from_symbols
from refcodec.decoder import load_decoder
from refcodec.decoder.pipeline import decode_frames
from refcodec.decoder.tiling import SCALE, decode_tiled, plan_tiles, receptive_margin, tile_for_budget
from refcodec.media.writer import to_uint8
from refcodec.model.registry import default_model

from datasets import KODAK  # noqa: E402  (tests/datasets.py: refcodec.paths, skips with the reason)

KODIM = KODAK / "kodim23.png"


@pytest.fixture(scope="module")
def decoder():
    return load_decoder()


@pytest.fixture(scope="module")
def real_latent():
    """The latent of a 203 x 141 crop of a Kodak picture (odd sizes: latent 26 x 18), bundled model, k = 12."""
    from PIL import Image

    rgb = np.asarray(Image.open(KODIM).convert("RGB"))[150:291, 300:503]
    model = default_model()
    ds = decode_symbols(encode_frames([rgb], model), model)
    return latent_from_symbols(ds.symbols[0], ds.channels_present[0], model), rgb.shape[:2]


def test_receptive_margin_bounds_the_decoders_field(decoder):
    m = receptive_margin(decoder)
    assert m == 8  # head 1 + attention 3 + rb1 1 + up1/rb2/up2/rb3/up3 3 (see refcodec.decoder.tiling)
    rng = np.random.default_rng(0)
    lat = rng.uniform(-1, 1, (2 * m + 9, 2 * m + 9, 12)).astype(np.float32)
    a = m + 4
    base = decoder.decode(lat)
    lat2 = lat.copy()
    lat2[a, a] += rng.uniform(-3, 3, 12).astype(np.float32)
    ys, xs = np.nonzero(np.abs(decoder.decode(lat2) - base).max(axis=2))
    # everything that changed lies within the margin, and the change reaches its last latent pixel
    assert ys.min() >= SCALE * (a - m) and ys.max() < SCALE * (a + m + 1)
    assert xs.min() >= SCALE * (a - m) and xs.max() < SCALE * (a + m + 1)
    assert ys.min() < SCALE * (a - m + 1) or ys.max() >= SCALE * (a + m)


def test_plan_tiles_cover_the_latent_once():
    for lh, lw, tile in [(1, 1, 4), (26, 18, 8), (375, 500, 96), (7, 40, 16)]:
        seen = np.zeros((lh, lw), int)
        for t in plan_tiles(lh, lw, tile, 8):
            assert t.y1 - t.y0 <= tile and t.x1 - t.x0 <= tile
            assert (t.py0, t.px0) == (max(0, t.y0 - 8), max(0, t.x0 - 8))
            assert (t.py1, t.px1) == (min(lh, t.y1 + 8), min(lw, t.x1 + 8))
            seen[t.y0:t.y1, t.x0:t.x1] += 1
        assert (seen == 1).all()
    assert len(plan_tiles(26, 18, 8, 8)) == 12 and len(plan_tiles(26, 18, None, 8)) == 1


@pytest.fixture(scope="module", params=["zeros", "replicate", "replicate-up"])
def decoder_each_padding(request):
    """The bundled decoder's weights under each padding mode (tiles must match at either)."""
    from refcodec.decoder.numpy_decoder import Decoder
    from refcodec.decoder.weights import find_bundled, read_decoder_weights

    arrays, meta = read_decoder_weights(find_bundled())
    return Decoder(arrays, dict(meta, padding=request.param))


def test_tiled_equals_untiled_on_a_real_picture(decoder_each_padding, real_latent):
    decoder = decoder_each_padding
    lat, (h, w) = real_latent
    full = decoder.decode(lat)
    tiled = decode_tiled(decoder, lat, tile=8)  # 4 x 3 = 12 tiles, most of them away from any frame edge
    assert len(plan_tiles(*lat.shape[:2], 8, 8)) == 12
    assert float(np.abs(tiled - full).max()) <= 1e-5
    diff = np.abs(to_uint8(tiled).astype(int) - to_uint8(full).astype(int))
    assert diff.max() <= 1  # spec §8.4
    # and the test can fail: with a margin of 2 latent pixels the tiles break the spec's tolerance
    short = decode_tiled(decoder, lat, tile=8, margin=2)
    assert np.abs(to_uint8(short).astype(int) - to_uint8(full).astype(int)).max() > 1


@pytest.mark.parametrize("workers, tile, memory", [(1, 8, None), (3, 8, None), (2, "auto", 6 << 20)])
def test_pipeline_tiles_in_parallel_equal_the_untiled_frame(decoder, real_latent, workers, tile, memory):
    lat, (h, w) = real_latent
    if tile == "auto":  # a memory budget too small for the whole frame: tiles of 16 + margins
        assert tile_for_budget(decoder, *lat.shape[:2], memory // workers, 8) == 16
        assert tile_for_budget(decoder, *lat.shape[:2], 1 << 30, 8) is None
    want = to_uint8(decoder.decode(lat)[:h, :w])
    got = list(decode_frames(decoder, [lat, lat[:, ::-1].copy()], (h, w), workers=workers, tile=tile,
                             memory=memory))
    assert len(got) == 2 and got[0].shape == (h, w, 3) and got[0].dtype == np.uint8
    assert np.abs(got[0].astype(int) - want.astype(int)).max() <= 1
    want2 = to_uint8(decoder.decode(lat[:, ::-1].copy())[:h, :w])
    assert np.abs(got[1].astype(int) - want2.astype(int)).max() <= 1


def test_pipeline_keeps_order_and_pulls_lazily(decoder):
    rng = np.random.default_rng(1)
    lats = [rng.uniform(-1, 1, (3 + i % 3, 2 + i % 4, 12)).astype(np.float32) for i in range(11)]
    workers = 3
    pulled = 0
    ahead = []

    def source():
        nonlocal pulled
        for lat in lats:
            pulled += 1
            yield lat

    out = []
    for fr in decode_frames(decoder, source(), (8, 9), workers=workers, tile=None):
        ahead.append(pulled - len(out))
        out.append(fr)
    assert len(out) == len(lats)
    for lat, fr in zip(lats, out):
        assert np.array_equal(fr, to_uint8(decoder.decode(lat)[:8, :9]))  # same frame, same place
    assert max(ahead) <= 2 * workers + 1  # never more than the jobs in flight are held


def test_pipeline_one_pixel_frame_and_errors(decoder):
    lat = np.zeros((1, 1, 12), np.float32)
    (fr,) = decode_frames(decoder, [lat], (1, 1), workers=2)
    assert fr.shape == (1, 1, 3) and np.array_equal(fr, to_uint8(decoder.decode(lat)[:1, :1]))
    bad = np.full((2, 2, 12), np.nan, np.float32)
    from refcodec.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        list(decode_frames(decoder, [lat, bad, lat], (1, 1), workers=2))
    with pytest.raises(InvalidArgumentError):
        list(decode_frames(decoder, [lat], (9, 9), workers=1))


def test_available_workers_leave_busy_cores_alone(monkeypatch):
    from refcodec.decoder import pipeline

    for cpus, load, want in [(2, 0.0, 2), (2, 0.6, 1), (2, 6.0, 1), (16, 4.2, 12), (16, 0.4, 16)]:
        monkeypatch.setattr(pipeline.os, "getloadavg", lambda load=load: (load, load, load))
        assert pipeline.available_workers(cpus) == want
    monkeypatch.setenv("REFCODEC_THREADS", "3")
    assert pipeline.default_workers() == 3
