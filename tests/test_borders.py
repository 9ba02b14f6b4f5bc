"""Frame-border error figures (refcodec.eval.borders, issue 13) and their place in the eval JSON and report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from refcodec.errors import InvalidArgumentError
from refcodec.eval.borders import EDGE, INTERIOR, RINGS, aggregate, border_errors, edge_distance


def _ring_image(h: int, w: int, ring_err: dict[int, float], other: float) -> tuple[np.ndarray, np.ndarray]:
    """ref = 0.5 everywhere; rec = ref + e with e = ring_err[r] on ring r and `other` everywhere else. Built
    without edge_distance: ring r is the outline of the box inset by r, filled from the inside out."""
    err = np.full((h, w), other)
    for r in sorted(ring_err, reverse=True):
        box = np.full((h - 2 * r, w - 2 * r), ring_err[r])
        box[1:-1, 1:-1] = err[r + 1:h - r - 1, r + 1:w - r - 1]
        err[r:h - r, r:w - r] = box
    ref = np.full((h, w, 3), 0.5)
    rec = ref + err[..., None] * np.array([1.0, -1.0, 1.0])  # the same squared error in every channel
    return ref, rec


def test_edge_distance_by_hand():
    d = edge_distance(5, 7)
    assert d.tolist() == [[0, 0, 0, 0, 0, 0, 0],
                          [0, 1, 1, 1, 1, 1, 0],
                          [0, 1, 2, 2, 2, 1, 0],
                          [0, 1, 1, 1, 1, 1, 0],
                          [0, 0, 0, 0, 0, 0, 0]]
    assert edge_distance(1, 1).tolist() == [[0]]


def test_ring_errors_known_by_construction():
    h, w = 40, 56  # not square: catches a swapped axis
    amp = {0: 0.4, 1: 0.2, 2: 0.1, 3: 0.08, 7: 0.05}
    ref, rec = _ring_image(h, w, amp, other=0.02)
    b = border_errors(ref, rec)
    want = [amp.get(r, 0.02) ** 2 for r in range(RINGS)]
    assert b["ring_mse"] == pytest.approx(want, rel=1e-12)
    assert b["interior_mse"] == pytest.approx(0.02 ** 2, rel=1e-12)

    def ring_count(r):  # pixels of ring r of an h x w frame
        return (h - 2 * r) * (w - 2 * r) - (h - 2 * r - 2) * (w - 2 * r - 2)

    edge = sum(ring_count(r) * amp.get(r, 0.02) ** 2 for r in range(EDGE))
    total = edge + (h * w - sum(ring_count(r) for r in range(EDGE))) * 0.02 ** 2
    total += sum(ring_count(r) * (amp[r] ** 2 - 0.02 ** 2) for r in amp if r >= EDGE)
    assert b["edge_sse"] == pytest.approx(edge, rel=1e-12)
    assert b["total_sse"] == pytest.approx(total, rel=1e-12)

    agg = aggregate([b, b])
    assert agg["ring_ratio"] == pytest.approx([v / 0.02 ** 2 for v in want], rel=1e-12)
    assert agg["ring_ratio"][0] == pytest.approx(400.0) and agg["ring_ratio"][4] == pytest.approx(1.0)
    assert agg["edge_share"] == pytest.approx(edge / total, rel=1e-12)


def test_aggregate_is_ratio_of_means_and_uniform_error_has_no_border():
    ref, rec = _ring_image(48, 48, {}, other=0.1)
    flat = border_errors(ref, rec)
    agg = aggregate([flat])
    assert agg["ring_ratio"] == pytest.approx([1.0] * RINGS)
    assert agg["edge_share"] == pytest.approx(1 - (48 - 2 * EDGE) ** 2 / 48 ** 2)
    # a second image with twice the error at ring 0 only: ring 0 ratio = mean(0.01, 0.04) / 0.01
    ref2, rec2 = _ring_image(48, 48, {0: 0.2}, other=0.1)
    agg2 = aggregate([flat, border_errors(ref2, rec2)])
    assert agg2["ring_ratio"][0] == pytest.approx(2.5) and agg2["ring_ratio"][1] == pytest.approx(1.0)


def test_small_frames_have_no_interior_and_bad_input_raises():
    ref, rec = _ring_image(2 * INTERIOR - 1, 20, {0: 0.3}, other=0.1)
    b = border_errors(ref, rec)
    assert np.isnan(b["interior_mse"]) and b["ring_mse"][0] == pytest.approx(0.09)
    one = border_errors(np.zeros((1, 1, 3)), np.full((1, 1, 3), 0.5))
    assert one["ring_mse"][0] == pytest.approx(0.25) and np.isnan(one["ring_mse"][1])
    assert np.isnan(aggregate([b])["ring_ratio"][0])
    with pytest.raises(InvalidArgumentError):
        border_errors(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(InvalidArgumentError):
        aggregate([])


def test_borders_in_the_result_json_and_report(tmp_path, capsys):
    from refcodec.eval.report import main, markdown
    from refcodec.eval.run import border_rows, json_safe, summary_lines

    per_image = []
    for scale in (1.0, 2.0):
        rows = []
        for k in range(1, 13):
            ref, rec = _ring_image(64, 64, {0: 0.3 * scale / k, 1: 0.2 * scale / k}, other=0.1 * scale / k)
            rows.append({"k": k, "border": border_errors(ref, rec)})
        per_image.append(rows)
    borders = border_rows(per_image)
    assert [r["k"] for r in borders] == list(range(1, 13))
    assert borders[-1]["ring_ratio"][0] == pytest.approx(9.0) and borders[-1]["ring_ratio"][1] == pytest.approx(4.0)
    result = json_safe({"dataset": "/x/kodak", "images": ["a.png", "b.png"], "size": 64, "model_id": "ab" * 32,
                        "codec": [], "bd_rate": {}, "ordering": {"ok": True, "steps": []}, "borders": borders})
    text = markdown(result)
    assert "| 12 | 9.00 | 4.00 | 1.00 |" in text
    assert "At k = 12: outermost ring 9.0x the interior" in text
    assert any("borders at k=12: ring 0..7 error / interior = 9.0 4.0 1.0" in line for line in summary_lines(result))
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result, allow_nan=False))
    assert main([str(path)]) == 0 and "within 4 px" in capsys.readouterr().out
    # results written before the border figures existed still report
    assert "Frame borders" not in markdown({k: v for k, v in result.items() if k != "borders"})


def test_source_edge_step_by_hand():
    from refcodec.eval.borders import source_edge_step

    # rows alternate 0.0 / 0.1 / 0.0 / ... and columns are constant: |row0 - row1| = |row1 - row2| = 0.1 on the
    # top and bottom sides; the left and right sides (columns) are constant: 0 and 0
    h, w = 9, 12
    img = np.zeros((h, w, 3))
    img[1::2] = 0.1
    assert source_edge_step([img]) == pytest.approx(1.0)
    # a frame line: the outermost row/column on all four sides set to 1.0 on a flat 0.5 image with a ramp
    ramp = np.broadcast_to(np.linspace(0.2, 0.8, w)[None, :, None], (h, w, 3)).copy()
    framed = ramp.copy()
    framed[0], framed[-1], framed[:, 0], framed[:, -1] = 1.0, 1.0, 1.0, 1.0
    # rows 1 and 2 are alike; columns 1 and 2 differ by one ramp step except at the two frame rows
    d12 = np.mean([0.0, 0.0, 0.6 / (w - 1) * (h - 2) / h, 0.6 / (w - 1) * (h - 2) / h])
    d01 = np.mean([np.abs(1.0 - framed[1]).mean(), np.abs(1.0 - framed[-2]).mean(),
                   np.abs(1.0 - framed[:, 1]).mean(), np.abs(1.0 - framed[:, -2]).mean()])
    assert source_edge_step([framed]) == pytest.approx(d01 / d12)
    assert source_edge_step([framed]) > 10 and source_edge_step([ramp]) == pytest.approx(1.0)
    # ratio of sums over images, not a mean of ratios
    assert source_edge_step([img, img * 3]) == pytest.approx(1.0)
    assert np.isnan(source_edge_step([np.zeros((2, 40, 3))])) and np.isnan(source_edge_step([np.zeros((8, 8, 3))]))
    with pytest.raises(InvalidArgumentError):
        source_edge_step([])


def test_trim_frame_cuts_each_side_before_the_preparation(tmp_path):
    from PIL import Image

    from refcodec.eval.prep import load_prepared, prepare_array, trim_frame

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sides
    t = trim_frame(img, 3)
    assert t.shape == (31, 47, 3) and np.array_equal(t, img[3:34, 3:50])
    assert trim_frame(img, 0) is img
    assert trim_frame(img, 18).shape == (1, 17, 3)
    for bad in (19, -1, 1.5, True):
        with pytest.raises(InvalidArgumentError):
            trim_frame(img, bad)
    path = tmp_path / "x.png"
    Image.fromarray(img).save(path)
    assert np.array_equal(load_prepared(path, 24, 3), prepare_array(img[3:34, 3:50], 24))
    with pytest.raises(InvalidArgumentError, match="x.png"):
        load_prepared(path, 24, 20)


def test_jpeg_rows_carry_border_figures_and_the_report_names_the_peer():
    from refcodec.eval.jpeg import jpeg_decode, jpeg_encode, jpeg_sweep
    from refcodec.eval.report import markdown
    from refcodec.eval.run import jpeg_border_peers, summary_lines

    rng = np.random.default_rng(5)
    ims = [rng.integers(0, 256, (168, 177, 3), dtype=np.uint8) for _ in range(2)]  # MS-SSIM needs > 160
    rows = jpeg_sweep(ims, (20, 80), "420")
    per = [border_errors(im / 255.0, jpeg_decode(jpeg_encode(im, 20, "420")) / 255.0) for im in ims]
    assert rows[0]["borders"]["ring_mse"] == pytest.approx(aggregate(per)["ring_mse"])
    ref, rec = _ring_image(64, 64, {0: 0.3}, other=0.1)
    codec = [{"k": 12, "bpp": 1.0, "psnr": 20.0, "ms_ssim": 0.9, "ms_ssim_db": 10.0}]
    result = {"dataset": "d", "images": ["a"], "size": 64, "model_id": "ab" * 32, "codec": codec,
              "jpeg": {"420": [{**r, "bpp": b} for r, b in zip(rows, (0.5, 1.2))]}, "bd_rate": {},
              "ordering": {"ok": True, "steps": []},
              "borders": [{"k": 12, **aggregate([border_errors(ref, rec)])}], "source_edge_step": 2.5, "trim": 0}
    peer = jpeg_border_peers(result)["420"]
    assert peer["quality"] == 80  # 1.2 bpp is nearer 1.0 than 0.5 is
    text = markdown(result)
    assert "| JPEG 4:2:0 q=80 (1.200 bpp) |" in text and "differs from the next 2.50x" in text
    assert any(line.startswith("  jpeg420 q=80 (1.200 bpp): ring 0") for line in summary_lines(result))
    assert any("source edge step" in line and "2.50" in line for line in summary_lines(result))
    # results written before JPEG rows had border figures report without the peer line
    old = {**result, "jpeg": {"420": [{k: v for k, v in r.items() if k != "borders"} for r in result["jpeg"]["420"]]}}
    assert jpeg_border_peers(old) == {} and "| JPEG" not in markdown(old)
