"""Byte-for-byte comparison of conv2d_s8 (reference) and conv2d_s8_fast against TensorFlow Lite Micro's
interpreter (PyPI tflite-micro, reference kernels, double rounding) on random single-conv models.

Each case builds a .tflite with refcodec.tflite, runs it in TFLM, and runs both of our kernels with
the parameters TFLM would derive (per_channel_multipliers, activation_bounds, SAME padding rule).
Explicit paddings that are neither SAME nor VALID are given to TFLM as an input pre-padded with the
input zero point and a VALID conv (TFLM then computes those taps, which must contribute 0).
The only pass is 0 mismatching bytes.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tflm_oracle import require_tflm, run_tflm  # noqa: E402

from refcodec.errors import InvalidArgumentError  # noqa: E402
from refcodec.kernels import (  # noqa: E402
    ConvParams, PerChannelQuantParams, activation_bounds, conv2d_s8, conv2d_s8_fast, per_channel_multipliers,
)
from refcodec.kernels.conv2d_s8_fast import gemm_dtype  # noqa: E402
from refcodec.tflite import chain_model_bytes, conv_model_bytes, same_padding  # noqa: E402

require_tflm()

N_CASES = 800
KINDS = ("same", "valid", "explicit", "ties", "saturate", "extremes", "wide_scales", "float64_gemm")


def _make_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    k_h = int(rng.integers(1, 8))
    k_w = k_h if rng.random() < 0.7 else int(rng.integers(1, 8))
    st_h, st_w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    c_in, c_out = int(rng.integers(1, 6)), int(rng.integers(1, 7))
    if kind == "float64_gemm":
        k_h = k_w = 7
        c_in, c_out = int(rng.integers(12, 17)), int(rng.integers(1, 4))
    h = int(rng.integers(max(1, k_h - 3), 25))
    w = int(rng.integers(max(1, k_w - 3), 25))
    zp_in, zp_out = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    act = ("none", "relu", "relu6")[int(rng.integers(0, 3))]
    wmax = int(rng.choice([1, 7, 50, 127]))
    weights = rng.integers(-wmax, wmax + 1, (c_out, k_h, k_w, c_in)).astype(np.int8)
    s_in = float(10 ** rng.uniform(-3, 0))
    s_w = 10 ** rng.uniform(-3, -1, c_out)
    s_out = float(10 ** rng.uniform(-2, 1))
    if kind == "ties":
        # power-of-two scales: effective scale 2^-t exactly, so acc = odd * 2^(t-1) lands on a .5 tie
        t = rng.integers(1, 9, c_out)
        s_in, s_out = 2.0**-4, 2.0**-2
        s_w = 2.0 ** (-(t.astype(float)) + 2)
        weights = rng.integers(-3, 4, weights.shape).astype(np.int8)
    elif kind == "saturate":
        s_out = float(s_in * s_w.max() * 10 ** rng.uniform(-3, -1))   # huge effective scale: clamps
    elif kind == "extremes":
        zp_in, zp_out = int(rng.choice([-128, 127])), int(rng.choice([-128, 127]))
        weights = rng.choice(np.array([-127, 127], np.int8), weights.shape)
    elif kind == "wide_scales":
        s_in = float(10 ** rng.uniform(-6, 2))
        s_w = 10 ** rng.uniform(-7, 0, c_out)
        s_out = float(10 ** rng.uniform(-6, 3))
        if act == "relu6":
            s_out = max(s_out, 1e-6)
    elif kind == "float64_gemm":
        weights = rng.choice(np.array([-127, 127], np.int8), weights.shape)
    bias = None if rng.random() < 0.15 else rng.integers(-(2**17), 2**17, c_out).astype(np.int32)
    if kind == "ties" and bias is not None:
        bias = (bias // 64).astype(np.int32)
    if kind == "valid":
        padding, pads = "VALID", (0, 0, 0, 0)
    elif kind == "explicit":
        padding = "EXPLICIT"
        pads = tuple(int(v) for v in rng.integers(0, k_h, 2)) + tuple(int(v) for v in rng.integers(0, k_w, 2))
    else:
        padding = "SAME"
        _, pt, pb = same_padding(h, k_h, st_h)
        _, pl, pr = same_padding(w, k_w, st_w)
        pads = (pt, pb, pl, pr)
    if padding == "VALID":
        h, w = max(h, k_h), max(w, k_w)
    if padding == "EXPLICIT":
        h = max(h, k_h - pads[0] - pads[1])
        w = max(w, k_w - pads[2] - pads[3])
    x = rng.integers(-128, 128, (h, w, c_in)).astype(np.int8)
    if kind == "extremes":
        x = rng.choice(np.array([-128, 127], np.int8), x.shape)
    return dict(kind=kind, x=x, weights=weights, bias=bias, s_in=s_in, zp_in=zp_in, s_w=s_w, s_out=s_out,
                zp_out=zp_out, stride=(st_h, st_w), padding=padding, pads=pads, act=act)


def _tflm(case) -> np.ndarray:
    x, padding = case["x"], case["padding"]
    if padding == "EXPLICIT":
        pt, pb, pl, pr = case["pads"]
        x = np.pad(x, ((pt, pb), (pl, pr), (0, 0)), constant_values=case["zp_in"])
        padding = "VALID"
    model = conv_model_bytes(x.shape, case["weights"], case["bias"], case["s_in"], case["zp_in"], case["s_w"],
                             case["s_out"], case["zp_out"], *case["stride"], padding, case["act"])
    return run_tflm(model, x)[0]


def _params(case, rounding="double"):
    pt, pb, pl, pr = case["pads"]
    lo, hi = activation_bounds(case["act"], case["s_out"], case["zp_out"])
    cp = ConvParams(-case["zp_in"], case["zp_out"], *case["stride"], pt, pl, pb, pr, lo, hi)
    m, s = per_channel_multipliers(case["s_in"], case["s_w"], case["s_out"], rounding)
    return cp, PerChannelQuantParams(m, s)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv_matches_tflm(seed):
    case = _make_case(seed)
    expected = _tflm(case)
    cp, qp = _params(case)
    ref = conv2d_s8(case["x"], case["weights"], case["bias"], cp, qp)
    fast = conv2d_s8_fast(case["x"], case["weights"], case["bias"], cp, qp)
    assert ref.shape == expected.shape == fast.shape
    assert ref.dtype == fast.dtype == np.int8
    assert int((ref != expected).sum()) == 0, f"reference: {(ref != expected).sum()} bytes differ ({case['kind']})"
    assert int((fast != expected).sum()) == 0, f"fast: {(fast != expected).sum()} bytes differ ({case['kind']})"


def test_cases_cover_what_they_claim():
    """The generator really produces ties, saturation, both GEMM dtypes and asymmetric paddings."""
    n_ties = n_sat = 0
    dtypes, asym = set(), 0
    for seed in range(N_CASES):
        case = _make_case(seed)
        cp, qp = _params(case)
        dtypes.add(gemm_dtype(case["weights"]))
        pt, pb, pl, pr = case["pads"]
        asym += pt != pb or pl != pr
        out = conv2d_s8(case["x"], case["weights"], case["bias"], cp, qp)
        n_sat += int(((out == -128) | (out == 127)).sum())
        if case["kind"] == "ties":
            # accumulators exactly halfway between two outputs: acc * 2^-t has fraction .5
            x = np.pad(case["x"].astype(np.int64) - case["zp_in"], ((pt, pb), (pl, pr), (0, 0)))
            t = -(qp.shift.astype(np.int64) - 1)  # multiplier 2^30 with shift s: scale 2^(s-1)
            acc = np.zeros(out.shape, np.int64)
            for ky in range(case["weights"].shape[1]):
                for kx in range(case["weights"].shape[2]):
                    patch = x[ky: ky + cp.stride_h * (out.shape[0] - 1) + 1: cp.stride_h,
                              kx: kx + cp.stride_w * (out.shape[1] - 1) + 1: cp.stride_w]
                    acc += patch @ case["weights"][:, ky, kx, :].T.astype(np.int64)
            if case["bias"] is not None:
                acc += case["bias"]
            n_ties += int(((acc % (1 << t)) == (1 << (t - 1))).sum())
    assert n_ties > 200 and n_sat > 1000 and asym > 50
    assert dtypes == {np.float32, np.float64}


def test_relu6_tie_bound_in_tflm():
    """act_max comes from roundf(6 / 0.48f) = 13 (half away from zero); a banker's 12 would fail here."""
    x = np.full((2, 2, 1), 100, np.int8)
    weights = np.full((1, 1, 1, 1), 127, np.int8)
    model = conv_model_bytes(x.shape, weights, None, 1.0, 0, [1.0], 0.48, 0, 1, 1, "VALID", "relu6")
    got = run_tflm(model, x)[0]
    assert np.all(got == 13)
    cp = ConvParams(0, 0, 1, 1, 0, 0, 0, 0, *activation_bounds("relu6", 0.48, 0))
    m, s = per_channel_multipliers(1.0, [1.0], 0.48)
    assert np.array_equal(conv2d_s8(x, weights, None, cp, PerChannelQuantParams(m, s)), got)


def test_batch_and_rank():
    case = _make_case(0)
    cp, qp = _params(case)
    x2 = np.stack([case["x"], case["x"][::-1].copy()])
    for fn in (conv2d_s8, conv2d_s8_fast):
        out = fn(x2, case["weights"], case["bias"], cp, qp)
        assert out.ndim == 4 and out.shape[0] == 2
        assert np.array_equal(out[0], fn(case["x"], case["weights"], case["bias"], cp, qp))
        assert np.array_equal(out[1], fn(x2[1], case["weights"], case["bias"], cp, qp))
    assert np.array_equal(out[1], _tflm(dict(case, x=x2[1])))


def test_chain_intermediates_match_tflm():
    """A 3-layer encoder-shaped chain (scales shared between layers): every layer output, read back
    from the TFLM subgraph outputs, equals our layer-by-layer result."""
    rng = np.random.default_rng(7)
    topo = [(3, 8, 7, 2, "relu"), (8, 8, 5, 4, "relu"), (8, 6, 3, 1, "none")]
    layers, s_in, zp_in = [], 1 / 128, 0
    for c_in, c_out, k, s, act in topo:
        layers.append(dict(weights=rng.integers(-127, 128, (c_out, k, k, c_in)).astype(np.int8),
                           bias=rng.integers(-3000, 3000, c_out).astype(np.int32),
                           weight_scales=10 ** rng.uniform(-3, -2, c_out),
                           output_scale=float(10 ** rng.uniform(-1.5, -0.5)),
                           output_zp=int(rng.integers(-128, 0)), stride=s, padding="SAME", activation=act))
    x = rng.integers(-128, 128, (32, 24, 3)).astype(np.int8)
    outs = run_tflm(chain_model_bytes(x.shape, s_in, zp_in, layers), x)
    assert len(outs) == 3
    cur, cur_scale, cur_zp = x, s_in, zp_in
    for L, expected in zip(layers, outs):
        k, s = L["weights"].shape[1], L["stride"]
        _, pt, pb = same_padding(cur.shape[0], k, s)
        _, pl, pr = same_padding(cur.shape[1], k, s)
        cp = ConvParams(-cur_zp, L["output_zp"], s, s, pt, pl, pb, pr,
                        *activation_bounds(L["activation"], L["output_scale"], L["output_zp"]))
        qp = PerChannelQuantParams(*per_channel_multipliers(cur_scale, L["weight_scales"], L["output_scale"]))
        ref = conv2d_s8(cur, L["weights"], L["bias"], cp, qp)
        assert np.array_equal(ref, expected)
        assert np.array_equal(conv2d_s8_fast(cur, L["weights"], L["bias"], cp, qp), expected)
        cur, cur_scale, cur_zp = ref, L["output_scale"], L["output_zp"]


def _valid_args():
    x = np.zeros((5, 5, 2), np.int8)
    w = np.zeros((3, 3, 3, 2), np.int8)
    b = np.zeros(3, np.int32)
    cp = ConvParams(0, 0, 1, 1, 0, 0, 0, 0)
    qp = PerChannelQuantParams(np.full(3, 2**30, np.int32), np.zeros(3, np.int32))
    return dict(input=x, weights=w, bias=b, conv_params=cp, quant_params=qp)


@pytest.mark.parametrize("fn", [conv2d_s8, conv2d_s8_fast])
@pytest.mark.parametrize("change, fragment", [
    (dict(input=np.zeros((5, 5, 2), np.uint8)), "uint8"),
    (dict(input=np.zeros((5, 5), np.int8)), r"\(5, 5\)"),
    (dict(input=np.zeros((5, 5, 4), np.int8)), "input channels 4"),
    (dict(weights=np.zeros((3, 3, 3, 2), np.int16)), "int16"),
    (dict(weights=np.zeros((3, 3, 2), np.int8)), r"\(3, 3, 2\)"),
    (dict(bias=np.zeros(3, np.int64)), "int64"),
    (dict(bias=np.zeros(4, np.int32)), r"\(4,\)"),
    (dict(input=np.zeros((2, 2, 2), np.int8)), "output size 0x0"),
    (dict(quant_params=PerChannelQuantParams(np.full(2, 2**30, np.int32), np.zeros(2, np.int32))), "2 channels"),
    (dict(rounding="triple"), "triple"),
    (dict(conv_params=(0, 0, 1, 1)), "tuple"),
])
def test_invalid_arguments(fn, change, fragment):
    args = dict(_valid_args(), **change)
    with pytest.raises(InvalidArgumentError, match=fragment):
        fn(**args)


def test_conv_params_rejects_bad_stride():
    with pytest.raises(InvalidArgumentError, match="stride_h 0"):
        ConvParams(0, 0, 0, 1, 0, 0, 0, 0)


def test_encoder_model_bytes_matches_both_paths():
    """The seeded random encoder exported with encoder_model_bytes runs in TFLM to the same bytes as
    conv2d_s8 / conv2d_s8_fast with the model's own ConvParams (so its padding rule is TFLM's SAME)."""
    from refcodec.model.random_model import make_random_model
    from refcodec.tflite import encoder_model_bytes

    model = make_random_model(seed=0)
    h, w = 48, 40
    x = np.random.default_rng(3).integers(-128, 128, (h, w, 3)).astype(np.int8)
    outs = run_tflm(encoder_model_bytes(model, h, w), x)
    assert [o.shape for o in outs] == [(24, 20, 16), (6, 5, 16), (6, 5, 12)]
    ref = fast = x
    for layer, params, expected in zip(model.layers, model.conv_params(h, w), outs):
        ref = conv2d_s8(ref, layer.weights, layer.bias, params, layer.quant_params())
        fast = conv2d_s8_fast(fast, layer.weights, layer.bias, params, layer.quant_params())
        assert np.array_equal(ref, expected) and np.array_equal(fast, expected)


@pytest.mark.parametrize("change, fragment", [
    (dict(padding="FULL"), "FULL"),
    (dict(activation="tanh"), "tanh"),
    (dict(stride=0), "stride 0"),
    (dict(output_zp=200), "200"),
    (dict(weight_scales=[0.1, 0.1]), "weight_scales"),
    (dict(weights=np.zeros((1, 3, 3, 2), np.int8)), "C_in=1"),
])
def test_writer_rejects(change, fragment):
    layer = dict(weights=np.ones((1, 3, 3, 1), np.int8), bias=None, weight_scales=[0.1], output_scale=0.5,
                 output_zp=0, stride=1, padding="SAME", activation="none")
    with pytest.raises(InvalidArgumentError, match=fragment):
        chain_model_bytes((8, 8, 1), 0.1, 0, [dict(layer, **change)])


def test_fast_path_worker_threads(monkeypatch):
    """The optional row split over worker threads gives the same bytes as TFLM."""
    import importlib

    fast_module = importlib.import_module("refcodec.kernels.conv2d_s8_fast")  # the package attribute is the function
    monkeypatch.setattr(fast_module, "THREADS", 2)
    monkeypatch.setattr(fast_module, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(fast_module, "TILE_ELEMS", 64)   # many small tiles, shared between two workers
    for seed in range(40):
        case = _make_case(seed)
        cp, qp = _params(case)
        fast = conv2d_s8_fast(case["x"], case["weights"], case["bias"], cp, qp)
        assert np.array_equal(fast, _tflm(case)), seed
