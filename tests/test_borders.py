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
