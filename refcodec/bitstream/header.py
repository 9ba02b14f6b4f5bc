"""The stream header of both container versions (bitstream_spec/SPEC.md §7.1 and §7.1-v1, §8.1 steps 1-2).

The version byte (offset 4 in both layouts) selects the layout. Version 2 (what refcodec writes) is lean:
an 8-byte model id prefix, no stored latent size, and the frame rate and frame count only when present
(flags). Version 1 streams (68-byte header) stay decodable.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from refcodec.bitstream.crc import crc32
from refcodec.bitstream.format import (
    ENTROPY_NAMES,
    HEADER_BASE_SIZE_V2,
    HEADER_FLAG_FRAME_COUNT,
    HEADER_FLAG_TIMING,
    HEADER_FLAGS_KNOWN,
    HEADER_SIZE_V1,
    IMPL_MAX_CHANNELS,
    IMPL_MAX_DIMENSION,
    MAGIC,
    MAX_BITS,
    MAX_CHUNK_LENGTH,
    MODEL_ID_SIZE_V2,
    VERSION,
    VERSION_1,
    VERSION_2,
    VERSIONS,
    latent_size,
    raw_chunk_length,
)
from refcodec.errors import BitstreamError

# v1: magic 4s, version B, flags B, header_size H, model_id 32s, width H, height H, latent_w H, latent_h H,
# channels B, bits B, entropy_mode B, reserved B, fps_num I, fps_den I, frame_count I   (= 64 bytes)
HEADER_STRUCT_V1 = struct.Struct("<4sBBH32sHHHHBBBBIII")
assert HEADER_STRUCT_V1.size + 4 == HEADER_SIZE_V1
# v2: magic 4s, version B, flags B, model_id 8s, width H, height H, channels B, bits B, entropy_mode B (= 21 bytes),
# then [fps_num I, fps_den I] if flags bit 0, [frame_count I] if flags bit 1, header_crc I
HEADER_STRUCT_V2 = struct.Struct("<4sBB8sHHBBB")
assert HEADER_STRUCT_V2.size + 4 == HEADER_BASE_SIZE_V2


def header_size_v2(flags: int) -> int:
    """Bytes of a v2 header (CRC included) whose flags are `flags` (only the known bits count)."""
    timing = 8 if flags & HEADER_FLAG_TIMING else 0
    return HEADER_BASE_SIZE_V2 + timing + (4 if flags & HEADER_FLAG_FRAME_COUNT else 0)


@dataclass(frozen=True)
class StreamHeader:
    """Stream header (spec §7.1). `model_id`: the id as the stream stores it: v1 the 32-byte SHA-256 model id,
    v2 its first 8 bytes (a 32-byte id given for v2 is cut to that prefix). `fps_num`/`fps_den`: None when the
    stream has no timing (a still image or unknown rate; v1 stores 1/1 for it). `frame_count`: 0 = absent
    (open-ended). `version`: the container version to write / that was read."""

    model_id: bytes
    width: int
    height: int
    channels: int
    bits: int
    entropy_mode: int
    fps_num: int | None = None
    fps_den: int | None = None
    frame_count: int = 0
    version: int = VERSION
    latent_width: int = -1
    latent_height: int = -1

    def __post_init__(self) -> None:
        if self.version == VERSION_2 and len(self.model_id) == 32:
            object.__setattr__(self, "model_id", bytes(self.model_id[:MODEL_ID_SIZE_V2]))
        if self.latent_width == -1 or self.latent_height == -1:
            lw, lh = latent_size(self.width, self.height)
            object.__setattr__(self, "latent_width", lw)
            object.__setattr__(self, "latent_height", lh)

    @property
    def n_symbols(self) -> int:
        """Symbols per channel per frame: latent_width * latent_height."""
        return self.latent_width * self.latent_height

    @property
    def has_timing(self) -> bool:
        return self.fps_num is not None

    @property
    def rate(self) -> tuple[int, int]:
        """(fps_num, fps_den); (1, 1) for a stream without timing (spec §7.1: a still image)."""
        return (self.fps_num, self.fps_den) if self.has_timing else (1, 1)

    @property
    def size(self) -> int:
        """Bytes of this header in its version's layout, CRC included."""
        if self.version == VERSION_1:
            return HEADER_SIZE_V1
        return header_size_v2(self.flags)

    @property
    def flags(self) -> int:
        """The version 2 header flags: bit 0 timing present, bit 1 frame_count present."""
        return (HEADER_FLAG_TIMING if self.has_timing else 0) | (HEADER_FLAG_FRAME_COUNT if self.frame_count else 0)

    def validate(self) -> None:
        """Check every field against spec §7.1 and the implementation limits (§10.2)."""
        if self.version not in VERSIONS:
            raise BitstreamError(f"unsupported stream version {self.version}", "E_VERSION")
        id_size = 32 if self.version == VERSION_1 else MODEL_ID_SIZE_V2
        if len(self.model_id) != id_size:
            raise BitstreamError(
                f"model id must be {id_size} bytes in a version {self.version} header, got {len(self.model_id)}",
                "E_HEADER")
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
        if self.entropy_mode == 4 and self.version == VERSION_1:  # inter coding exists in version 2 only
            raise BitstreamError("entropy mode 4 (inter) in a version 1 stream", "E_HEADER")
        if (self.fps_num is None) != (self.fps_den is None):
            raise BitstreamError("frame rate needs both fps_num and fps_den, or neither", "E_HEADER")
        if self.has_timing and not (1 <= self.fps_num <= 0xFFFFFFFF and 1 <= self.fps_den <= 0xFFFFFFFF):
            raise BitstreamError(
                f"frame rate {self.fps_num}/{self.fps_den} must have both terms in [1, 2^32-1]", "E_HEADER")
        if not 0 <= self.frame_count <= 0xFFFFFFFF:
            raise BitstreamError(f"frame count {self.frame_count} outside [0, 2^32-1]", "E_HEADER")
        if raw_chunk_length(self.n_symbols, self.bits) > MAX_CHUNK_LENGTH:
            raise BitstreamError(
                f"latent {self.latent_width}x{self.latent_height} at {self.bits} bits overflows a chunk", "E_HEADER")

    def pack(self) -> bytes:
        """The header bytes in its version's layout, CRC included (v2: 25 + 8 with timing + 4 with frame_count)."""
        self.validate()
        if self.version == VERSION_1:
            fps_num, fps_den = self.rate
            body = HEADER_STRUCT_V1.pack(
                MAGIC, VERSION_1, 0, HEADER_SIZE_V1, bytes(self.model_id), self.width, self.height,
                self.latent_width, self.latent_height, self.channels, self.bits, self.entropy_mode, 0,
                fps_num, fps_den, self.frame_count,
            )
        else:
            flags = self.flags
            body = HEADER_STRUCT_V2.pack(MAGIC, VERSION_2, flags, bytes(self.model_id), self.width, self.height,
                                         self.channels, self.bits, self.entropy_mode)
            if self.has_timing:
                body += struct.pack("<II", self.fps_num, self.fps_den)
            if self.frame_count:
                body += struct.pack("<I", self.frame_count)
        return body + struct.pack("<I", crc32(body))

    @classmethod
    def unpack(cls, data: bytes) -> "StreamHeader":
        """Parse and check the header at the start of `data` (spec §8.1 steps 1-2)."""
        if len(data) < 4 or data[:4] != MAGIC:
            raise BitstreamError(f"not an .mcuc stream: magic {bytes(data[:4])!r}, expected {MAGIC!r}", "E_MAGIC")
        if len(data) < 6:
            raise BitstreamError(f"truncated stream header: {len(data)} bytes", "E_TRUNCATED")
        version = data[4]
        if version == VERSION_1:
            return _unpack_v1(data)
        if version == VERSION_2:
            return _unpack_v2(data)
        raise BitstreamError(f"unsupported stream version {version} (this decoder reads {list(VERSIONS)})",
                             "E_VERSION")


def _check_crc(data: bytes, size: int) -> None:
    (stored,) = struct.unpack_from("<I", data, size - 4)
    computed = crc32(data[: size - 4])
    if stored != computed:
        raise BitstreamError(f"stream header CRC mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}", "E_CRC")


def _unpack_v1(data: bytes) -> StreamHeader:
    if len(data) < HEADER_SIZE_V1:
        raise BitstreamError(f"truncated stream header: {len(data)} bytes, need {HEADER_SIZE_V1}", "E_TRUNCATED")
    (_, _, flags, header_size, model_id, width, height, lw, lh,
     channels, bits, entropy_mode, reserved, fps_num, fps_den, frame_count) = HEADER_STRUCT_V1.unpack_from(data, 0)
    _check_crc(data, HEADER_SIZE_V1)
    if header_size != HEADER_SIZE_V1:
        raise BitstreamError(f"header size {header_size}, expected {HEADER_SIZE_V1}", "E_HEADER")
    if flags != 0 or reserved != 0:
        raise BitstreamError(f"reserved header fields must be 0, got flags={flags} reserved={reserved}", "E_HEADER")
    header = StreamHeader(bytes(model_id), width, height, channels, bits, entropy_mode, fps_num, fps_den,
                          frame_count, version=VERSION_1, latent_width=lw, latent_height=lh)
    header.validate()
    return header


def _unpack_v2(data: bytes) -> StreamHeader:
    flags = data[5]
    size = header_size_v2(flags)
    if len(data) < size:
        raise BitstreamError(f"truncated stream header: {len(data)} bytes, need {size} (flags 0x{flags:02x})",
                             "E_TRUNCATED")
    _, _, _, model_id, width, height, channels, bits, entropy_mode = HEADER_STRUCT_V2.unpack_from(data, 0)
    _check_crc(data, size)
    if flags & ~HEADER_FLAGS_KNOWN:
        raise BitstreamError(f"header flags 0x{flags:02x}: bits other than 0 and 1 must be 0", "E_HEADER")
    pos = HEADER_STRUCT_V2.size
    fps_num = fps_den = None
    frame_count = 0
    if flags & HEADER_FLAG_TIMING:
        fps_num, fps_den = struct.unpack_from("<II", data, pos)
        pos += 8
    if flags & HEADER_FLAG_FRAME_COUNT:
        (frame_count,) = struct.unpack_from("<I", data, pos)
        if frame_count == 0:
            raise BitstreamError("frame_count flag set with frame_count 0 (an unknown count is written by "
                                 "leaving the field out)", "E_HEADER")
    header = StreamHeader(bytes(model_id), width, height, channels, bits, entropy_mode, fps_num, fps_den,
                          frame_count, version=VERSION_2)
    header.validate()
    return header
