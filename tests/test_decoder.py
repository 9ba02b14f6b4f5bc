"""NumPy float decoder (refcodec.decoder) against PyTorch's ops on the same weights, weight-file checks."""

from __future__ import annotations

import shutil
from pathlib import Path

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


def _random_decoder(widths=(32, 24, 16), blocks=(1, 2, 1), seed=0):
    torch.manual_seed(seed)
    dec = TorchDecoder(widths, blocks).eval()
    with torch.no_grad():  # larger than default init so that every block matters and the sigmoid is not flat
        for p in dec.parameters():
            p.mul_(2.0)
    return dec


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (1, 1)])
def test_numpy_matches_torch(tmp_path, shape):
    dec = _random_decoder()
    path = export_decoder(dec, tmp_path)
    np_dec = load_decoder(path)
    rng = np.random.default_rng(1)
    latent = rng.normal(0.0, 0.6, size=(*shape, 12)).astype(np.float32)
    latent[..., 7:] = 0.0  # tail-dropped channels
    out = np_dec.decode(latent)
    ref = _torch_decode(dec, latent)
    assert out.shape == (8 * shape[0], 8 * shape[1], 3) and out.dtype == np.float32
    assert float(np.abs(out - ref).max()) <= 1e-3
    assert float(ref.std()) > 1e-3  # the comparison is not between two constants


def test_bundled_decoder_matches_torch():
    if not list(ASSETS_DIR.glob("decoder-*.npz")):
        pytest.skip("no bundled decoder")
    np_dec = load_decoder()
    arrays, meta = read_decoder_weights(next(ASSETS_DIR.glob("decoder-*.npz")))
    dec = TorchDecoder(tuple(meta["widths"]), tuple(meta["blocks"])).eval()
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
