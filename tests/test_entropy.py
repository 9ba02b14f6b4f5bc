"""Entropy coding (spec §6): canonical Huffman, length-limited code lengths, raw packing, CRC-32."""

from __future__ import annotations

import heapq
import zlib

import numpy as np
import pytest

from refcodec.bitstream.crc import crc32, crc32_table_driven
from refcodec.bitstream.format import CHUNK_HUFFMAN, CHUNK_RAW
from refcodec.entropy import (
    BitReader,
    BitWriter,
    build_code_lengths,
    canonical_codes,
    decode_channel,
    encode_channel,
    fit_code_lengths,
    huffman_decode,
    huffman_encode,
    raw_pack,
    raw_unpack,
)
from refcodec.errors import BitstreamError, InvalidArgumentError


def kraft_units(lengths, max_len=15) -> int:
    """sum 2^(max_len - l) over l > 0; == 2^max_len for a complete code."""
    l = np.asarray(lengths, dtype=np.int64)
    return int(np.sum(np.where(l > 0, 1 << (max_len - l), 0)))


def unlimited_huffman_cost(counts) -> int:
    """Total bits of an optimal (unlimited) Huffman code: sum of merged weights (textbook heap)."""
    heap = [int(c) for c in counts if c > 0]
    if len(heap) == 1:
        return heap[0]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


def test_canonical_codes_match_rfc1951_example():
    # RFC 1951 §3.2.2: lengths (3,3,3,3,3,2,4,4) -> 010 011 100 101 110 00 1110 1111
    codes = canonical_codes(np.array([3, 3, 3, 3, 3, 2, 4, 4]))
    assert codes.tolist() == [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111]


def test_huffman_bytes_hand_computed():
    # symbols 5, 0, 7 with the RFC lengths: 00 010 1111 -> 00010111 1(0000000) -> 0x17 0x80
    lengths = np.array([3, 3, 3, 3, 3, 2, 4, 4], dtype=np.uint8)
    assert huffman_encode(np.array([5, 0, 7]), lengths) == bytes([0x17, 0x80])
    assert huffman_decode(bytes([0x17, 0x80]), lengths, 3).tolist() == [5, 0, 7]


def test_raw_bytes_hand_computed():
    # spec §6.1 example: 5, 1, 6 at 3 bits -> 101 001 110 -> 0xA7 0x00
    assert raw_pack(np.array([5, 1, 6]), 3) == bytes([0xA7, 0x00])
    assert raw_unpack(bytes([0xA7, 0x00]), 3, 3).tolist() == [5, 1, 6]


@pytest.mark.parametrize("dist", ["uniform", "geometric", "fibonacci", "sparse", "two"])
@pytest.mark.parametrize("max_len", [9, 15])
def test_code_lengths_kraft_equality_and_limit(dist, max_len):
    rng = np.random.default_rng(len(dist) * 31 + max_len)
    n = 256
    if dist == "uniform":
        counts = rng.integers(1, 1000, n)
    elif dist == "geometric":
        counts = rng.geometric(0.03, n) ** 3
    elif dist == "fibonacci":  # unlimited Huffman depth would be n - 1: forces the limit
        fib = [1, 1]
        while len(fib) < 40:
            fib.append(fib[-1] + fib[-2])
        counts = np.array(fib + [0] * (n - 40), dtype=np.int64)
    elif dist == "sparse":
        counts = np.zeros(n, dtype=np.int64)
        counts[rng.choice(n, 7, replace=False)] = rng.integers(1, 50, 7)
    else:
        counts = np.zeros(n, dtype=np.int64)
        counts[[3, 200]] = [1, 10**6]
    lengths = build_code_lengths(counts, max_len)
    assert lengths.dtype == np.uint8
    assert int(lengths.max()) <= max_len
    assert np.array_equal(lengths > 0, counts > 0)
    assert kraft_units(lengths, max_len) == 1 << max_len
    cost = int(np.sum(lengths.astype(np.int64) * counts))
    optimum = unlimited_huffman_cost(counts)
    assert cost >= optimum
    if dist in ("uniform", "sparse", "two") and max_len == 15:  # limit not binding: must be optimal
        assert cost == optimum


def test_code_lengths_fibonacci_limit_binds():
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    counts = np.array(fib)
    assert unlimited_huffman_cost(counts) < int(np.sum(build_code_lengths(counts, 8).astype(np.int64) * counts))
    assert build_code_lengths(counts, 8).max() == 8


def test_code_lengths_edge_cases():
    assert build_code_lengths(np.zeros(8, dtype=np.int64), 15).tolist() == [0] * 8
    assert build_code_lengths(np.array([0, 0, 9, 0]), 15).tolist() == [0, 0, 1, 0]
    with pytest.raises(InvalidArgumentError, match="cannot be coded"):
        build_code_lengths(np.ones(9, dtype=np.int64), 3)
    with pytest.raises(InvalidArgumentError, match="non-negative"):
        build_code_lengths(np.array([1, -1]), 15)


@pytest.mark.parametrize("bits", [1, 3, 5, 8])
def test_huffman_round_trip_random(bits):
    rng = np.random.default_rng(bits)
    train = np.minimum(rng.geometric(0.2, size=(50, 50, 3)) - 1, (1 << bits) - 1)
    lengths = fit_code_lengths([train], bits)
    for c in range(3):
        x = rng.integers(0, 1 << bits, size=777).astype(np.uint8)
        data = huffman_encode(x, lengths[c])
        assert np.array_equal(huffman_decode(data, lengths[c], x.size), x)


def test_huffman_matches_bit_by_bit_writer():
    """The vectorised packer against the one-bit-at-a-time BitWriter / BitReader (spec §6.1 pseudo-code)."""
    rng = np.random.default_rng(7)
    lengths = build_code_lengths(rng.integers(1, 100, 32), 15)
    codes = canonical_codes(lengths)
    x = rng.integers(0, 32, 500)
    w = BitWriter()
    for s in x:
        w.write(int(codes[s]), int(lengths[s]))
    assert huffman_encode(x, lengths) == w.getvalue()
    r = BitReader(w.getvalue())
    bl = {(int(codes[s]), int(lengths[s])): s for s in range(32)}
    out = []
    for _ in range(x.size):
        code, n = 0, 0
        while (code, n) not in bl:
            code, n = (code << 1) | r.read_bit(), n + 1
        out.append(bl[(code, n)])
    r.check_end()
    assert out == x.tolist()


def test_huffman_decode_rejects_bad_chunks():
    lengths = np.array([3, 3, 3, 3, 3, 2, 4, 4], dtype=np.uint8)
    good = huffman_encode(np.array([5, 0, 7]), lengths)  # 0x17 0x80, 9 bits
    with pytest.raises(BitstreamError, match="ends before"):
        huffman_decode(good[:1], lengths, 3)
    with pytest.raises(BitstreamError, match="bytes"):
        huffman_decode(good + b"\x00", lengths, 3)
    with pytest.raises(BitstreamError, match="padding"):
        huffman_decode(bytes([0x17, 0x81]), lengths, 3)
    incomplete = np.array([1, 2, 0, 0], dtype=np.uint8)  # codes 0, 10; 11 is not a code
    with pytest.raises(BitstreamError, match="not a code"):
        huffman_decode(bytes([0xC0, 0x00]), incomplete, 1)


def test_raw_round_trip_and_errors():
    rng = np.random.default_rng(3)
    for bits in range(1, 9):
        x = rng.integers(0, 1 << bits, 101).astype(np.uint8)
        data = raw_pack(x, bits)
        assert len(data) == (101 * bits + 7) // 8
        assert np.array_equal(raw_unpack(data, bits, 101), x)
    with pytest.raises(InvalidArgumentError, match="does not fit"):
        raw_pack(np.array([8]), 3)
    with pytest.raises(BitstreamError, match="expected"):
        raw_unpack(b"\x00", 3, 3)
    with pytest.raises(BitstreamError, match="padding"):
        raw_unpack(bytes([0xA7, 0x01]), 3, 3)


def test_encode_channel_mode_rule():
    """spec §6.4: Huffman only when every symbol is codable and strictly smaller than raw."""
    skewed = np.zeros((10, 10), dtype=np.uint8)
    lengths = build_code_lengths(np.array([100, 1, 1, 1, 1, 1, 1, 1]), 15)
    ch = encode_channel(skewed, 3, lengths)
    assert ch.mode == CHUNK_HUFFMAN and len(ch.data) < (100 * 3 + 7) // 8
    assert np.array_equal(decode_channel(ch, 3, 100, lengths), skewed.ravel())
    uniform = np.arange(8, dtype=np.uint8).repeat(2).reshape(4, 4)  # rare symbols cost more than 3 bits
    ch = encode_channel(uniform, 3, lengths)
    assert ch.mode == CHUNK_RAW and len(ch.data) == 6
    uncodable = np.array([0, 1], dtype=np.uint8)
    ch = encode_channel(np.zeros(64, dtype=np.uint8).reshape(8, 8) + uncodable[1], 1, np.array([1, 0], np.uint8))
    assert ch.mode == CHUNK_RAW
    with pytest.raises(BitstreamError, match="no entropy tables"):
        decode_channel(encode_channel(skewed, 3, lengths), 3, 100, None)


def test_fit_code_lengths_every_symbol_codable_and_saves_bits():
    rng = np.random.default_rng(11)
    train = np.minimum(rng.geometric(0.3, size=(40, 40, 12)) - 1, 31).astype(np.uint8)
    lengths = fit_code_lengths([train[:20], train[20:]], 5)
    assert lengths.shape == (12, 32) and lengths.dtype == np.uint8
    assert lengths.min() >= 1 and lengths.max() <= 15
    for row in lengths:
        assert kraft_units(row) == 1 << 15
    test = np.minimum(rng.geometric(0.3, size=(40, 40)) - 1, 31).astype(np.uint8)
    assert len(huffman_encode(test, lengths[0])) < len(raw_pack(test, 5)) * 0.7


def test_crc32_check_value_and_table_form():
    assert crc32(b"123456789") == 0xCBF43926  # published check value of CRC-32/ISO-HDLC
    assert crc32_table_driven(b"123456789") == 0xCBF43926
    data = np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    assert crc32_table_driven(data) == crc32(data) == zlib.crc32(data)
