"""Unsigned LEB128 varints of the version 2 frame packet (spec §7.2): 7 bits per byte, least significant group
first, bit 7 set on every byte but the last. Values < 2^32, at most 5 bytes, canonical (shortest) form only."""

from __future__ import annotations

from refcodec.bitstream.format import VARINT_MAX_BYTES
from refcodec.errors import BitstreamError, InvalidArgumentError


def encode_uvarint(value: int) -> bytes:
    """The canonical LEB128 bytes of 0 <= value < 2^32."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise InvalidArgumentError(f"varint value {value} outside [0, 2^32-1]")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def uvarint_size(value: int) -> int:
    """len(encode_uvarint(value))."""
    return len(encode_uvarint(value))


def decode_uvarint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Read the varint at data[pos:]; return (value, position after it).

    The stream ending inside it is E_TRUNCATED; more than 5 bytes, a value >= 2^32 or an overlong form
    (a last byte of 0x00 after a continuation byte) is E_PACKET. `what` names the field for the message.
    """
    value = 0
    for i in range(VARINT_MAX_BYTES):
        if pos + i >= len(data):
            raise BitstreamError(f"{what}: the stream ends inside its varint at offset {pos}", "E_TRUNCATED")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i > 0 and byte == 0:
                raise BitstreamError(f"{what}: overlong varint at offset {pos} (not the shortest form)", "E_PACKET")
            if value > 0xFFFFFFFF:
                raise BitstreamError(f"{what}: varint at offset {pos} is {value}, above 2^32-1", "E_PACKET")
            return value, pos + i + 1
    raise BitstreamError(f"{what}: varint at offset {pos} is longer than {VARINT_MAX_BYTES} bytes", "E_PACKET")


def read_uvarint_lenient(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, position after it) of the LEB128 bytes at data[pos:], accepting overlong forms and values
    >= 2^32 (at most 5 bytes); None when it runs past the end or past 5 bytes. For `refcodec verify`, which
    reads a firmware's faulty stream as far as it can to say what is wrong; never for decoding."""
    value = 0
    for i in range(VARINT_MAX_BYTES):
        if pos + i >= len(data):
            return None
        value |= (data[pos + i] & 0x7F) << (7 * i)
        if not data[pos + i] & 0x80:
            return value, pos + i + 1
    return None
