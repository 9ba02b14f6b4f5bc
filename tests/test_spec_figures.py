"""SPEC.md §11.2's figures are what `python -m refcodec.bitstream.figures` computes (issue 12 item 3: they had
gone stale: 406 / 3,332 bytes written for a model that gives 250 / 2,183)."""

from __future__ import annotations

from refcodec.bitstream import figures


def test_spec_11_2_figures_are_current():
    text = figures.SPEC.read_text(encoding="utf-8")
    assert figures.spec_block(text) == figures.render(figures.figures())


def test_figures_come_from_the_streams():
    f = figures.figures()
    (v1, v2) = f["table"][1]
    assert v1[0] == 68 and v2[0] == 25  # header sizes of §7.6 and §7.1 (a still: no optional field)
    assert v2[1] == 2 + 1 + 1 + 2 + 4  # 8 + 2k at k = 1 (§7.2), chunks of 32..4095 bytes
    assert f["table"][12][1][1] == 8 + 2 * 12
    n2, n1, c2, c1 = f["bundled"][1]
    assert n1 - n2 == c1 - c2 > 0  # the same chunks in both versions: only the container differs
