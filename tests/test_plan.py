"""`refcodec plan` at odd sizes and its scratch figures: the layer-by-layer plan describes the PADDED frame (spec
§3.1), and each im2col scratch figure names the CMSIS-NN kernel build it is for (arm_convolve_wrapper_s8_get_buffer_size:
non-MVE 2 * align4(taps) * 2 bytes, MVE 4 * 16 * ceil(taps / 16) bytes, hand-computed here)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from refcodec.cli.main import cli
from refcodec.errors import InvalidArgumentError
from refcodec.model.plan import cmsis_nn_scratch_bytes, line_plan, memory_plan


def test_layer_plan_at_odd_size_is_the_padded_frame():
    """642x362 runs as 648x368: input 648 * 368 * 3 + conv1 324 * 184 * 16 = 1,669,248 B (the unpadded figure was
    1,626,828)."""
    p = memory_plan(362, 642)
    assert (p.padded_width, p.padded_height) == (648, 368)
    assert p.tensors[0].shape == (1, 368, 648, 3) and p.tensors[-1].shape == (1, 46, 81, 12)
    assert p.peak_arena_bytes == 648 * 368 * 3 + 324 * 184 * 16 == 1_669_248
    assert memory_plan(1, 1).tensors[0].shape == (1, 8, 8, 3)


def test_scratch_figures_per_cmsis_nn_build():
    # conv1 7 * 7 * 3 = 147 taps: non-MVE 2 * 148 * 2 = 592, MVE 4 * 16 * 10 = 640
    assert cmsis_nn_scratch_bytes(7, 3, "dsp") == cmsis_nn_scratch_bytes(7, 3, "c") == 592
    assert cmsis_nn_scratch_bytes(7, 3, "mve") == 640
    # conv2 400 taps: 2 * 400 * 2 = 1600 = 4 * 16 * 25; conv3 144 taps: 576 = 4 * 16 * 9
    assert cmsis_nn_scratch_bytes(5, 16, "dsp") == cmsis_nn_scratch_bytes(5, 16, "mve") == 1600
    assert cmsis_nn_scratch_bytes(3, 16, "dsp") == cmsis_nn_scratch_bytes(3, 16, "mve") == 576
    with pytest.raises(InvalidArgumentError):
        cmsis_nn_scratch_bytes(3, 16, "neon")
    p = memory_plan(224, 224)
    assert [l.scratch_bytes for l in p.layers] == [592, 1600, 576]
    assert [l.scratch_bytes_mve for l in p.layers] == [640, 1600, 576]


def test_plan_cli_names_the_kernel_build_and_padded_size():
    r = CliRunner().invoke(cli, ["plan", "--model", "random", "--size", "642x362"])
    assert r.exit_code == 0, r.output
    assert "padded 648x368" in r.output and "1,669,248" in r.output and "MVE" in r.output
    d = json.loads(CliRunner().invoke(cli, ["plan", "--model", "random", "--size", "642x362", "--json"]).output)
    assert d["peak_arena_bytes"] == 1_669_248 and "MVE" in d["scratch_kernel_build"]["scratch_bytes_mve"]


def test_line_plan_is_far_below_layer_by_layer_and_within_the_mcu_targets():
    """Issue 9's targets for the arena alone (the stack and the 200-byte state come on top): 32 KB at 224x224 and
    96 KB at 640x480 with the bundled model's b = 4."""
    assert line_plan(224, 224, 12, 4).arena_bytes == 21_648 < 32_000
    assert line_plan(480, 640, 12, 4).arena_bytes == 74_240 < 96_000
    r = CliRunner().invoke(cli, ["plan", "--size", "640x480", "--schedule", "line"])
    assert r.exit_code == 0 and "74,240" in r.output and "2,150,400" in r.output


def test_line_plan_rejects_bad_arguments():
    for args in ((0, 8, 12, 4), (8, 65536, 12, 4), (8, 8, 13, 4), (8, 8, 12, 0), (8, 8, 12, 9)):
        with pytest.raises(InvalidArgumentError):
            line_plan(*args)
