"""Training pipeline on the CPU (tiny config): train -> PTQ -> model file -> latent quantizer -> Huffman tables
-> decoder fine-tune -> NumPy decoder. Also the pieces whose semantics other modules rely on."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from refcodec.decoder import load_decoder  # noqa: E402
from refcodec.decoder.weights import read_decoder_weights  # noqa: E402
from refcodec.errors import InvalidArgumentError  # noqa: E402
from refcodec.model.modelfile import load_model  # noqa: E402
from refcodec.model.topology import layer_geometry  # noqa: E402
from refcodec.training.config import get_config  # noqa: E402
from refcodec.training.nets import Encoder  # noqa: E402
from refcodec.training.train import tail_drop_mask, train  # noqa: E402

from datasets import TRAIN as TRAIN_DIR
from datasets import needs_train as needs_data


@needs_data
def test_tiny_pipeline_end_to_end(tmp_path, monkeypatch):
    from refcodec.training import pipeline
    from refcodec.training.calibrate import dequantize_latent

    cfg = get_config("tiny")
    out = tmp_path / "run"
    train(cfg, steps=6, out=out, data_dir=TRAIN_DIR, quiet=True, log_every=3)
    logs = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [3, 6] and all(np.isfinite(r["loss"]) for r in logs)
    # resume continues from the checkpointed step
    ck = train(cfg, steps=8, out=out, resume=True, data_dir=TRAIN_DIR, quiet=True, log_every=2)
    assert ck["step"] == 8
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["step"] == 8

    cfg_, enc, dec, info = pipeline.load_float(out / "ckpt.pt")
    assert info["step"] == 8 and cfg_ == cfg
    images = [im[:64, :96] for im in pipeline.training_set(3, TRAIN_DIR)]
    model, lat = pipeline.build_model(enc, cfg, 4, images[:2], images, {"test": True})
    assert lat[0].shape == (8, 12, 12) and lat[0].dtype == np.int8
    ft = pipeline.finetune_decoder(dec, model, images, lat, cfg, steps=2, lr=1e-4, out=tmp_path / "ft")
    assert ft["steps"] == 2
    enc_path, dec_path = pipeline.export_assets(model, dec, tmp_path / "assets")

    loaded = load_model(enc_path)  # validates multipliers, topology, quantizer, tables
    assert loaded.model_id == model.model_id and enc_path.name == f"encoder-{model.model_id[:8]}.npz"
    assert loaded.latent_quantizer.bits == 4 and loaded.entropy is not None
    assert int((loaded.entropy.code_lengths == 0).sum()) == 0  # every symbol codable (+1 smoothing)
    sym = loaded.latent_quantizer.quantize(lat[0])
    assert sym.dtype == np.uint8 and int(sym.max()) < 16
    np_dec = load_decoder(dec_path)
    for k in (1, 12):
        y = dequantize_latent(loaded, sym, k)
        assert np.all(y[..., k:] == 0.0)
        img = np_dec.decode(y)
        assert img.shape == (64, 96, 3) and np.all((img >= 0) & (img <= 1))

    # continue training the exported decoder with a coarser latent quantizer (no stage-1 checkpoint needed)
    res = pipeline.main(["finetune", "--from", str(tmp_path / "assets"), "--config", "tiny", "--steps", "2",
                         "--levels", "12", "--images", "2", "--out", str(tmp_path / "ft2"),
                         "--assets", str(tmp_path / "assets2")])
    assert res == 0
    (enc2,) = (tmp_path / "assets2").glob("encoder-*.npz")
    m2 = load_model(enc2)
    assert m2.layers[0].weights.tobytes() == loaded.layers[0].weights.tobytes()  # the INT8 encoder is unchanged
    assert m2.meta["training"]["finetune_steps"] == 2 and m2.meta["training"]["latent_levels"] == 12
    assert np.all(m2.latent_quantizer.mult < loaded.latent_quantizer.mult)  # coarser step
    assert load_decoder(next((tmp_path / "assets2").glob("decoder-*.npz"))).decode(
        dequantize_latent(m2, m2.latent_quantizer.quantize(lat[0]), 12)).shape == (64, 96, 3)

    # the border loss of issue 13 (reflect-padded MS-SSIM, crops against frame edges), with latent context
    # around the crops and the decoder switched to replicate padding, runs and is recorded; --l1-weight reaches
    # the loss of every step
    seen = []
    loss_fn = pipeline.finetune_loss
    monkeypatch.setattr(pipeline, "finetune_loss", lambda *a, **k: seen.append(a[2].l1_weight) or loss_fn(*a, **k))
    res = pipeline.main(["finetune", "--from", str(tmp_path / "assets2"), "--config", "tiny", "--steps", "2",
                         "--loss", "border-edge", "--edge-ring", "3", "--edge-weight", "20", "--context", "2",
                         "--padding", "replicate", "--l1-weight", "0.4", "--images", "2",
                         "--out", str(tmp_path / "ft3"), "--assets", str(tmp_path / "assets3")])
    assert res == 0 and seen == [0.4, 0.4]
    monkeypatch.undo()
    m3 = load_model(next((tmp_path / "assets3").glob("encoder-*.npz")))
    assert m3.meta["training"]["finetune_steps"] == 4
    assert m3.meta["training"]["finetune_runs"][-1] == {"steps": 2, "lr": 2e-4, "loss": "border-edge", "edge_ring": 3,
                                                        "edge_weight": 20.0, "context": 2, "padding": "replicate",
                                                        "l1_weight": 0.4}
    assert "loss" not in m3.meta["training"]["finetune_runs"][0]
    assert m3.model_id == m2.model_id  # no --levels: the encoder file's content (tables included) is kept
    with pytest.raises(InvalidArgumentError, match="--edge-weight 0.5"):  # refused before any work
        pipeline.main(["finetune", "--steps", "1", "--loss", "border-edge", "--edge-weight", "0.5",
                       "--out", str(tmp_path / "ft4"), "--assets", str(tmp_path / "assets4")])
    assert not (tmp_path / "ft4").exists()
    for bad in ("-0.1", "1.5"):
        with pytest.raises(InvalidArgumentError, match=f"--l1-weight {bad}"):
            pipeline.main(["finetune", "--steps", "1", "--l1-weight", bad,
                           "--out", str(tmp_path / "ft5"), "--assets", str(tmp_path / "assets5")])
    assert not (tmp_path / "ft5").exists()
    d2 = next((tmp_path / "assets2").glob("decoder-*.npz")).name
    d3 = next((tmp_path / "assets3").glob("decoder-*.npz"))
    assert d3.name != d2  # the weights moved
    assert read_decoder_weights(d3)[1]["padding"] == "replicate" and load_decoder(d3).padding == "replicate"
    assert "padding" not in read_decoder_weights(tmp_path / "assets2" / d2)[1]  # zeros: the key is absent


def test_encoder_padding_matches_topology():
    enc = Encoder()
    for h, w in [(224, 224), (64, 96), (8, 16)]:
        outs = enc(torch.zeros(1, 3, h, w), return_all=True)
        geo = layer_geometry(h, w)
        assert [tuple(o.shape[2:]) + (o.shape[1],) for o in outs] == [g.out_shape for g in geo]


def test_same_padding_is_tflite_asymmetric():
    # conv1 at 16x16: out 8, total pad 5 -> 2 rows on top, 3 at the bottom. A kernel picking the top-left
    # tap sees input[2*oy - 2, 2*ox - 2]: zero for oy = 0 and 1, input[0] for oy = 1 ... check directly.
    enc = Encoder()
    conv = enc.convs[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # top-left tap of channel 0
    x = torch.arange(256, dtype=torch.float32).view(1, 1, 16, 16).repeat(1, 3, 1, 1) + 1
    with torch.no_grad():
        y = conv(x)[0, 0]
    # output (oy, ox) reads padded[2oy, 2ox] = x[2oy - 2, 2ox - 2] (zero when negative)
    assert float(y[0, 0]) == 0.0 and float(y[1, 1]) == float(x[0, 0, 0, 0])
    assert float(y[2, 3]) == float(x[0, 0, 2, 4])


def test_tail_drop_mask():
    gen = torch.Generator().manual_seed(0)
    m = tail_drop_mask(2000, generator=gen)[:, :, 0, 0]
    ks = m.sum(1)
    assert torch.all(m[:, 0] == 1)  # channel 0 is always kept
    assert torch.all((m[:, 1:] <= m[:, :-1]))  # a prefix is kept
    assert int(ks.min()) == 1 and int(ks.max()) == 12
    counts = torch.bincount(ks.long(), minlength=13)[1:].float()
    assert float(counts.min()) > 100  # roughly uniform over 1..12
    assert torch.all(tail_drop_mask(3, k=5)[:, :, 0, 0].sum(1) == 5)


def test_torch_ms_ssim_matches_numpy_metric():
    metrics = pytest.importorskip("refcodec.eval.metrics")
    from refcodec.training.msssim import ms_ssim

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (192, 176, 3)).astype(np.float32)
    a = (a + np.roll(a, 1, 0) + np.roll(a, 1, 1)) / 3
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    t = lambda x: torch.from_numpy(x.transpose(2, 0, 1).copy())[None]  # noqa: E731
    ours = float(ms_ssim(t(a), t(b), scales=5)[0])
    assert abs(ours - metrics.ms_ssim(a, b)) < 1e-4


def test_ptq_latent_tracks_float_encoder():
    """The bit-exact INT8 encoder's latent is the float encoder's clamped latent up to quantization error."""
    from refcodec.model.encoder import run_encoder
    from refcodec.training.ptq import quantize_encoder

    torch.manual_seed(0)
    enc = Encoder().eval()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (16, 16, 3))
    img = np.kron(base, np.ones((4, 4, 1))).astype(np.uint8)  # 64x64, smooth enough
    model = quantize_encoder(enc, [img], latent_bound=0.05, percentile=100.0)
    q = run_encoder(model, img)["latent"][0].astype(np.float32)
    with torch.no_grad():
        f = enc(torch.from_numpy(img.transpose(2, 0, 1).copy()).float()[None] / 255.0)[0].numpy()
    f = np.clip(f.transpose(1, 2, 0), -0.05, 0.05)
    err = np.abs(q * model.latent_scale - f)
    assert float(f.std()) > 0.005
    assert float(err.mean()) < 0.05 * 0.1 and float(err.max()) < 0.05 * 0.3


def test_bad_config_name():
    with pytest.raises(InvalidArgumentError, match="'huge'"):
        get_config("huge")
