"""The two canonical-Huffman decode loops (refcodec.entropy.kernels_python and kernels_numba) give the same
symbols and the same end position or error code, on every entropy-coded chunk of the conformance vectors and
on random tables, symbols and corrupted bytes; and the "auto" choice decodes in Python until its budget is
spent, then with numba.

The vectors' symbols are themselves checked against independent implementations (tests/test_vectors.py), so
agreeing with them on every chunk ties both loops to the spec, not to each other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from refcodec.bitstream.container import parse_stream
from refcodec.bitstream.format import CHUNK_CTX_HUFFMAN, CHUNK_HUFFMAN
from refcodec.entropy import kernels
from refcodec.entropy.context import ContextCoder, context_params
from refcodec.entropy.huffman import build_code_lengths, huffman_encode
from refcodec.model.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1] / "vectors"
VECTORS = sorted(p.parent.name for p in ROOT.glob("*/vector.json"))


def _huffman_tables(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.asarray(lengths, np.int64)
    bl = np.bincount(lengths, minlength=16).astype(np.int64)
    bl[0] = 0
    order = np.lexsort((np.arange(lengths.size), lengths))
    return bl, order[lengths[order] > 0].astype(np.int64)


def _both_huffman(buf: np.ndarray, n: int, lengths) -> tuple:
    bl, srt = _huffman_tables(lengths)
    res = [kernels.huffman_decode_symbols(buf, n, bl, srt, mode=m) for m in ("python", "numba")]
    return res


def _both_context(buf: np.ndarray, h: int, w: int, coder: ContextCoder) -> tuple:
    return [kernels.context_decode_symbols(buf, h, w, coder.shift, coder.nb, coder.bl_count, coder.sorted_symbols,
                                           mode=m) for m in ("python", "numba")]


def _assert_same(res) -> int:
    (sym_p, pos_p), (sym_n, pos_n) = res
    assert pos_p == pos_n
    if pos_p >= 0:
        assert np.array_equal(sym_p, sym_n)
    return pos_p


@pytest.mark.parametrize("name", VECTORS)
def test_every_coded_chunk_of_the_vectors(name):
    rec = json.loads((ROOT / name / "vector.json").read_text())
    model = load_model(ROOT / "models" / f"{rec['model']['name']}.npz")
    parsed = parse_stream((ROOT / name / "stream.mcuc").read_bytes())
    lh, lw = parsed.header.latent_height, parsed.header.latent_width
    dirs = rec.get("tensor_dirs", ["."])  # multi-frame vectors: one folder of tensors per frame
    for pkt, folder in zip(parsed.packets, dirs):
        expected = np.fromfile(ROOT / name / folder / "symbols.bin", np.uint8).reshape(lh, lw, -1)
        for c, chunk in enumerate(pkt.chunks):
            buf = np.frombuffer(chunk.data, np.uint8)
            if chunk.mode == CHUNK_HUFFMAN:
                res = _both_huffman(buf, lh * lw, model.entropy.code_lengths[c])
            elif chunk.mode == CHUNK_CTX_HUFFMAN:
                res = _both_context(buf, lh, lw, model.entropy.context_coders[c])
            else:
                continue
            pos = _assert_same(res)
            assert (pos + 7) // 8 == len(chunk.data)
            assert np.array_equal(res[0][0].reshape(lh, lw), expected[:, :, c])


def test_vectors_hold_both_kinds_of_coded_chunk():
    modes = set()
    for name in VECTORS:
        for pkt in parse_stream((ROOT / name / "stream.mcuc").read_bytes()).packets:
            modes |= {ch.mode for ch in pkt.chunks}
    assert {CHUNK_HUFFMAN, CHUNK_CTX_HUFFMAN} <= modes


def _random_lengths(rng, nsym: int) -> np.ndarray:
    counts = rng.integers(0, 100, nsym) * (rng.random(nsym) < 0.8)
    counts[rng.integers(0, nsym)] += 1
    lengths = build_code_lengths(counts.astype(np.int64), 15)
    if rng.random() < 0.3 and (lengths > 0).sum() > 2:  # an incomplete code: some patterns are no code
        lengths[np.flatnonzero(lengths)[0]] = 0
    return lengths


@pytest.mark.parametrize("seed", range(6))
def test_random_huffman_streams_and_corruptions(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.integers(1, 9))
    lengths = _random_lengths(rng, 1 << bits)
    codable = np.flatnonzero(lengths)
    n = int(rng.integers(1, 400))
    sym = rng.choice(codable, n).astype(np.uint8)
    data = huffman_encode(sym, lengths)
    buf = np.frombuffer(data, np.uint8)
    res = _both_huffman(buf, n, lengths)
    assert _assert_same(res) >= 0 and np.array_equal(res[0][0], sym)
    errors = set()
    for _ in range(40):  # flipped bits, cut and random chunks: same symbols or the same error
        bad = bytearray(data)
        kind = rng.integers(0, 3)
        if kind == 0:
            bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            bad = bad[: int(rng.integers(0, len(bad)))]
        else:
            bad = bytearray(rng.integers(0, 256, len(bad), dtype=np.uint8).tobytes())
        errors.add(min(0, _assert_same(_both_huffman(np.frombuffer(bytes(bad), np.uint8), n, lengths))))
    assert -1 in errors


@pytest.mark.parametrize("bits", [1, 2, 4, 5, 8])
def test_random_context_streams_and_corruptions(bits):
    rng = np.random.default_rng(100 + bits)
    _, _, nctx = context_params(bits)
    tables = np.array([_random_lengths(rng, 1 << bits) for _ in range(nctx)], np.uint8)
    coder = ContextCoder(tables, bits)
    for h, w in [(1, 1), (3, 17), (9, 7), (20, 24)]:
        sym = np.zeros((h, w), np.uint8)
        flat = sym.ravel()
        shift, nb, _ = context_params(bits)
        for i in range(h * w):  # walk a codable sequence: each symbol drawn among those coded in its context
            y, x = divmod(i, w)
            left = nb if x == 0 else int(flat[i - 1]) >> shift
            top = nb if y == 0 else int(flat[i - w]) >> shift
            flat[i] = rng.choice(np.flatnonzero(tables[left * (nb + 1) + top]))
        data = coder.encode(sym)
        res = _both_context(np.frombuffer(data, np.uint8), h, w, coder)
        assert _assert_same(res) >= 0 and np.array_equal(res[0][0], flat)
        for _ in range(20):
            bad = bytearray(data)
            if rng.random() < 0.5:
                bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
            else:
                bad = bad[: int(rng.integers(0, len(bad)))]
            _assert_same(_both_context(np.frombuffer(bytes(bad), np.uint8), h, w, coder))


def test_auto_decodes_in_python_until_the_budget_then_numba(monkeypatch):
    monkeypatch.setattr(kernels, "PYTHON_BUDGET_SYMBOLS", 1000)
    monkeypatch.setattr(kernels, "_python_symbols", 0)
    monkeypatch.setattr(kernels, "_numba_ready", False)
    monkeypatch.delenv("REFCODEC_ENTROPY_KERNEL", raising=False)
    assert [kernels._use_numba(400, None) for _ in range(3)] == [False, False, True]
    assert kernels._use_numba(1, None)  # once loaded, numba stays
    monkeypatch.setattr(kernels, "_numba_ready", False)
    monkeypatch.setattr(kernels, "_python_symbols", 0)
    assert kernels._use_numba(5000, None)  # one call larger than the budget goes to numba at once
    monkeypatch.setenv("REFCODEC_ENTROPY_KERNEL", "python")
    assert not kernels._use_numba(10**9, None)
