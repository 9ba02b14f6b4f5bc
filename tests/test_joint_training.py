"""Joint encoder + decoder fine-tuning (refcodec.training.joint, issue 13): the float twin of an INT8 model, the
straight-through latent path, and the whole command on the tiny config."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from refcodec.decoder.weights import find_bundled, read_decoder_weights  # noqa: E402
from refcodec.model.encoder import run_encoder  # noqa: E402
from refcodec.model.modelfile import load_model  # noqa: E402
from refcodec.model.random_model import make_random_model  # noqa: E402
from refcodec.model.registry import default_model  # noqa: E402
from refcodec.training.calibrate import dequantize_latent  # noqa: E402
from refcodec.training.joint import float_encoder, main, quantize_ste, used_levels  # noqa: E402

from datasets import needs_train


def _photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients + noise + a sharp edge: exercises every layer's range, saturation included."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([255 * xx / w, 255 * yy / h, 128 + 100 * np.sin(xx / 5.0)], -1)
    base[h // 3:, : w // 2] = 250
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("which", ["bundled", "random"])
def test_float_twin_tracks_the_int8_encoder(which):
    model = default_model() if which == "bundled" else make_random_model(0)
    im = _photo_like(48, 64)
    ref = run_encoder(model, im)["latent"][0].astype(np.int64)
    with torch.no_grad():
        pre = float_encoder(model)(torch.from_numpy(im.transpose(2, 0, 1).copy()).float()[None] / 255.0)
    last = model.layers[-1]
    twin = (torch.round(pre / float(last.output_scale)) + last.output_zero_point).clamp(-128, 127)
    twin = twin[0].permute(1, 2, 0).numpy().astype(np.int64)
    assert twin.shape == ref.shape
    # INT8 rounds at every layer, the twin does not: a few int8 steps apart, never more (a wrong weight layout,
    # bias scale or a missing saturation of the ReLU layers gives tens of steps)
    assert np.abs(twin - ref).max() <= 4
    assert np.mean(twin == ref) > 0.3


def test_relu_layers_saturate_where_int8_does():
    model = default_model()
    enc = float_encoder(model)
    for layer, r in zip(model.layers, enc.ranges):
        assert r == pytest.approx((127 - layer.output_zero_point) * layer.output_scale)
    with torch.no_grad():
        outs = enc(torch.ones(1, 3, 32, 32) * 4.0, return_all=True)  # far outside [0, 1]: saturates
    for out, act, r in zip(outs, enc.activations, enc.ranges):
        if act == "relu":
            assert float(out.max()) <= r + 1e-6 and float(out.min()) >= 0.0


def test_quantize_ste_forward_is_the_real_latent_path_and_backward_the_clamp():
    model = default_model()
    rng = np.random.default_rng(1)
    pre = torch.from_numpy(rng.uniform(-1.4, 1.4, (2, 12, 3, 5)).astype(np.float32)).requires_grad_(True)
    y = quantize_ste(pre, model, 1.0)
    s = float(model.layers[-1].output_scale)
    q = np.clip(np.round(pre.detach().numpy() / s), -128, 127).astype(np.int8).transpose(0, 2, 3, 1)
    want = dequantize_latent(model, model.latent_quantizer.quantize(q)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=0, atol=1e-6)
    y.sum().backward()
    inside = (pre.detach().abs() < 1.0).numpy()
    np.testing.assert_array_equal(pre.grad.numpy(), inside.astype(np.float32))


def test_used_levels_reads_the_fitted_level_count():
    model = default_model()
    assert used_levels(model) == 12  # the bundled quantizer: 12 of the 16 levels of b = 4 (docs/TRAINING.md)
    assert used_levels(make_random_model(0)) == make_random_model(0).latent_quantizer.levels


@needs_train
def test_joint_command_writes_a_loadable_pair_and_resumes(tmp_path, capsys):
    out, assets = tmp_path / "run", tmp_path / "assets"
    args = ["--config", "tiny", "--images", "2", "--out", str(out), "--assets", str(assets), "--threads", "1",
            "--anchor-weight", "0.5"]
    assert main(["--steps", "2", *args]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["joint"]["steps"] == 2 and (out / "joint.pt").exists()
    assert main(["--steps", "3", "--resume", *args]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["joint"]["steps"] == 3
    model = load_model(res["encoder"])  # validates layers, quantizer and tables
    old = default_model()
    assert res["old_model_id"] == old.model_id and model.model_id != old.model_id
    assert used_levels(model) == 12 and model.latent_quantizer.bits == old.latent_quantizer.bits
    runs = model.meta["training"]["joint_runs"]
    assert runs[-1]["steps"] == 3 and runs[-1]["from"] == old.model_id and runs[-1]["anchor_weight"] == 0.5
    _, meta = read_decoder_weights(find_bundled(assets))
    assert meta["encoder_model_id"] == model.model_id
    assert sorted(p.name for p in assets.iterdir()) == sorted([f"encoder-{model.model_id[:8]}.npz",
                                                               find_bundled(assets).name])


@pytest.mark.parametrize("bad, limit", [(["--steps", "0"], 1), (["--steps", "1", "--edge-weight", "0.5"], 1),
                                        (["--steps", "1", "--anchor-weight", "-1"], 0),
                                        (["--steps", "1", "--rate-weight", "-0.1"], 0)])
def test_joint_command_refuses_bad_numbers(tmp_path, bad, limit):
    with pytest.raises(SystemExit, match=f"must be >= {limit}"):
        main([*bad, "--out", str(tmp_path / "r"), "--assets", str(tmp_path / "a")])
    assert not (tmp_path / "r").exists() and not (tmp_path / "a").exists()


def _latent_at(model, position: float) -> tuple[np.ndarray, torch.Tensor]:
    """The int8-domain latent q [C] of every channel at the latent quantizer's symbol position `position`
    (lo + position * 2^16 / mult), and the pre-latent [1, C, 1, 1] the float encoder would give for it
    ((q - zero point) * s)."""
    lq, last = model.latent_quantizer, model.layers[-1]
    q = lq.lo.astype(np.float64) + position * 65536.0 / lq.mult.astype(np.float64)
    pre = (q - last.output_zero_point) * float(last.output_scale)
    return q, torch.from_numpy(pre.astype(np.float32)).view(1, -1, 1, 1)


@pytest.mark.parametrize("zero_point", [0, -3])  # the bundled latent's, and one as a random model's
def test_rate_proxy_is_the_code_length_at_each_symbol_and_interpolates_between(zero_point):
    import dataclasses

    from refcodec.training.joint import rate_proxy

    model = default_model()
    last = dataclasses.replace(model.layers[-1], output_zero_point=zero_point)
    model = dataclasses.replace(model, layers=(*model.layers[:-1], last))
    lq, lengths = model.latent_quantizer, model.entropy.code_lengths.astype(np.float64)

    def proxy_at(position: float) -> tuple[float, torch.Tensor]:
        q, pre = _latent_at(model, position)
        pre.requires_grad_(True)
        r = rate_proxy(pre, model)
        r.backward()
        return float(r.detach()), pre.grad.view(-1).numpy(), q

    for s in range(used_levels(model)):
        bits, _, q = proxy_at(s)
        # the proxy's symbol position agrees with the normative quantizer at the nearest int8 value
        assert np.all(lq.quantize(np.clip(np.round(q), -128, 127).astype(np.int8)[None]) == s)
        assert bits == pytest.approx(lengths[:, s].mean(), abs=1e-3)
    bits, grad, _ = proxy_at(4.5)  # halfway between symbols 4 and 5: the mean of their lengths
    assert bits == pytest.approx(((lengths[:, 4] + lengths[:, 5]) / 2).mean(), abs=1e-3)
    # the gradient follows the slope of the table: towards the shorter code
    assert np.all(np.sign(grad) == np.sign(lengths[:, 5] - lengths[:, 4]))


def test_rate_proxy_counts_only_the_kept_channels_when_given_the_tail_drop_mask():
    from refcodec.training.joint import rate_proxy
    from refcodec.training.train import tail_drop_mask

    model = default_model()
    lengths = model.entropy.code_lengths.astype(np.float64)
    c = lengths.shape[0]
    s = 3  # every channel at symbol 3
    pre = _latent_at(model, s)[1].expand(2, c, 2, 2).clone().requires_grad_(True)
    kept = torch.cat([tail_drop_mask(1, k=5), tail_drop_mask(1, k=c)])  # sample 0 sends 5 channels, sample 1 all
    r = rate_proxy(pre, model, kept)
    r.backward()
    # the stream's bits: channels 0..4 of sample 0 and all of sample 1, over all 2 * c symbols per position
    assert float(r.detach()) == pytest.approx((lengths[:5, s].sum() + lengths[:, s].sum()) / (2 * c), abs=1e-3)
    assert float(rate_proxy(pre, model, torch.ones(2, c, 1, 1)).detach()) == pytest.approx(lengths[:, s].mean(), abs=1e-3)
    g = pre.grad.abs().sum(dim=(2, 3))
    assert torch.all(g[0, 5:] == 0)  # dropped channels pay nothing
    assert torch.equal(g[0, :5], g[1, :5])  # a kept channel pays as in a sample that keeps all
    assert torch.any(g[1, 5:] > 0)


def test_anchor_drift_counts_symbols_of_the_interior_only():
    from refcodec.training.joint import anchor_drift, symbols_per_unit

    model = default_model()
    ref = torch.zeros(2, 12, 9, 10)
    step = 1.0 / symbols_per_unit(model)  # one latent-quantizer symbol of each channel, in pre-latent units
    assert float(anchor_drift(ref.clone(), ref, model)) == 0.0
    assert float(anchor_drift(ref + step, ref, model)) == pytest.approx(1.0, rel=1e-5)
    pre = ref.clone()
    pre[:, :, :2] = 5 * step  # the two rows / columns nearest a side: left out with margin 2, in with margin 0
    pre[:, :, :, -2:] = 5 * step
    pre = pre.requires_grad_(True)
    d = anchor_drift(pre, ref, model, 2)
    d.backward()
    assert float(d.detach()) == 0.0 and float(pre.grad.abs().sum()) == 0.0
    rows, cols = 9, 10
    moved = rows * cols - (rows - 2) * (cols - 2)
    assert float(anchor_drift(pre, ref, model, 0).detach()) == pytest.approx(25.0 * moved / (rows * cols), rel=1e-5)
    with pytest.raises(Exception, match="anchor margin 5 leaves no latent"):
        anchor_drift(pre, ref, model, 5)


def test_anchor_margin_is_the_depth_the_encoders_padding_reaches():
    from refcodec.training.joint import ANCHOR_MARGIN

    enc = float_encoder(default_model())
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole, window = enc(x), enc(x[:, :, 64:160, 64:160])  # a 12 x 12 latent window at latent (8, 8)
    differs = ((whole[:, :, 8:20, 8:20] - window).abs().amax(dim=(0, 1)) > 1e-5).numpy()
    m = ANCHOR_MARGIN
    assert not differs[m:-m, m:-m].any()  # the anchored latents are those of the whole frame ...
    assert differs[m - 1, m:-m].all() and differs[-m, m:-m].all()  # ... and one step further out they are not
    assert differs[m:-m, m - 1].all() and differs[m:-m, -m].all()


def test_anchor_holds_the_interior_latents_of_the_starting_encoder(tmp_path):
    """Same seed and steps, a high encoder learning rate: with the anchor the interior latents of a whole
    frame move much less from the starting encoder's than without it."""
    import dataclasses

    from refcodec.training.config import get_config
    from refcodec.training.joint import anchor_drift, joint_train
    from refcodec.training.pipeline import ASSETS_DIR, load_exported

    cfg = dataclasses.replace(get_config("tiny"), threads=1)  # 64 px crops: 8 latents + 2 of context each side
    images = [_photo_like(96, 96, seed) for seed in range(2)]
    frame = torch.from_numpy(_photo_like(96, 128, 5).transpose(2, 0, 1).copy()).float()[None] / 255.0
    drift = {}
    for weight in (0.0, 100.0):
        model, dec, _ = load_exported(ASSETS_DIR)
        start, enc = float_encoder(model), float_encoder(model)
        joint_train(enc, dec, model, images, cfg, steps=12, lr=1e-4, encoder_lr=1e-3, out=tmp_path / f"w{weight:g}",
                    anchor_weight=weight)
        with torch.no_grad():
            drift[weight] = float(anchor_drift(enc(frame), start(frame), model))
    assert drift[0.0] > 0.01  # the encoder did move
    assert drift[100.0] < 0.3 * drift[0.0]  # 0.09x when measured; without the anchor term 1x
