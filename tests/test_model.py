"""Model topology, model file, latent quantizer, memory plan and encoder plumbing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from refcodec.errors import InvalidArgumentError, ModelFileError
from refcodec.model.encoder import encode_symbols, pad_to_multiple, rgb_to_int8, run_encoder
from refcodec.model.latent_quantizer import LatentQuantizer
from refcodec.model.modelfile import EntropyTables, load_model, save_model
from refcodec.model.plan import memory_plan
from refcodec.model.random_model import make_random_model
from refcodec.model.topology import layer_geometry, parameter_count, same_padding


def test_parameter_count_is_mcucoders():
    assert parameter_count() == 10_524


@pytest.mark.parametrize(
    "size,k,s,expected",
    [(224, 7, 2, (112, 2, 3)), (112, 5, 4, (28, 0, 1)), (28, 3, 1, (28, 1, 1)), (5, 3, 2, (3, 1, 1)),
     (6, 3, 2, (3, 0, 1)), (1, 7, 4, (1, 3, 3)), (10, 1, 4, (3, 0, 0))],
)
def test_same_padding_hand_computed(size, k, s, expected):
    assert same_padding(size, k, s) == expected


def test_plan_matches_paper_at_224():
    p = memory_plan(224, 224)
    # input 224*224*3 + conv1 112*112*16 (hand-computed), the paper's "about 344 KB"
    assert p.peak_arena_bytes == 150_528 + 200_704
    assert p.peak_layer == "conv1"
    assert [t.shape for t in p.tensors][-1] == (1, 28, 28, 12)


def test_plan_odd_size():
    geos = layer_geometry(321, 481)
    assert geos[0].out_shape == (161, 241, 16)
    assert geos[-1].out_shape == (41, 61, 12)


def test_rgb_to_int8_is_pixel_minus_128():
    px = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    q = rgb_to_int8(px)
    assert q.dtype == np.int8
    assert q.min() == -128 and q.max() == 127
    assert np.array_equal(q.astype(int), px.astype(int) - 128)


def test_pad_to_multiple_replicates_edges():
    rgb = np.random.default_rng(1).integers(0, 256, (10, 13, 3), dtype=np.uint8)
    p = pad_to_multiple(rgb, 8)
    assert p.shape == (16, 16, 3)
    assert np.array_equal(p[:10, :13], rgb)
    assert np.all(p[10:, :13] == rgb[-1:, :, :])
    assert np.all(p[:, 13:] == p[:, 12:13])


def test_bad_images_rejected():
    with pytest.raises(InvalidArgumentError, match="float32"):
        rgb_to_int8(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InvalidArgumentError, match=r"\(8, 8\)"):
        rgb_to_int8(np.zeros((8, 8), np.uint8))
    with pytest.raises(InvalidArgumentError, match="multiple of 8"):
        run_encoder(make_random_model(0), np.zeros((12, 16, 3), np.uint8))


def test_latent_quantizer_hand_computed():
    # lo = -10, mult = 2^16 / 4 -> step of 4 int8 units, rounding half up, 3 bits (levels 0..7)
    lq = LatentQuantizer(3, np.array([-10], np.int32), np.array([16384], np.int32),
                         LatentQuantizer.bin_centres(3, np.array([-10], np.int32), np.array([16384], np.int32)))
    q = np.array([-128, -11, -10, -9, -8, -7, -6, 0, 2, 17, 18, 127], np.int8)[:, None]
    # d = max(q + 10, 0) = 0,0,0,1,2,3,4,10,12,27,28,137 ; (d*16384 + 32768) >> 16 = floor(d/4 + 1/2)
    want = [0, 0, 0, 0, 1, 1, 1, 3, 3, 7, 7, 7]
    assert lq.quantize(q)[:, 0].tolist() == want
    assert lq.dequantize(np.array([[0], [3], [7]], np.uint8))[:, 0].tolist() == [-10.0, 2.0, 18.0]


def test_latent_quantizer_from_ranges_covers_range():
    lq = LatentQuantizer.from_ranges(5, np.array([-50, 0]), np.array([50, 100]))
    lat = np.stack([np.array([-50, 50]), np.array([0, 100])], axis=1).astype(np.int8)
    assert lq.quantize(lat).tolist() == [[0, 0], [31, 31]]


def test_latent_quantizer_fewer_levels_is_coarser():
    # [0, 110] over 12 levels: step 10 int8 units, mult = round(11 * 65536 / 110) = 6554; symbols 12..15 unused
    lq = LatentQuantizer.from_ranges(4, np.array([0]), np.array([110]), levels=12)
    assert lq.mult.tolist() == [6554]
    lat = np.array([[0], [4], [5], [15], [110], [127]], np.int8)
    # 5 * 6554 + 2^15 = 65538 >> 16 = 1 (half up); 127 -> (127 * 6554 + 2^15) >> 16 = 13
    assert lq.quantize(lat)[:, 0].tolist() == [0, 0, 1, 2, 11, 13]
    with pytest.raises(InvalidArgumentError, match="levels 17"):
        LatentQuantizer.from_ranges(4, np.array([0]), np.array([110]), levels=17)


def test_latent_quantizer_rejects_bad_params():
    with pytest.raises(InvalidArgumentError, match="bits 9"):
        LatentQuantizer(9, np.zeros(1, np.int32), np.ones(1, np.int32), np.zeros((1, 512), np.float32))
    with pytest.raises(InvalidArgumentError, match="mult"):
        LatentQuantizer(2, np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros((1, 4), np.float32))


def test_model_file_round_trip(tmp_path):
    m = make_random_model(3)
    p = save_model(m, tmp_path / "m.npz")
    m2 = load_model(p)
    assert m2.model_id == m.model_id
    for a, b in zip(m.layers, m2.layers):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.multiplier, b.multiplier)
    rgb = np.random.default_rng(0).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    assert np.array_equal(encode_symbols(m, rgb), encode_symbols(m2, rgb))
    assert not list(tmp_path.glob(".*tmp"))


def test_model_id_depends_on_content_and_rounding():
    a, b = make_random_model(0), make_random_model(1)
    assert a.model_id != b.model_id
    assert a.model_id == make_random_model(0).model_id
    assert a.with_rounding("single").model_id != a.model_id
    assert len(a.model_id_bytes) == 32


def _rewrite(path, out, **changes):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k.replace("__", "."))
        else:
            arrays[k.replace("__", ".")] = v
    np.savez(out, **arrays)
    return out


def test_model_file_tampering_detected(tmp_path):
    p = save_model(make_random_model(0), tmp_path / "m.npz")
    with np.load(p, allow_pickle=False) as z:
        w = z["conv2.weights"].copy()
        header = json.loads(z["header"].tobytes())
    w[0, 0, 0, 0] = 1 if w[0, 0, 0, 0] != 1 else 2
    with pytest.raises(ModelFileError, match="content hash"):
        load_model(_rewrite(p, tmp_path / "a.npz", conv2__weights=w))
    with pytest.raises(ModelFileError, match="missing array 'conv1.bias'"):
        load_model(_rewrite(p, tmp_path / "b.npz", conv1__bias=None))
    with pytest.raises(ModelFileError, match="dtype float64"):
        load_model(_rewrite(p, tmp_path / "c.npz", conv1__bias=np.zeros(16)))
    mult = header["layers"][0]
    with np.load(p, allow_pickle=False) as z:
        m = z["conv1.multiplier"].copy()
    m[3] += 1
    with pytest.raises(ModelFileError, match="conv1.multiplier does not match"):
        load_model(_rewrite(p, tmp_path / "d.npz", conv1__multiplier=m))
    header["version"] = 99
    bad = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with pytest.raises(ModelFileError, match="unsupported version 99"):
        load_model(_rewrite(p, tmp_path / "e.npz", header=bad))
    assert mult["name"] == "conv1"


def test_model_file_never_unpickles(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="pickled object data, which refcodec never loads"):
        load_model(p)


def test_model_file_garbage_and_missing(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(ModelFileError, match="not a valid .npz"):
        load_model(tmp_path / "junk.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="not a zip archive"):
        load_model(tmp_path / "text.npz")
    with pytest.raises(ModelFileError, match="cannot read model file"):
        load_model(tmp_path / "nope.npz")


def test_entropy_tables_validated():
    with pytest.raises(InvalidArgumentError, match="Kraft"):
        EntropyTables(np.array([[1, 1, 1, 0]], np.uint8))
    with pytest.raises(InvalidArgumentError, match="exceeds 15"):
        EntropyTables(np.array([[16, 1, 2, 0]], np.uint8))
    m = make_random_model(0, bits=2)
    t = EntropyTables(np.tile(np.array([[1, 2, 3, 3]], np.uint8), (12, 1)))
    assert m.with_entropy(t).model_id != m.model_id


def test_random_model_uses_the_int8_range():
    m = make_random_model(0)
    rgb = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    t = run_encoder(m, rgb, path="reference")
    for name in ("conv1", "conv2", "latent"):
        x = t[name]
        assert x.dtype == np.int8 and x.ndim == 4
        # not all saturated, not all at the zero point
        assert 8 < len(np.unique(x)) and np.mean(np.abs(x.astype(int)) == 127) < 0.5


def test_model_whose_accumulator_may_overflow_is_rejected():
    """Spec §4.3: B[c] = 255 * sum|w[c]| + |bias[c]| must stay below 2^31."""
    from refcodec.model.modelfile import make_layer

    w = np.full((16, 7, 7, 3), 127, np.int8)  # 255 * 127 * 147 = 4,760,595
    ok_bias = np.full(16, (1 << 31) - 1 - 255 * 127 * 147, np.int64).astype(np.int32)
    scales = np.full(16, 1e-3, np.float32)
    make_layer("conv1", w, ok_bias, scales, 1 / 255, 0.5, -128, 2, "relu")
    bad_bias = ok_bias.copy()
    bad_bias[5] += 1
    with pytest.raises(InvalidArgumentError, match="output channel 5 may overflow"):
        make_layer("conv1", w, bad_bias, scales, 1 / 255, 0.5, -128, 2, "relu")
