"""The .mcuc container: stream header and frame packets (bitstream_spec/SPEC.md §7, §8).

All multi-byte integers are little-endian. Parsing never trusts a length before checking it
against the bytes that are there and against the implementation limits, so hostile input ends
in a BitstreamError, never in a huge allocation, a hang or another exception type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from refcodec.bitstream.crc import crc32
from refcodec.bitstream.format import (
    CHUNK_ENTRY_SIZE,
    CHUNK_MODE_NAMES,
    CHUNK_RAW,
    CODED_CHUNK_MODE,
    ENTROPY_NAMES,
    HEADER_SIZE,
    IMPL_MAX_CHANNELS,
    IMPL_MAX_DIMENSION,
    MAGIC,
    MAX_BITS,
    MAX_CHUNK_LENGTH,
    PACKET_FIXED_SIZE,
    PACKET_SYNC,
    VERSION,
    latent_size,
    max_huffman_chunk_length,
    raw_chunk_length,
)
from refcodec.errors import BitstreamError, InvalidArgumentError

# magic 4s, version B, flags B, header_size H, model_id 32s, width H, height H, latent_w H, latent_h H,
# channels B, bits B, entropy_mode B, reserved B, fps_num I, fps_den I, frame_count I   (= 64 bytes)
_HEADER_STRUCT = struct.Struct("<4sBBH32sHHHHBBBBIII")
assert _HEADER_STRUCT.size + 4 == HEADER_SIZE
_PACKET_HEAD = struct.Struct("<4sIBB")  # sync, frame_index, k, flags (10 bytes)


@dataclass(frozen=True)
class StreamHeader:
    """Stream header (spec §7.1). `model_id`: 32 bytes (sha256 of the model content)."""

    model_id: bytes
    width: int
    height: int
    channels: int
    bits: int
    entropy_mode: int
    fps_num: int = 25
    fps_den: int = 1
    frame_count: int = 0
    latent_width: int = -1
    latent_height: int = -1

    def __post_init__(self) -> None:
        if self.latent_width == -1 or self.latent_height == -1:
            lw, lh = latent_size(self.width, self.height)
            object.__setattr__(self, "latent_width", lw)
            object.__setattr__(self, "latent_height", lh)

    @property
    def n_symbols(self) -> int:
        """Symbols per channel per frame: latent_width * latent_height."""
        return self.latent_width * self.latent_height

    def validate(self) -> None:
        """Check every field against spec §7.1 and the implementation limits (§10.2)."""
        if len(self.model_id) != 32:
            raise BitstreamError(f"model id must be 32 bytes, got {len(self.model_id)}", "E_HEADER")
        for name in ("width", "height"):
            v = getattr(self, name)
            if not 1 <= v <= 65535:
                raise BitstreamError(f"{name} {v} outside [1, 65535]", "E_HEADER")
            if v > IMPL_MAX_DIMENSION:
                raise BitstreamError(f"{name} {v} exceeds the implementation limit {IMPL_MAX_DIMENSION}", "E_HEADER")
        if (self.latent_width, self.latent_height) != latent_size(self.width, self.height):
            raise BitstreamError(
                f"latent size {self.latent_width}x{self.latent_height} does not match "
                f"ceil({self.width}/8)xceil({self.height}/8)", "E_HEADER"
            )
        if not 1 <= self.channels <= 255:
            raise BitstreamError(f"channel count {self.channels} outside [1, 255]", "E_HEADER")
        if self.channels > IMPL_MAX_CHANNELS:
            raise BitstreamError(
                f"channel count {self.channels} exceeds the implementation limit {IMPL_MAX_CHANNELS}", "E_HEADER")
        if not 1 <= self.bits <= MAX_BITS:
            raise BitstreamError(f"bit depth {self.bits} outside [1, {MAX_BITS}]", "E_HEADER")
        if self.entropy_mode not in ENTROPY_NAMES:
            raise BitstreamError(f"unknown entropy mode {self.entropy_mode}", "E_HEADER")
        if not 1 <= self.fps_num <= 0xFFFFFFFF or not 1 <= self.fps_den <= 0xFFFFFFFF:
            raise BitstreamError(
                f"frame rate {self.fps_num}/{self.fps_den} must have both terms in [1, 2^32-1]", "E_HEADER")
        if not 0 <= self.frame_count <= 0xFFFFFFFF:
            raise BitstreamError(f"frame count {self.frame_count} outside [0, 2^32-1]", "E_HEADER")
        if raw_chunk_length(self.n_symbols, self.bits) > MAX_CHUNK_LENGTH:
            raise BitstreamError(
                f"latent {self.latent_width}x{self.latent_height} at {self.bits} bits overflows a chunk", "E_HEADER")

    def pack(self) -> bytes:
        """The 68 header bytes, CRC included."""
        self.validate()
        body = _HEADER_STRUCT.pack(
            MAGIC, VERSION, 0, HEADER_SIZE, bytes(self.model_id), self.width, self.height,
            self.latent_width, self.latent_height, self.channels, self.bits, self.entropy_mode, 0,
            self.fps_num, self.fps_den, self.frame_count,
        )
        return body + struct.pack("<I", crc32(body))

    @classmethod
    def unpack(cls, data: bytes) -> "StreamHeader":
        """Parse and check the header at the start of `data` (spec §8.1 steps 1-2)."""
        if len(data) < 4 or data[:4] != MAGIC:
            raise BitstreamError(f"not an .mcuc stream: magic {bytes(data[:4])!r}, expected {MAGIC!r}", "E_MAGIC")
        if len(data) < HEADER_SIZE:
            raise BitstreamError(f"truncated stream header: {len(data)} bytes, need {HEADER_SIZE}", "E_TRUNCATED")
        fields = _HEADER_STRUCT.unpack_from(data, 0)
        (_, version, flags, header_size, model_id, width, height, lw, lh,
         channels, bits, entropy_mode, reserved, fps_num, fps_den, frame_count) = fields
        (stored_crc,) = struct.unpack_from("<I", data, HEADER_SIZE - 4)
        computed = crc32(data[: HEADER_SIZE - 4])
        if stored_crc != computed:
            raise BitstreamError(
                f"stream header CRC mismatch: stored 0x{stored_crc:08x}, computed 0x{computed:08x}", "E_CRC")
        if version != VERSION:
            raise BitstreamError(f"unsupported stream version {version} (this decoder reads {VERSION})", "E_VERSION")
        if header_size != HEADER_SIZE:
            raise BitstreamError(f"header size {header_size}, expected {HEADER_SIZE}", "E_HEADER")
        if flags != 0 or reserved != 0:
            raise BitstreamError(f"reserved header fields must be 0, got flags={flags} reserved={reserved}", "E_HEADER")
        header = cls(bytes(model_id), width, height, channels, bits, entropy_mode, fps_num, fps_den,
                     frame_count, lw, lh)
        header.validate()
        return header


@dataclass(frozen=True)
class Chunk:
    """One channel's coded symbols: `mode` CHUNK_RAW, CHUNK_HUFFMAN or CHUNK_CTX_HUFFMAN, `data` the chunk bytes."""

    mode: int
    data: bytes


@dataclass(frozen=True)
class FramePacket:
    """Frame packet (spec §7.2): chunks[i] codes latent channel i, i < k = len(chunks)."""

    frame_index: int
    chunks: tuple[Chunk, ...]

    @property
    def k(self) -> int:
        return len(self.chunks)

    @property
    def size(self) -> int:
        """Packet size in bytes: 14 + 4k + sum of chunk lengths."""
        return PACKET_FIXED_SIZE + CHUNK_ENTRY_SIZE * self.k + sum(len(c.data) for c in self.chunks)

    def pack(self) -> bytes:
        if not 0 <= self.frame_index <= 0xFFFFFFFF:
            raise InvalidArgumentError(f"frame index {self.frame_index} outside [0, 2^32-1]")
        if self.k > 255:
            raise InvalidArgumentError(f"{self.k} chunks, at most 255")
        parts = [_PACKET_HEAD.pack(PACKET_SYNC, self.frame_index, self.k, 0)]
        for c in self.chunks:
            if c.mode not in CHUNK_MODE_NAMES:
                raise InvalidArgumentError(f"chunk mode {c.mode} is not one of {CHUNK_MODE_NAMES}")
            if len(c.data) > MAX_CHUNK_LENGTH:
                raise InvalidArgumentError(f"chunk of {len(c.data)} bytes exceeds {MAX_CHUNK_LENGTH}")
            parts.append(struct.pack("<I", c.mode | (len(c.data) << 8)))
        parts.extend(c.data for c in self.chunks)
        body = b"".join(parts)
        return body + struct.pack("<I", crc32(body))


def parse_packet(data: bytes, offset: int, header: StreamHeader) -> tuple[FramePacket, int]:
    """Parse the frame packet at `offset`; return it and the offset after it (spec §8.1 step 3).

    Raises BitstreamError naming the offset on any violation. Lengths are checked against the
    bytes present and against what the header allows before any slice is taken.
    """
    end = len(data)
    if end - offset < _PACKET_HEAD.size:
        raise BitstreamError(f"truncated frame packet at offset {offset}: {end - offset} bytes left", "E_TRUNCATED")
    sync, frame_index, k, flags = _PACKET_HEAD.unpack_from(data, offset)
    if sync != PACKET_SYNC:
        raise BitstreamError(f"bad packet sync {bytes(sync)!r} at offset {offset}, expected {PACKET_SYNC!r}", "E_SYNC")
    if flags != 0:
        raise BitstreamError(f"packet at offset {offset}: reserved flags {flags} must be 0", "E_PACKET")
    if k > header.channels:
        raise BitstreamError(
            f"packet at offset {offset}: {k} channels present, stream has {header.channels}", "E_PACKET")
    pos = offset + _PACKET_HEAD.size
    if end - pos < CHUNK_ENTRY_SIZE * k + 4:
        raise BitstreamError(
            f"truncated chunk table of packet at offset {offset}: needs {CHUNK_ENTRY_SIZE * k + 4} bytes, "
            f"{end - pos} left", "E_TRUNCATED")
    entries = []
    total = 0
    raw_len = raw_chunk_length(header.n_symbols, header.bits)
    huff_max = max_huffman_chunk_length(header.n_symbols)
    for i in range(k):
        (word,) = struct.unpack_from("<I", data, pos + CHUNK_ENTRY_SIZE * i)
        mode, length = word & 0xFF, word >> 8
        if mode == CHUNK_RAW:
            if length != raw_len:
                raise BitstreamError(
                    f"packet at offset {offset}, channel {i}: raw chunk length {length}, expected {raw_len}",
                    "E_PACKET",
                )
        elif mode in CHUNK_MODE_NAMES:  # an entropy-coded mode: only the one the stream's entropy_mode allows
            if CODED_CHUNK_MODE.get(header.entropy_mode) != mode:
                raise BitstreamError(
                    f"packet at offset {offset}, channel {i}: {CHUNK_MODE_NAMES[mode]} chunk in a "
                    f"{ENTROPY_NAMES[header.entropy_mode]} stream", "E_PACKET"
                )
            if not 1 <= length <= huff_max:
                raise BitstreamError(
                    f"packet at offset {offset}, channel {i}: {CHUNK_MODE_NAMES[mode]} chunk length {length} "
                    f"outside [1, {huff_max}]", "E_PACKET",
                )
        else:
            raise BitstreamError(f"packet at offset {offset}, channel {i}: unknown chunk mode {mode}", "E_PACKET")
        entries.append((mode, length))
        total += length
    pos += CHUNK_ENTRY_SIZE * k
    if end - pos < total + 4:
        raise BitstreamError(
            f"truncated frame packet at offset {offset}: chunks need {total + 4} bytes, {end - pos} left",
            "E_TRUNCATED",
        )
    chunks = []
    for mode, length in entries:
        chunks.append(Chunk(mode, bytes(data[pos : pos + length])))
        pos += length
    (stored_crc,) = struct.unpack_from("<I", data, pos)
    computed = crc32(data[offset:pos])
    if stored_crc != computed:
        raise BitstreamError(
            f"packet CRC mismatch at offset {offset} (frame {frame_index}): "
            f"stored 0x{stored_crc:08x}, computed 0x{computed:08x}", "E_CRC"
        )
    return FramePacket(frame_index, tuple(chunks)), pos + 4


@dataclass
class ParsedStream:
    """A parsed container. `packets` in stream order; `lost` frame indices that are missing or
    corrupt (only non-empty with keep_going); `errors` one line per skipped region."""

    header: StreamHeader
    packets: list[FramePacket]
    lost: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    packet_offsets: list[int] = field(default_factory=list)


def parse_stream(data: bytes, keep_going: bool = False) -> ParsedStream:
    """Parse a whole stream (spec §8.1). Strict by default: the first violation raises BitstreamError
    whose `code` is the spec's error class (E_MAGIC ... E_ORDER; E_CHUNK comes from entropy decoding).

    With keep_going, a bad packet is skipped by searching for the next PACKET_SYNC whose packet
    parses and passes its CRC (spec §8.3); frame indices that never arrive are listed in `lost`, and
    `errors` gets one "[E_...] ..." line per fault (bytes after the last of frame_count packets end the
    parse with an E_TRUNCATED line). A bad stream header is never recoverable.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"stream must be bytes, got {type(data).__name__}")
    data = bytes(data)
    header = StreamHeader.unpack(data)
    packets: list[FramePacket] = []
    offsets: list[int] = []
    errors: list[str] = []
    lost: list[int] = []
    pos = HEADER_SIZE
    expected = 0
    resynced = False  # keep_going: the previous region failed, so an index jump is its consequence
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
            pkt, nxt = parse_packet(data, pos, header)
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
                lost.extend(range(expected, pkt.frame_index))
        except BitstreamError as exc:
            if not keep_going:
                raise
            errors.append(str(exc))
            resynced = True
            nxt_sync = data.find(PACKET_SYNC, pos + 1)
            pos = nxt_sync if nxt_sync >= 0 else len(data)
            continue
        resynced = False
        packets.append(pkt)
        offsets.append(pos)
        expected = pkt.frame_index + 1
        pos = nxt
    if header.frame_count and expected < header.frame_count:
        if not keep_going:
            raise BitstreamError(
                f"stream ends after {expected} frames at offset {pos}, header says frame_count "
                f"{header.frame_count}", "E_TRUNCATED"
            )
        lost.extend(range(expected, header.frame_count))
    return ParsedStream(header, packets, lost, errors, offsets)


def serialize_stream(header: StreamHeader, packets: list[FramePacket]) -> bytes:
    """Header bytes followed by every packet's bytes."""
    for p in packets:
        if p.k > header.channels:
            raise InvalidArgumentError(f"packet {p.frame_index} has {p.k} chunks, stream has {header.channels} channels")
    return header.pack() + b"".join(p.pack() for p in packets)
