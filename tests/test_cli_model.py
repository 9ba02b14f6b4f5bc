"""`refcodec plan`, `refcodec export tflite` and `refcodec encode --dump-layers` from the command line
(in-process with click's runner): results, and one-line errors with non-zero exit codes on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from refcodec.cli.main import cli
from refcodec.model.encoder import run_encoder
from refcodec.model.random_model import make_random_model
from refcodec.model.modelfile import save_model

from tflm_oracle import require_tflm, run_tflm


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_plan_json_at_224():
    r = _run("plan", "--model", "random", "--size", "224x224", "--json")
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    assert plan["peak_arena_bytes"] == 224 * 224 * 3 + 112 * 112 * 16
    assert [t["shape"] for t in plan["tensors"]] == [[1, 224, 224, 3], [1, 112, 112, 16], [1, 28, 28, 16],
                                                    [1, 28, 28, 12]]
    assert plan["model_id"] == make_random_model(0).model_id


def test_plan_text_mentions_peak():
    r = _run("plan", "--model", "random", "--size", "320x240")
    assert r.exit_code == 0
    assert "peak arena: 537,600 bytes" in r.output  # 240*320*3 + 120*160*16 = 230,400 + 307,200


@pytest.mark.parametrize("size", ["0x5", "abc", "224", "20000x10", "-3x4"])
def test_plan_bad_size(size):
    r = _run("plan", "--model", "random", "--size", size)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("refcodec: error:") and size in lines[0]


def test_bad_model_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 100)
    for args in (["plan", "--model", bad], ["export", "tflite", "--model", bad, "-o", tmp_path / "x.tflite"],
                 ["plan", "--model", tmp_path / "missing.npz"]):
        r = _run(*args)
        assert r.exit_code == 4, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert not (tmp_path / "x.tflite").exists()


def test_exported_tflite_runs_in_tflm_like_run_encoder(tmp_path):
    require_tflm()
    model = make_random_model(11)
    mpath = save_model(model, tmp_path / "m.npz")
    out = tmp_path / "enc.tflite"
    r = _run("export", "tflite", "--model", mpath, "--size", "40x24", "-o", out)
    assert r.exit_code == 0, r.output
    rgb = np.random.default_rng(3).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    ours = run_encoder(model, rgb)
    theirs = run_tflm(out.read_bytes(), ours["input"])
    for name, t in zip(("conv1", "conv2", "latent"), theirs):
        assert np.array_equal(ours[name][0], t), name


def test_dump_layers_are_the_encoder_tensors(tmp_path):
    import imageio.v3 as iio

    rgb = np.random.default_rng(4).integers(0, 256, (21, 30, 3), dtype=np.uint8)  # odd size: padded to 24x32
    iio.imwrite(tmp_path / "in.png", rgb)
    r = _run("encode", tmp_path / "in.png", "-o", tmp_path / "o.mcuc", "--model", "random",
             "--dump-layers", tmp_path / "layers")
    assert r.exit_code == 0, r.output
    from refcodec.model.encoder import pad_to_multiple

    want = run_encoder(make_random_model(0), pad_to_multiple(rgb), path="reference")
    for name, t in want.items():
        got = np.load(tmp_path / "layers" / f"{name}.npy", allow_pickle=False)
        assert got.dtype == np.int8 and np.array_equal(got, t), name
