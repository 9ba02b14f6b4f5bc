"""NumPy float decoder (refcodec.decoder) against PyTorch's ops on the same weights, weight-file checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from refcodec.decoder import load_decoder
from refcodec.decoder.weights import ASSETS_DIR, read_decoder_weights, write_decoder_weights
from refcodec.errors import InputFileError, InvalidArgumentError, ModelFileError

torch = pytest.importorskip("torch")

from refcodec.training.export import export_decoder  # noqa: E402
from refcodec.training.nets import Decoder as TorchDecoder  # noqa: E402


def _torch_decode(dec, latent: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        y = dec(torch.from_numpy(np.ascontiguousarray(latent.transpose(2, 0, 1)))[None])
    return y[0].numpy().transpose(1, 2, 0)


def _random_decoder(widths=(32, 24, 16), blocks=(1, 2, 1), seed=0, padding="zeros"):
    torch.manual_seed(seed)
    dec = TorchDecoder(widths, blocks, padding).eval()
    with torch.no_grad():  # larger than default init so that every block matters and the sigmoid is not flat
        for p in dec.parameters():
            p.mul_(2.0)
    return dec


@pytest.mark.parametrize("padding", ["zeros", "replicate", "replicate-up"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (1, 1)])
def test_numpy_matches_torch(tmp_path, shape, padding):
    dec = _random_decoder(padding=padding)
    path = export_decoder(dec, tmp_path)
    np_dec = load_decoder(path)
    assert np_dec.padding == padding
    rng = np.random.default_rng(1)
    latent = rng.normal(0.0, 0.6, size=(*shape, 12)).astype(np.float32)
    latent[..., 7:] = 0.0  # tail-dropped channels
    out = np_dec.decode(latent)
    ref = _torch_decode(dec, latent)
    assert out.shape == (8 * shape[0], 8 * shape[1], 3) and out.dtype == np.float32
    assert float(np.abs(out - ref).max()) <= 1e-3
    assert float(ref.std()) > 1e-3  # the comparison is not between two constants


def _conv_transpose_by_hand(x: np.ndarray, w: np.ndarray, b: np.ndarray, replicate: bool) -> np.ndarray:
    """torch.nn.ConvTranspose2d(k4, s2, p1) by its definition, out[2i + kh - 1, 2j + kw - 1] += x[i, j] w[kh, kw],
    with the input first extended by one pixel per side (zeros, or the edge pixels) and the outputs those
    extra pixels produce beyond [0, 2h) x [0, 2w) dropped."""
    h, wd, cin = x.shape
    xe = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge" if replicate else "constant")
    out = np.zeros((2 * h, 2 * wd, w.shape[1]), np.float64)
    for i in range(-1, h + 1):
        for j in range(-1, wd + 1):
            for kh in range(4):
                for kw in range(4):
                    oy, ox = 2 * i + kh - 1, 2 * j + kw - 1
                    if 0 <= oy < 2 * h and 0 <= ox < 2 * wd:
                        out[oy, ox] += xe[i + 1, j + 1] @ w[:, :, kh, kw]
    return out + b


@pytest.mark.parametrize("replicate", [False, True])
def test_upsampling_layer_by_hand(replicate):
    from refcodec.decoder.numpy_decoder import _ConvT

    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    x = rng.normal(size=(3, 4, 3)).astype(np.float32)
    got = _ConvT(w, b, replicate)(x)
    assert float(np.abs(got - _conv_transpose_by_hand(x, w, b, replicate)).max()) <= 1e-5
    other = _conv_transpose_by_hand(x, w, b, not replicate)
    assert float(np.abs(got[0] - other[0]).max()) > 1e-2  # the outermost row depends on the mode
    assert float(np.abs(got[1:-1, 1:-1] - other[1:-1, 1:-1]).max()) <= 1e-5  # nothing else does


def test_padding_changes_only_the_frame_edge(tmp_path):
    """Same weights, two padding modes: outputs farther than the receptive margin from every edge are equal,
    the edge differs."""
    from refcodec.decoder.tiling import SCALE, receptive_margin

    dec = _random_decoder()
    zeros = load_decoder(export_decoder(dec, tmp_path / "z"))
    m = receptive_margin(zeros)
    lat = np.random.default_rng(4).normal(0.0, 0.6, size=(2 * m + 3, 2 * m + 2, 12)).astype(np.float32)
    a = zeros.decode(lat)
    inner = slice(SCALE * m, -SCALE * m)
    outs = {}
    for padding in ("replicate", "replicate-up"):
        dec.padding = padding
        outs[padding] = b = load_decoder(export_decoder(dec, tmp_path / padding)).decode(lat)
        assert float(np.abs(a[inner, inner] - b[inner, inner]).max()) <= 1e-5
        assert float(np.abs(a[0] - b[0]).max()) > 1e-2
    assert float(np.abs(outs["replicate"][0] - outs["replicate-up"][0]).max()) > 1e-2  # three distinct modes


def test_padding_mode_in_the_weight_file(tmp_path):
    dec = _random_decoder(padding="replicate")
    path = export_decoder(dec, tmp_path)
    arrays, meta = read_decoder_weights(path)
    assert meta["padding"] == "replicate"
    assert "padding" not in read_decoder_weights(export_decoder(_random_decoder(), tmp_path / "z"))[1]
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    bad = write_decoder_weights(arrays, dict(meta, padding="reflect"), tmp_path / "bad")
    with pytest.raises(ModelFileError, match="padding 'reflect'"):
        load_decoder(bad)
    with pytest.raises(ValueError, match="padding"):
        TorchDecoder(padding="reflect")


def test_bundled_decoder_matches_torch():
    if not list(ASSETS_DIR.glob("decoder-*.npz")):
        pytest.skip("no bundled decoder")
    np_dec = load_decoder()
    arrays, meta = read_decoder_weights(next(ASSETS_DIR.glob("decoder-*.npz")))
    dec = TorchDecoder(tuple(meta["widths"]), tuple(meta["blocks"]), meta.get("padding", "zeros")).eval()
    dec.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    latent = np.random.default_rng(2).uniform(-1, 1, size=(6, 5, 12)).astype(np.float32)
    out = np_dec.decode(latent)
    assert out.shape == (48, 40, 3)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(np.abs(out - _torch_decode(dec, latent)).max()) <= 1e-3


def test_hash_in_name_is_checked(tmp_path):
    path = export_decoder(_random_decoder(), tmp_path)
    renamed = tmp_path / "other" / "decoder-00000000.npz"
    renamed.parent.mkdir()
    shutil.copy(path, renamed)
    with pytest.raises(ModelFileError, match="00000000"):
        load_decoder(renamed)


def test_export_replaces_older_weights(tmp_path):
    first = export_decoder(_random_decoder(seed=0), tmp_path)
    second = export_decoder(_random_decoder(seed=1), tmp_path)
    assert first != second and not first.exists() and second.exists()
    assert [p.name for p in tmp_path.glob("decoder-*.npz")] == [second.name]


def test_bad_files_and_inputs(tmp_path):
    with pytest.raises(InputFileError):
        load_decoder(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        load_decoder(junk)
    incomplete = write_decoder_weights({"head.weight": np.zeros((8, 12, 3, 3), np.float32)},
                                       {"widths": [8, 8, 8], "blocks": [1, 1, 1]}, tmp_path / "inc")
    with pytest.raises(ModelFileError):
        load_decoder(incomplete)
    np_dec = load_decoder(export_decoder(_random_decoder(), tmp_path))
    with pytest.raises(InvalidArgumentError, match=r"\(4, 4, 11\)"):
        np_dec.decode(np.zeros((4, 4, 11), np.float32))
    with pytest.raises(InvalidArgumentError, match="float64"):
        np_dec.decode(np.zeros((4, 4, 12), np.float64))
    bad = np.zeros((2, 2, 12), np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(InvalidArgumentError):
        np_dec.decode(bad)


def test_weight_file_rejects_pickles(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError):
        read_decoder_weights(path)
