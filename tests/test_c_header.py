"""`refcodec export c-header`: the header compiles with gcc -std=c99 -Wall -Wextra -Werror -pedantic, the values a C
program reads from it are the model's, and it describes the same model as `refcodec export tflite` (the .tflite
parsed with the `tflite` package: weights, biases, zero points, scales -> multipliers/shifts by an independent
QuantizeMultiplier, padding, strides, activation bounds)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from refcodec.cli.main import cli
from refcodec.model.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1] / "vectors"
MODELS = ["rand-double", "rand-single", "extreme-double"]
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available")

DUMP_C = r"""
#include <stdio.h>
#include "rc_model.h"

static void ints(const char *name, const int32_t *a, int n) {
    int i; printf("%s", name); for (i = 0; i < n; i++) printf(" %ld", (long)a[i]); printf("\n");
}
static void bytes8(const char *name, const int8_t *a, int n) {
    int i; printf("%s", name); for (i = 0; i < n; i++) printf(" %d", a[i]); printf("\n");
}
int main(void) {
    int i, c;
    char name[64];
    printf("model_id"); for (i = 0; i < 32; i++) printf(" %d", rc_model_id[i]); printf("\n");
    printf("single_rounding %d\n", RC_SINGLE_ROUNDING);
    printf("input_zero_point %d\n", RC_INPUT_ZERO_POINT);
    for (i = 0; i < RC_NUM_LAYERS; i++) {
        const rc_conv_layer_t *L = &rc_layers[i];
        printf("layer%d %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", i, (long)L->in_ch, (long)L->out_ch,
               (long)L->kernel_h, (long)L->kernel_w, (long)L->stride_h, (long)L->stride_w, (long)L->input_offset,
               (long)L->output_offset, (long)L->act_min, (long)L->act_max);
        sprintf(name, "weights%d", i); bytes8(name, L->weights, L->out_ch * L->kernel_h * L->kernel_w * L->in_ch);
        sprintf(name, "bias%d", i); ints(name, L->bias, L->out_ch);
        sprintf(name, "multiplier%d", i); ints(name, L->multiplier, L->out_ch);
        sprintf(name, "shift%d", i); ints(name, L->shift, L->out_ch);
    }
    printf("pads0 %d %d %d %d %d %d\n", RC_CONV1_PAD_TOP, RC_CONV1_PAD_BOTTOM, RC_CONV1_PAD_LEFT, RC_CONV1_PAD_RIGHT,
           RC_CONV1_OUT_H, RC_CONV1_OUT_W);
    printf("pads1 %d %d %d %d %d %d\n", RC_CONV2_PAD_TOP, RC_CONV2_PAD_BOTTOM, RC_CONV2_PAD_LEFT, RC_CONV2_PAD_RIGHT,
           RC_CONV2_OUT_H, RC_CONV2_OUT_W);
    printf("pads2 %d %d %d %d %d %d\n", RC_CONV3_PAD_TOP, RC_CONV3_PAD_BOTTOM, RC_CONV3_PAD_LEFT, RC_CONV3_PAD_RIGHT,
           RC_CONV3_OUT_H, RC_CONV3_OUT_W);
    printf("same_total %d %d %d\n", RC_SAME_PAD_TOTAL(61, 7, 2), RC_SAME_PAD_TOTAL(8, 5, 4), RC_SAME_PAD_TOTAL(1, 3, 1));
    printf("lq %d %d %d\n", RC_LATENT_CHANNELS, RC_LQ_BITS, RC_LQ_SHIFT);
    ints("lq_lo", rc_lq_lo, RC_LATENT_CHANNELS);
    ints("lq_mult", rc_lq_mult, RC_LATENT_CHANNELS);
#if RC_HAS_HUFFMAN
    printf("huffman");
    for (c = 0; c < RC_LATENT_CHANNELS; c++) for (i = 0; i < (1 << RC_LQ_BITS); i++)
        printf(" %d", rc_huffman_code_lengths[c][i]);
    printf("\n");
#else
    (void)c;
#endif
    return 0;
}
"""


def _export(model_path: str, tmp_path: Path) -> tuple[Path, Path]:
    runner = CliRunner()
    header, tfl = tmp_path / "model.h", tmp_path / "model.tflite"
    res = runner.invoke(cli, ["export", "c-header", "--model", model_path, "-o", str(header)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["export", "tflite", "--model", model_path, "-o", str(tfl)])
    assert res.exit_code == 0, res.output
    return header, tfl


def _read_header_values(header: Path, tmp_path: Path) -> dict[str, list[int]]:
    """Compile a program that includes the header (strict flags, header included twice) and parse its output."""
    inc = tmp_path / "inc"
    inc.mkdir()
    shutil.copy(header, inc / "rc_model.h")
    src = tmp_path / "dump.c"
    src.write_text('#include "rc_model.h"\n' + DUMP_C)
    exe = tmp_path / "dump"
    proc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{inc}", str(src),
                           "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: [int(v) for v in line.split()[1:]] for line in out.splitlines()}


@needs_gcc
@pytest.mark.parametrize("name", MODELS)
def test_header_compiles_and_holds_the_model(name, tmp_path):
    model = load_model(ROOT / "models" / f"{name}.npz")
    header, _ = _export(str(ROOT / "models" / f"{name}.npz"), tmp_path)
    v = _read_header_values(header, tmp_path)
    assert bytes(v["model_id"]) == model.model_id_bytes
    assert v["single_rounding"] == [int(model.rounding == "single")]
    for i, layer in enumerate(model.layers):
        o, k, _, ci = layer.weights.shape
        in_zp = model.input_zero_point if i == 0 else model.layers[i - 1].output_zero_point
        assert v[f"layer{i}"] == [ci, o, k, k, layer.stride, layer.stride, -in_zp, layer.output_zero_point,
                                  layer.act_min, layer.act_max]
        assert v[f"weights{i}"] == layer.weights.reshape(-1).tolist()  # OHWI order
        assert v[f"bias{i}"] == layer.bias.tolist()
        assert v[f"multiplier{i}"] == layer.multiplier.tolist()
        assert v[f"shift{i}"] == layer.shift.tolist()
    assert v["same_total"] == [6, 1, 2]  # TFLite SAME by hand: out 31: 30*2+7-61; out 2: 1*4+5-8; out 1: 0+3-1
    lq = model.latent_quantizer
    assert v["lq"] == [lq.channels, int(lq.bits), 16]
    assert v["lq_lo"] == lq.lo.tolist() and v["lq_mult"] == lq.mult.tolist()
    assert v["huffman"] == model.entropy.code_lengths.reshape(-1).tolist()


def _quantize_multiplier(scale: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier (tensorflow/lite/kernels/internal/quantization_util.cc), written independently:
    frexp, round half away from zero of q * 2^31, q == 2^31 case, shift < -31 flushed to zero."""
    if scale == 0.0:
        return 0, 0
    q, shift = math.frexp(scale)
    q_fixed = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q >= 0 else -1)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


@needs_gcc
@pytest.mark.parametrize("name", MODELS)
def test_tflite_and_c_header_describe_the_same_model(name, tmp_path):
    tflite = pytest.importorskip("tflite")
    header, tfl = _export(str(ROOT / "models" / f"{name}.npz"), tmp_path)
    v = _read_header_values(header, tmp_path)
    buf = tfl.read_bytes()
    m = tflite.Model.GetRootAs(buf, 0)
    g = m.Subgraphs(0)
    assert g.OperatorsLength() == 3

    def tensor(i):
        t = g.Tensors(i)
        q = t.Quantization()
        data = m.Buffers(t.Buffer()).DataAsNumpy()
        return t, q, (None if isinstance(data, int) else data.tobytes())

    for i in range(3):
        op = g.Operators(i)
        assert m.OperatorCodes(op.OpcodeIndex()).BuiltinCode() == tflite.BuiltinOperator.CONV_2D
        (tin, qin, _), (tw, qw, wbytes), (tb, qb, bbytes) = (tensor(op.Inputs(j)) for j in range(3))
        tout, qout, _ = tensor(op.Outputs(0))
        opts = tflite.Conv2DOptions()
        opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
        ci, o, kh, kw, sh, sw, in_off, out_off, act_min, act_max = v[f"layer{i}"]
        assert tw.ShapeAsNumpy().tolist() == [o, kh, kw, ci]
        assert np.frombuffer(wbytes, np.int8).tolist() == v[f"weights{i}"]
        assert np.frombuffer(bbytes, "<i4").tolist() == v[f"bias{i}"]
        assert (opts.StrideH(), opts.StrideW()) == (sh, sw)
        assert opts.Padding() == tflite.Padding.SAME
        in_zp, out_zp = int(qin.ZeroPoint(0)), int(qout.ZeroPoint(0))
        assert (in_off, out_off) == (-in_zp, out_zp)
        s_in, s_out = float(qin.Scale(0)), float(qout.Scale(0))
        w_scales = qw.ScaleAsNumpy().astype(np.float64)
        assert qw.QuantizedDimension() == 0 and not qw.ZeroPointAsNumpy().any()
        derived = [_quantize_multiplier(s_in * float(s) / s_out) for s in w_scales]
        assert v[f"multiplier{i}"] == [d[0] for d in derived]
        assert v[f"shift{i}"] == [d[1] for d in derived]
        act = opts.FusedActivationFunction()
        if act == tflite.ActivationFunctionType.RELU:
            assert (act_min, act_max) == (max(-128, out_zp), 127)  # CalculateActivationRangeQuantized
        else:
            assert act == tflite.ActivationFunctionType.NONE and (act_min, act_max) == (-128, 127)
        # padding: SAME at the exported size, from the tflite tensor shapes
        _, ih, iw, _ = tin.ShapeAsNumpy().tolist()
        _, oh, ow, _ = tout.ShapeAsNumpy().tolist()
        th = max((oh - 1) * sh + kh - ih, 0)
        tw_ = max((ow - 1) * sw + kw - iw, 0)
        assert v[f"pads{i}"] == [th // 2, th - th // 2, tw_ // 2, tw_ - tw_ // 2, oh, ow]


def test_export_bad_model_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    res = CliRunner().invoke(cli, ["export", "c-header", "--model", str(bad), "-o", str(tmp_path / "m.h")])
    assert res.exit_code == 4 and "bad.npz" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m.h").exists()
    res = CliRunner().invoke(cli, ["export", "c-header", "--model", "random", "-o", str(tmp_path / "m.h"),
                                   "--ref-size", "100x100"])
    assert res.exit_code == 2 and "100x100" in res.output
