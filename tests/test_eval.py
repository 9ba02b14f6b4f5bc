"""Evaluation: image preparation, the JPEG anchor (vs the README table), BD-rate, report/plot, `refcodec eval`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.eval.bdrate import bd_rate, monotone_front
from refcodec.eval.prep import crop_box, prepare_array, resized_size

from datasets import KODAK, needs_kodak


# ---- preparation ------------------------------------------------------------------------------------------

def test_resize_and_crop_geometry_hand_values():
    assert resized_size(768, 512, 224) == (336, 224)  # Kodak landscape
    assert resized_size(512, 768, 224) == (224, 336)  # Kodak portrait
    assert resized_size(481, 321, 224) == (335, 224)  # BSDS: int(224 * 481 / 321) = int(335.65)
    assert resized_size(224, 224, 224) == (224, 224)
    assert crop_box(336, 224, 224) == (56, 0, 280, 224)
    assert crop_box(224, 336, 224) == (0, 56, 224, 280)
    assert crop_box(335, 224, 224) == (56, 0, 280, 224)  # round(55.5) = 56 (Python rounds half to even)


@pytest.mark.parametrize("portrait", [False, True])
def test_prepare_keeps_the_centre(portrait):
    # Three vertical bands of 256 columns (red | green | blue) on 768x512. After resizing to 336x224 and
    # cropping columns 56..279, red covers output columns 0..55, green 56..167, blue 168..223.
    img = np.zeros((512, 768, 3), np.uint8)
    img[:, :256, 0] = 255
    img[:, 256:512, 1] = 255
    img[:, 512:, 2] = 255
    if portrait:
        img = img.transpose(1, 0, 2).copy()
    out = prepare_array(img)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    if portrait:
        out = out.transpose(1, 0, 2)
    for col, channel in ((5, 0), (50, 0), (62, 1), (112, 1), (162, 1), (174, 2), (220, 2)):
        px = out[100, col]
        assert px[channel] == 255 and px.sum() == 255, (col, px)
    # the antialiased bilinear filter blends across the band edge at 56
    assert 0 < out[100, 56, 0] < 255 or 0 < out[100, 55, 1] < 255


def test_prepare_antialiases():
    # A 1-pixel checkerboard has no low-frequency content: an antialiased 1/3 downscale gives flat grey,
    # point sampling would give a pattern of 0s and 255s.
    yy, xx = np.mgrid[0:672, 0:672]
    img = np.repeat((((yy + xx) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    out = prepare_array(img).astype(int)
    assert out.shape == (224, 224, 3)
    assert np.abs(out[2:-2, 2:-2] - 127.5).max() < 16


def test_prepare_rejects_bad_input(tmp_path):
    with pytest.raises(InvalidArgumentError, match="float64"):
        prepare_array(np.zeros((300, 300, 3)))
    from refcodec.eval.prep import list_images, load_prepared

    with pytest.raises(InputFileError, match="nothing-here"):
        list_images(tmp_path / "nothing-here")
    with pytest.raises(InputFileError, match="no images"):
        list_images(tmp_path)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputFileError, match="broken.png"):
        load_prepared(bad)


# ---- JPEG anchor ------------------------------------------------------------------------------------------

# Rows of the table in ../shared/datasets/README.md (Kodak 224x224, mean over the 24 images).
README_TABLE = {
    ("420", 10): (0.325, 26.44, 0.9046),
    ("420", 50): (0.977, 31.63, 0.9767),
    ("444", 10): (0.387, 26.91, 0.9118),
    ("444", 50): (1.154, 32.66, 0.9837),
}


@needs_kodak
def test_jpeg_anchor_reproduces_the_readme_table():
    from refcodec.eval.jpeg import jpeg_sweep
    from refcodec.eval.prep import list_images, load_prepared

    files = list_images(KODAK)
    assert len(files) == 24
    images = [load_prepared(p) for p in files]
    for sub in ("420", "444"):
        for row in jpeg_sweep(images, (10, 50), sub):
            bpp, p, m = README_TABLE[(sub, row["quality"])]
            # the table prints 3 / 2 / 4 decimals: agree to its last digit
            assert row["bpp"] == pytest.approx(bpp, abs=0.0015), row
            assert row["psnr"] == pytest.approx(p, abs=0.015), row
            assert row["ms_ssim"] == pytest.approx(m, abs=0.00015), row


def test_jpeg_counts_every_byte_and_validates():
    from refcodec.eval.jpeg import jpeg_encode, jpeg_point

    rng = np.random.default_rng(1)
    img = (rng.random((224, 224, 3)) * 255).astype(np.uint8)
    data = jpeg_encode(img, 50, "444")
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"  # SOI ... EOI: the whole file
    assert b"JFIF" in data[:32]
    pt = jpeg_point(img, 50, "444")
    assert pt["bytes"] == len(data) and pt["bpp"] == 8 * len(data) / (224 * 224)
    assert len(jpeg_encode(img, 50, "420")) < len(data)  # chroma subsampling saves bytes
    with pytest.raises(InvalidArgumentError, match="101"):
        jpeg_encode(img, 101)
    with pytest.raises(InvalidArgumentError, match="'422'"):
        jpeg_encode(img, 50, "422")


# ---- BD-rate ----------------------------------------------------------------------------------------------

def _curve(rates, shift=1.0):
    r = np.asarray(rates, dtype=float)
    lr = np.log2(r / shift)
    return r, 30 + 5 * lr - 0.2 * lr**2  # concave, increasing over the range used


def test_bd_rate_of_a_curve_against_itself_is_zero():
    r, q = _curve([0.1, 0.2, 0.4, 0.8, 1.6])
    assert bd_rate(r, q, r, q)["bd_rate_percent"] == pytest.approx(0.0, abs=1e-9)


def test_bd_rate_ten_percent_fewer_bits():
    r, q = _curve([0.1, 0.2, 0.4, 0.8, 1.6])
    res = bd_rate(r, q, 0.9 * r, q)
    assert res["bd_rate_percent"] == pytest.approx(-10.0, abs=1e-9)
    assert res["overlap"] == 1.0
    # the same 10 % saving, sampled at other rates and with another point count: interpolation error only
    r2, q2 = _curve([0.12, 0.22, 0.3, 0.5, 0.9, 1.5, 2.0], shift=0.9)
    assert bd_rate(r, q, r2, q2)["bd_rate_percent"] == pytest.approx(-10.0, abs=0.3)
    # and the other way round: the anchor is the better one
    assert bd_rate(0.9 * r, q, r, q)["bd_rate_percent"] == pytest.approx(100 / 9, abs=1e-9)


def test_bd_rate_without_overlap_is_nan_and_bad_input_raises():
    r, q = _curve([0.1, 0.2, 0.4])
    res = bd_rate(r, q, r, q + 100)
    assert math.isnan(res["bd_rate_percent"]) and res["overlap"] == 0.0
    with pytest.raises(InvalidArgumentError, match="-0.1"):
        bd_rate([-0.1, 0.2], [1, 2], r, q)
    with pytest.raises(InvalidArgumentError, match="'linear'"):
        bd_rate(r, q, r, q, method="linear")


def test_monotone_front_drops_dominated_points():
    r, q = monotone_front([0.4, 0.1, 0.2, 0.3], [3.0, 1.0, 2.0, 1.5])
    assert r.tolist() == [0.1, 0.2, 0.4] and q.tolist() == [1.0, 2.0, 3.0]


# ---- ordering, report, plot on a synthetic result ---------------------------------------------------------

def _synthetic_result(break_at: int | None = None):
    from refcodec.eval.run import _add_db, bd_rates, ordering_check

    codec = []
    for k in range(1, 13):
        m = 1 - 0.3 * 0.8**k
        if k == break_at:
            m = codec[-1]["ms_ssim"] - 0.001
        codec.append({"k": k, "bytes": 100.0 * k, "bpp": 0.02 * k, "psnr": 20 + k, "ms_ssim": m})
    _add_db(codec)
    jpeg = {}
    for name, f in (("420", 1.0), ("444", 1.2)):
        jpeg[name] = _add_db([{"quality": q, "bpp": f * 0.03 * i, "psnr": 19 + i, "ms_ssim": 1 - 0.3 * 0.8**i}
                              for i, q in enumerate((5, 10, 20, 30, 50, 70, 90), start=1)])
    return {"dataset": "/x/kodak", "images": ["a.png", "b.png"], "size": 224, "model_id": "ab" * 32,
            "codec": codec, "jpeg": jpeg, "bd_rate": bd_rates(codec, jpeg), "ordering": ordering_check(codec)}


def test_ordering_check_and_report():
    from refcodec.eval.report import markdown

    good = _synthetic_result()
    assert good["ordering"]["ok"] and len(good["ordering"]["steps"]) == 11
    # same quality as JPEG 4:2:0 at 2/3 of its rate
    assert good["bd_rate"]["jpeg420"]["ms_ssim_db"]["bd_rate_percent"] == pytest.approx(-100 / 3, abs=0.01)
    text = markdown(good)
    assert "| 12 | 0.240 | 32.00 |" in text and "yes, for every k" in text
    assert "| JPEG 4:2:0 | -33.33% (overlap 5" in text
    bad = _synthetic_result(break_at=7)
    assert not bad["ordering"]["ok"]
    assert [s["k"] for s in bad["ordering"]["steps"] if not s["better"]] == [7]
    assert "NO at k = [7]" in markdown(bad)


def test_report_main_and_plot(tmp_path, capsys):
    from refcodec.eval.plot import plot_rd
    from refcodec.eval.report import main
    from refcodec.eval.run import json_safe

    res = json_safe(_synthetic_result())
    path = tmp_path / "r.json"
    path.write_text(json.dumps(res, allow_nan=False))
    assert main([str(path)]) == 0
    assert "| k | bpp | PSNR dB | MS-SSIM | MS-SSIM dB |" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.json")]) == InputFileError.exit_code
    png = plot_rd(res, tmp_path / "rd.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 500
    assert not list(tmp_path.glob(".*tmp*"))


# ---- the CLI ----------------------------------------------------------------------------------------------

def _codec_ready() -> str | None:
    """Why the end-to-end eval cannot run yet, or None."""
    try:
        from refcodec.codec import decode_stream, encode_frames  # noqa: F401
    except ImportError as exc:
        return f"refcodec.codec is not available yet ({exc})"
    try:
        from refcodec.decoder import load_decoder

        load_decoder()
    except Exception as exc:  # noqa: BLE001 - any reason the bundled decoder cannot load
        return f"no bundled decoder ({exc})"
    return None


def test_cli_errors_are_one_line(tmp_path):
    from click.testing import CliRunner

    from refcodec.cli.main import cli

    r = CliRunner().invoke(cli, ["eval", str(tmp_path / "nope")])
    assert r.exit_code == InputFileError.exit_code and "nope" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["eval", str(tmp_path), "--qualities", "10,abc"])
    assert r.exit_code == InvalidArgumentError.exit_code and "10,abc" in r.output
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"not read: --trim is refused first")
    r = CliRunner().invoke(cli, ["eval", str(clip), "--trim", "2"])
    assert r.exit_code == InvalidArgumentError.exit_code and "--trim" in r.output
    r = CliRunner().invoke(cli, ["eval", str(tmp_path), "--trim", "-1"])
    assert r.exit_code == 2 and "--trim" in r.output  # click's usage error


@needs_kodak
@pytest.mark.slow
def test_cli_eval_end_to_end_two_images(tmp_path):
    why = _codec_ready()
    if why:
        pytest.skip(why)
    from click.testing import CliRunner

    from refcodec.cli.main import cli
    from refcodec.codec import encode_frames
    from refcodec.eval.prep import load_prepared
    from refcodec.model.registry import default_model

    out, png = tmp_path / "e.json", tmp_path / "e.png"
    r = CliRunner().invoke(cli, ["eval", str(KODAK), "--limit", "2", "--qualities", "5,20,50,90",
                                 "--json", str(out), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["images"] == ["kodim01.png", "kodim02.png"]
    assert [row["k"] for row in res["codec"]] == list(range(1, 13))
    bpps = [row["bpp"] for row in res["codec"]]
    assert all(b2 > b1 for b1, b2 in zip(bpps, bpps[1:]))  # every channel adds bytes
    # bpp is the real stream: encode kodim01 independently with all 12 channels
    full = encode_frames([load_prepared(KODAK / "kodim01.png")], default_model(), channels=12, entropy="auto")
    assert res["per_image"]["kodim01.png"][-1]["bytes"] == len(full)
    for row in res["codec"]:
        assert 5 < row["psnr"] < 60 and 0 < row["ms_ssim"] <= 1
    assert set(res["bd_rate"]) == {"jpeg420", "jpeg444"}
    assert [s["k"] for s in res["ordering"]["steps"]] == list(range(2, 13))
    assert "ordering:" in r.output and png.stat().st_size > 1000
    # frame-border figures (issue 13): per k, from the per-image rings, and the k = 12 line in the summary
    assert [row["k"] for row in res["borders"]] == list(range(1, 13))
    b12 = res["borders"][-1]
    assert len(b12["ring_ratio"]) == 8 and 0 < b12["edge_share"] < 1
    per = [res["per_image"][n][-1]["border"] for n in res["images"]]
    assert b12["ring_ratio"][0] == pytest.approx(
        np.mean([p["ring_mse"][0] for p in per]) / np.mean([p["interior_mse"] for p in per]))
    assert "borders at k=12: ring 0..7 error / interior" in r.output
    # kodim01/02 carry the PhotoCD scanner frame (a grey frame line, a black last row); 4 px per side removes it
    assert res["trim"] == 0 and res["source_edge_step"] > 1.5
    assert all(row["borders"]["ring_ratio"] for rows in res["jpeg"].values() for row in rows)
    r = CliRunner().invoke(cli, ["eval", str(KODAK), "--limit", "2", "--qualities", "5,50", "--trim", "4",
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    trimmed = json.loads(out.read_text())
    assert trimmed["trim"] == 4 and trimmed["source_edge_step"] < 1.2
    assert "sources trimmed by 4 px per side" in r.output


def test_encode_resize_is_the_eval_preparation():
    """`refcodec encode --size 224x224` and `refcodec eval` prepare images identically (the paper's protocol),
    on landscape, portrait and BSDS-like (non-integer aspect) images."""
    from refcodec.media.resize import resize_frame

    rng = np.random.default_rng(0)
    for h, w in ((512, 768), (768, 512), (321, 481), (481, 321), (224, 224), (100, 90)):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert np.array_equal(resize_frame(img, (224, 224)), prepare_array(img)), (h, w)
