"""The .mcuc container: frame packets and whole streams (bitstream_spec/SPEC.md §7, §8); the stream header is
refcodec/bitstream/header.py. Both container versions are parsed (the header's version byte decides); packets
are written in the version of the stream they belong to.

All multi-byte integers are little-endian. Parsing never trusts a length before checking it
against the bytes that are there and against the implementation limits, so hostile input ends
in a BitstreamError, never in a huge allocation, a hang or another exception type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from refcodec.bitstream.crc import SpanCrc, crc32
from refcodec.bitstream.format import (
    CHUNK_ENTRY_SIZE_V1,
    CHUNK_MODE_BITS_V2,
    CHUNK_MODE_NAMES,
    CHUNK_RAW,
    ALLOWED_CHUNK_MODES,
    CHUNK_INTER,
    ENTROPY_NAMES,
    MAX_CHUNK_LENGTH,
    PACKET_FIXED_SIZE_V1,
    PACKET_MIN_SIZE_V2,
    PACKET_SYNC_V1,
    PACKET_SYNC_V2,
    VERSION,
    VERSION_1,
    max_huffman_chunk_length,
    max_inter_chunk_length,
    packet_sync,
    raw_chunk_length,
)
from refcodec.bitstream.header import StreamHeader
from refcodec.bitstream.lost import add_lost
from refcodec.bitstream.varint import decode_uvarint, encode_uvarint, uvarint_size
from refcodec.errors import BitstreamError, InvalidArgumentError

_PACKET_HEAD_V1 = struct.Struct("<4sIBB")  # sync, frame_index, k, flags (10 bytes)
_MODE_MASK_V2 = (1 << CHUNK_MODE_BITS_V2) - 1


@dataclass(frozen=True)
class Chunk:
    """One channel's coded symbols: `mode` CHUNK_RAW, CHUNK_HUFFMAN or CHUNK_CTX_HUFFMAN, `data` the chunk bytes."""

    mode: int
    data: bytes

    def entry(self, version: int = VERSION) -> bytes:
        """Its chunk table entry: v1 u32 `mode | length << 8`, v2 varint `length << 2 | mode`."""
        if self.mode not in CHUNK_MODE_NAMES:
            raise InvalidArgumentError(f"chunk mode {self.mode} is not one of {CHUNK_MODE_NAMES}")
        if len(self.data) > MAX_CHUNK_LENGTH:
            raise InvalidArgumentError(f"chunk of {len(self.data)} bytes exceeds {MAX_CHUNK_LENGTH}")
        if version == VERSION_1:
            return struct.pack("<I", self.mode | (len(self.data) << 8))
        return encode_uvarint((len(self.data) << CHUNK_MODE_BITS_V2) | self.mode)

    def entry_size(self, version: int = VERSION) -> int:
        """Bytes of its chunk table entry (v1: 4; v2: 1..4)."""
        return len(self.entry(version))


@dataclass(frozen=True)
class FramePacket:
    """Frame packet (spec §7.2): chunks[i] codes latent channel i, i < k = len(chunks). `version`: the container
    version it is written in (that of its stream)."""

    frame_index: int
    chunks: tuple[Chunk, ...]
    version: int = VERSION

    @property
    def k(self) -> int:
        return len(self.chunks)

    @property
    def fixed_size(self) -> int:
        """Bytes of the packet without chunks: v1 14; v2 7 + the frame_index varint (8 for index < 128)."""
        if self.version == VERSION_1:
            return PACKET_FIXED_SIZE_V1
        return PACKET_MIN_SIZE_V2 - 1 + uvarint_size(self.frame_index)

    @property
    def size(self) -> int:
        """Packet size in bytes: fixed_size + per chunk its table entry and its data."""
        return self.fixed_size + sum(c.entry_size(self.version) + len(c.data) for c in self.chunks)

    def prefix(self, k: int) -> "FramePacket":
        """The packet keeping chunks 0..k-1 (spec §9)."""
        return FramePacket(self.frame_index, self.chunks[:k], self.version)

    def pack(self) -> bytes:
        if not 0 <= self.frame_index <= 0xFFFFFFFF:
            raise InvalidArgumentError(f"frame index {self.frame_index} outside [0, 2^32-1]")
        if self.k > 255:
            raise InvalidArgumentError(f"{self.k} chunks, at most 255")
        if self.version == VERSION_1:
            head = _PACKET_HEAD_V1.pack(PACKET_SYNC_V1, self.frame_index, self.k, 0)
        else:
            head = PACKET_SYNC_V2 + encode_uvarint(self.frame_index) + bytes([self.k])
        body = b"".join([head, *(c.entry(self.version) for c in self.chunks), *(c.data for c in self.chunks)])
        return body + struct.pack("<I", crc32(body))


def _check_entry(mode: int, length: int, header: StreamHeader, offset: int, i: int) -> None:
    """Chunk table entry rules of spec §7.2 (both versions): E_PACKET on violation."""
    if length > MAX_CHUNK_LENGTH:  # a v2 varint could say more; v1's u24 cannot (spec §10.1)
        raise BitstreamError(
            f"packet at offset {offset}, channel {i}: chunk length {length} above {MAX_CHUNK_LENGTH}", "E_PACKET")
    if mode == CHUNK_RAW:
        raw_len = raw_chunk_length(header.n_symbols, header.bits)
        if length != raw_len:
            raise BitstreamError(
                f"packet at offset {offset}, channel {i}: raw chunk length {length}, expected {raw_len}", "E_PACKET")
    elif mode in CHUNK_MODE_NAMES:  # an entropy-coded mode: only the one the stream's entropy_mode allows
        name = CHUNK_MODE_NAMES[mode]
        if mode not in ALLOWED_CHUNK_MODES[header.entropy_mode]:
            raise BitstreamError(f"packet at offset {offset}, channel {i}: {name} chunk in a "
                                 f"{ENTROPY_NAMES[header.entropy_mode]} stream", "E_PACKET")
        if mode == CHUNK_INTER:  # may be empty: a channel equal to its reference costs ~0 bytes (spec §6.7)
            inter_max = max_inter_chunk_length(header.n_symbols)
            if length > inter_max:
                raise BitstreamError(f"packet at offset {offset}, channel {i}: inter chunk length {length} above "
                                     f"{inter_max}", "E_PACKET")
            return
        huff_max = max_huffman_chunk_length(header.n_symbols)
        if not 1 <= length <= huff_max:
            raise BitstreamError(
                f"packet at offset {offset}, channel {i}: {name} chunk length {length} outside [1, {huff_max}]",
                "E_PACKET")
    else:
        raise BitstreamError(f"packet at offset {offset}, channel {i}: unknown chunk mode {mode}", "E_PACKET")


def _check_k(k: int, header: StreamHeader, offset: int) -> None:
    if k > header.channels:
        raise BitstreamError(
            f"packet at offset {offset}: {k} channels present, stream has {header.channels}", "E_PACKET")


def _packet_head_v1(data: bytes, offset: int, header: StreamHeader) -> tuple[int, list[tuple[int, int]], int]:
    """v1 sync, frame_index, k, flags and chunk table: (frame_index, [(mode, length)], offset of chunk 0)."""
    end = len(data)
    if end - offset < _PACKET_HEAD_V1.size:
        raise BitstreamError(f"truncated frame packet at offset {offset}: {end - offset} bytes left", "E_TRUNCATED")
    sync, frame_index, k, flags = _PACKET_HEAD_V1.unpack_from(data, offset)
    if sync != PACKET_SYNC_V1:
        raise BitstreamError(
            f"bad packet sync {bytes(sync)!r} at offset {offset}, expected {PACKET_SYNC_V1!r}", "E_SYNC")
    if flags != 0:
        raise BitstreamError(f"packet at offset {offset}: reserved flags {flags} must be 0", "E_PACKET")
    _check_k(k, header, offset)
    pos = offset + _PACKET_HEAD_V1.size
    if end - pos < CHUNK_ENTRY_SIZE_V1 * k + 4:
        raise BitstreamError(
            f"truncated chunk table of packet at offset {offset}: needs {CHUNK_ENTRY_SIZE_V1 * k + 4} bytes, "
            f"{end - pos} left", "E_TRUNCATED")
    entries = []
    for i in range(k):
        (word,) = struct.unpack_from("<I", data, pos + CHUNK_ENTRY_SIZE_V1 * i)
        _check_entry(word & 0xFF, word >> 8, header, offset, i)
        entries.append((word & 0xFF, word >> 8))
    return frame_index, entries, pos + CHUNK_ENTRY_SIZE_V1 * k


def _packet_head_v2(data: bytes, offset: int, header: StreamHeader) -> tuple[int, list[tuple[int, int]], int]:
    """v2 sync, frame_index varint, k and varint chunk table: (frame_index, [(mode, length)], offset of chunk 0)."""
    end = len(data)
    if end - offset < PACKET_MIN_SIZE_V2:
        raise BitstreamError(f"truncated frame packet at offset {offset}: {end - offset} bytes left", "E_TRUNCATED")
    sync = data[offset:offset + 2]
    if sync != PACKET_SYNC_V2:
        raise BitstreamError(f"bad packet sync {bytes(sync)!r} at offset {offset}, expected {PACKET_SYNC_V2!r}",
                             "E_SYNC")
    frame_index, pos = decode_uvarint(data, offset + 2, f"packet at offset {offset}, frame_index")
    if pos >= end:
        raise BitstreamError(f"truncated frame packet at offset {offset}: ends before k", "E_TRUNCATED")
    k = data[pos]
    _check_k(k, header, offset)
    pos += 1
    entries = []
    for i in range(k):
        value, pos = decode_uvarint(data, pos, f"packet at offset {offset}, chunk table entry {i}")
        mode, length = value & _MODE_MASK_V2, value >> CHUNK_MODE_BITS_V2
        _check_entry(mode, length, header, offset, i)
        entries.append((mode, length))
    return frame_index, entries, pos


def parse_packet(data: bytes, offset: int, header: StreamHeader,
                 span_crc: SpanCrc | None = None) -> tuple[FramePacket, int]:
    """Parse the frame packet at `offset` in the layout of header.version; return it and the offset after it
    (spec §8.1 step 3).

    Raises BitstreamError naming the offset on any violation. Lengths are checked against the
    bytes present and against what the header allows before any slice is taken; the CRC is checked before
    any chunk is copied. span_crc: a SpanCrc over `data` (keep-going resync: bounded work per candidate
    however long the packet it claims, spec §10.2); None computes the CRC directly.
    """
    read_head = _packet_head_v1 if header.version == VERSION_1 else _packet_head_v2
    frame_index, entries, pos = read_head(data, offset, header)
    total = sum(length for _, length in entries)
    if len(data) - pos < total + 4:
        raise BitstreamError(
            f"truncated frame packet at offset {offset}: chunks need {total + 4} bytes, {len(data) - pos} left",
            "E_TRUNCATED",
        )
    end = pos + total
    (stored_crc,) = struct.unpack_from("<I", data, end)
    computed = span_crc.span(offset, end) if span_crc is not None else crc32(memoryview(data)[offset:end])
    if stored_crc != computed:
        raise BitstreamError(
            f"packet CRC mismatch at offset {offset} (frame {frame_index}): "
            f"stored 0x{stored_crc:08x}, computed 0x{computed:08x}", "E_CRC"
        )
    chunks = []
    for mode, length in entries:
        chunks.append(Chunk(mode, bytes(data[pos : pos + length])))
        pos += length
    return FramePacket(frame_index, tuple(chunks), header.version), end + 4


@dataclass
class ParsedStream:
    """A parsed container. `packets` in stream order; `lost` the frame indices that are missing or corrupt as
    sorted, merged inclusive ranges `[first, last]` (refcodec.bitstream.lost; only non-empty with keep_going);
    `errors` one line per skipped region."""

    header: StreamHeader
    packets: list[FramePacket]
    lost: list[list[int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    packet_offsets: list[int] = field(default_factory=list)


def parse_stream(data: bytes, keep_going: bool = False) -> ParsedStream:
    """Parse a whole stream (spec §8.1). Strict by default: the first violation raises BitstreamError
    whose `code` is the spec's error class (E_MAGIC ... E_ORDER; E_CHUNK comes from entropy decoding).

    With keep_going, a bad packet is skipped by searching for the next packet sync whose packet
    parses and passes its CRC (spec §8.3); frame indices that never arrive are listed in `lost`, and
    `errors` gets one "[E_...] ..." line per fault (bytes after the last of frame_count packets end the
    parse with an E_TRUNCATED line). A bad stream header is never recoverable.

    Work and memory are linear in len(data) in both modes (spec §10.2): every resync candidate costs a bounded
    amount of CRC work (SpanCrc), chunks are copied only from packets whose CRC holds, lost frames are ranges.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"stream must be bytes, got {type(data).__name__}")
    data = bytes(data)
    header = StreamHeader.unpack(data)
    packets: list[FramePacket] = []
    offsets: list[int] = []
    errors: list[str] = []
    lost: list[list[int]] = []
    span_crc = SpanCrc(data) if keep_going else None
    pos = header.size
    sync = packet_sync(header.version)
    expected = 0
    resynced = False  # keep_going: the previous region failed, so an index jump is its consequence
    false_starts = 0  # keep_going: failed packet starts after the first fault of the current skipped region
    while pos < len(data):
        if header.frame_count and expected == header.frame_count:
            # spec §7.4 / §8.1 step 3: nothing may follow the last of frame_count packets
            exc = BitstreamError(
                f"{len(data) - pos} trailing bytes at offset {pos} after the last of frame_count "
                f"{header.frame_count} packets", "E_TRUNCATED"
            )
            if not keep_going:
                raise exc
            errors.append(str(exc))
            break
        try:
            pkt, nxt = parse_packet(data, pos, header, span_crc)
            if header.frame_count and pkt.frame_index >= header.frame_count:
                raise BitstreamError(
                    f"packet at offset {pos}: frame index {pkt.frame_index} >= frame count {header.frame_count}",
                    "E_ORDER",
                )
            if pkt.frame_index != expected:
                if not keep_going or pkt.frame_index < expected:
                    raise BitstreamError(
                        f"packet at offset {pos}: frame index {pkt.frame_index}, expected {expected}", "E_ORDER"
                    )
                if not resynced:  # the jump is the fault itself: report it (spec §8.1 step 3d)
                    errors.append(str(BitstreamError(
                        f"packet at offset {pos}: frame index {pkt.frame_index}, expected {expected}; "
                        f"frames {expected}..{pkt.frame_index - 1} lost", "E_ORDER")))
                add_lost(lost, expected, pkt.frame_index - 1)
        except BitstreamError as exc:
            if not keep_going:
                raise
            if resynced:  # a false sync inside the skipped region: counted, not a line each (memory, §10.2)
                false_starts += 1
            else:
                errors.append(str(exc))
            resynced = True
            nxt_sync = data.find(sync, pos + 1)
            pos = nxt_sync if nxt_sync >= 0 else len(data)
            continue
        if false_starts:
            errors[-1] += f"; {false_starts} false packet start(s) skipped while resyncing"
            false_starts = 0
        resynced = False
        packets.append(pkt)
        offsets.append(pos)
        expected = pkt.frame_index + 1
        pos = nxt
    if false_starts:
        errors[-1] += f"; {false_starts} false packet start(s) skipped while resyncing"
    if header.frame_count and expected < header.frame_count:
        if not keep_going:
            raise BitstreamError(
                f"stream ends after {expected} frames at offset {pos}, header says frame_count "
                f"{header.frame_count}", "E_TRUNCATED"
            )
        add_lost(lost, expected, header.frame_count - 1)
    elif keep_going and resynced and not header.frame_count:
        # spec §8.3: without frame_count, a damaged region after the last good packet held at least the
        # frame `expected` (e.g. the only packet of a still image): it is reported lost, not silently dropped
        add_lost(lost, expected, expected)
    return ParsedStream(header, packets, lost, errors, offsets)


def serialize_stream(header: StreamHeader, packets: list[FramePacket]) -> bytes:
    """Header bytes followed by every packet's bytes (packets in the header's version)."""
    for p in packets:
        if p.version != header.version:
            raise InvalidArgumentError(
                f"packet {p.frame_index} is in container version {p.version}, the header in {header.version}")
        if p.k > header.channels:
            raise InvalidArgumentError(f"packet {p.frame_index} has {p.k} chunks, stream has {header.channels} channels")
    return header.pack() + b"".join(p.pack() for p in packets)
