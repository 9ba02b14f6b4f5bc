"""The model file as spec §4.1 defines it, checked by an independent reader (zipfile, json, hashlib, numpy.load;
nothing of refcodec.model.modelfile), and hostile model files (issue 12 items 1, 3 and 10)."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from refcodec.errors import ModelFileError
from refcodec.model.modelfile import load_model, save_model
from refcodec.model.random_model import make_random_model

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILES = sorted((ROOT / "vectors" / "models").glob("*.npz")) + sorted((ROOT / "refcodec" / "assets").glob("encoder-*.npz"))

# spec §4.1 table: array name -> (dtype as numpy writes it, shape) for C = 12 latent channels and b bits
LAYERS = (("conv1", 16, 7, 3), ("conv2", 16, 5, 16), ("conv3", 12, 3, 16))


def spec_layout(bits: int, tables: bool, context: bool, inter: bool = False) -> dict[str, tuple[str, tuple[int, ...]]]:
    out = {}
    for name, o, k, i in LAYERS:
        out[f"{name}.weights"] = ("|i1", (o, k, k, i))
        out[f"{name}.bias"] = out[f"{name}.multiplier"] = out[f"{name}.shift"] = ("<i4", (o,))
        out[f"{name}.weight_scales"] = ("<f4", (o,))
    out["lq.lo"] = out["lq.mult"] = ("<i4", (12,))
    out["lq.recon"] = ("<f4", (12, 2 ** bits))
    if tables:
        out["entropy.code_lengths"] = ("|u1", (12, 2 ** bits))
    if context:
        nb = min(2 ** bits, 16)
        out["entropy.context_code_lengths"] = ("|u1", (12, (nb + 1) ** 2, 2 ** bits))
    if inter:  # spec 2.2, §4.1 / §6.7
        out["entropy.inter_freqs"] = ("<u2", (3 * 2 ** bits, 2 ** bits))
    return out


def spec_model_id(path: Path) -> tuple[str, str]:
    """(computed id, stored id) of a model file, from spec §4.1's text alone."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(n[:-4] for n in zf.namelist())
    with np.load(path, allow_pickle=False) as z:
        arrays = {n: z[n] for n in names}
    header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    stored = header["model_id"]
    canon = {k: v for k, v in header.items() if k not in ("meta", "model_id")}
    h = hashlib.sha256(json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                                  allow_nan=False).encode("ascii"))
    layout = spec_layout(header["latent_quantizer"]["bits"], header["entropy"]["tables"],
                         header["entropy"].get("context_tables", False), header["entropy"].get("inter_tables", False))
    assert sorted(arrays) == sorted(layout), (sorted(arrays), sorted(layout))
    for name in sorted(arrays):
        a = arrays[name]
        dtype, shape = layout[name]
        assert (a.dtype.str, a.shape) == (dtype, shape), name
        h.update(f'["{name}","{dtype}",[{",".join(str(d) for d in shape)}]]'.encode("ascii"))
        h.update(np.ascontiguousarray(a).tobytes())  # little-endian data, C order
    return h.hexdigest(), stored


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_model_id_from_the_spec_text(path):
    computed, stored = spec_model_id(path)
    assert computed == stored
    assert load_model(path).model_id == stored


def test_model_id_of_a_model_with_non_ascii_meta(tmp_path):
    """`meta` is outside the id: any meta, same id."""
    m = make_random_model(3)
    a = save_model(m, tmp_path / "a.npz")
    b = save_model(type(m)(m.layers, m.rounding, m.latent_quantizer, m.entropy, {"note": "Grüße, ∑"}), tmp_path / "b.npz")
    assert spec_model_id(a) == spec_model_id(b) and spec_model_id(a)[0] == m.model_id


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(path, arrays, header=None, id_from_spec=True):
    """Write arrays (+ header dict) as an npz; with id_from_spec the model_id is recomputed per the spec, so
    the only fault is the one the test put in."""
    arrays = dict(arrays)
    if header is not None:
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)
    if id_from_spec:
        header = json.loads(arrays["header"].tobytes())
        header["model_id"] = spec_model_id(path)[0]
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        np.savez(path, **arrays)
    return path


def test_model_id_is_required(tmp_path):
    """Before: a model file without model_id loaded unchecked (and encode wrote a new id)."""
    arrays = _arrays(save_model(make_random_model(0), tmp_path / "m.npz"))
    header = json.loads(arrays["header"].tobytes())
    del header["model_id"]
    with pytest.raises(ModelFileError, match="no model_id") as info:
        load_model(_write(tmp_path / "x.npz", arrays, header, id_from_spec=False))
    assert info.value.exit_code == 4


@pytest.mark.parametrize("fault, match", [("length16", "exceeds 15"), ("kraft", "Kraft"),
                                          ("ctx_kraft", "Kraft")])
def test_invalid_code_lengths_are_model_file_errors(tmp_path, fault, match):
    """Spec §4.1 / §6.2: code lengths above 15 or breaking Kraft make the model file invalid: ModelFileError
    (exit code 4) when it is loaded, before any stream (the id is right, so only the lengths are wrong)."""
    from refcodec.model.registry import resolve_model

    src = ROOT / "vectors" / "models" / "rand-ctx.npz"
    arrays = _arrays(src)
    header = json.loads(arrays["header"].tobytes())
    if fault == "length16":
        arrays["entropy.code_lengths"] = arrays["entropy.code_lengths"].copy()
        arrays["entropy.code_lengths"][2, 5] = 16
    elif fault == "kraft":
        arrays["entropy.code_lengths"] = np.ones_like(arrays["entropy.code_lengths"])
    else:
        arrays["entropy.context_code_lengths"] = arrays["entropy.context_code_lengths"].copy()
        arrays["entropy.context_code_lengths"][4, 7, :3] = 1
    bad = _write(tmp_path / "bad.npz", arrays, header)
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(bad)
    assert info.value.exit_code == 4
    with pytest.raises(ModelFileError):
        resolve_model(str(bad))


def test_huge_declared_member_rejected_unread(tmp_path):
    """A member whose declared size is far beyond its array's (64 MiB of zeros, 65 KB compressed): rejected from
    the zip directory before anything is read (before: read whole, 3 GiB in the issue's case)."""
    arrays = _arrays(save_model(make_random_model(0), tmp_path / "m.npz"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            member = io.BytesIO()
            np.save(member, np.zeros(64 << 20, np.int8) if name == "conv1.weights" else a)
            zf.writestr(name + ".npy", member.getvalue())
    bad = tmp_path / "huge.npz"
    bad.write_bytes(buf.getvalue())
    assert bad.stat().st_size < 1 << 20
    with pytest.raises(ModelFileError, match="declares") as info:
        load_model(bad)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            load_model(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak
    assert info.value.exit_code == 4


def test_npy_header_shape_checked_before_allocation(tmp_path):
    """A small member whose .npy header claims 2^31 float32 values: rejected by its shape, nothing allocated."""
    arrays = _arrays(save_model(make_random_model(0), tmp_path / "m.npz"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, a in arrays.items():
            member = io.BytesIO()
            np.save(member, a)
            raw = member.getvalue()
            if name == "lq.recon":
                head = np.lib.format.header_data_from_array_1_0(a)
                head["shape"] = (1 << 31,)
                member = io.BytesIO()
                np.lib.format.write_array_header_1_0(member, head)
                raw = member.getvalue() + a.tobytes()
            zf.writestr(name + ".npy", raw)
    bad = tmp_path / "shape.npz"
    bad.write_bytes(buf.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="shape"):
            load_model(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak


def test_unexpected_member_rejected(tmp_path):
    p = save_model(make_random_model(0), tmp_path / "m.npz")
    arrays = _arrays(p)
    arrays["extra"] = np.zeros(3, np.int8)
    with pytest.raises(ModelFileError, match="unexpected"):
        load_model(_write(tmp_path / "x.npz", arrays, id_from_spec=False))
