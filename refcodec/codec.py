"""Frames <-> .mcuc streams: the glue between the encoder model, the entropy coder and the container.

encode_frames: RGB uint8 frames -> bytes (spec §3-§7). decode_stream: bytes -> symbols and, with the
float decoder, RGB float32 frames cropped to the original size (spec §8). truncate_stream: spec §9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from refcodec.bitstream.container import FramePacket, ParsedStream, parse_stream
from refcodec.bitstream.format import (
    IMPL_MAX_DIMENSION,
    STREAM_ENTROPY_CTX,
    STREAM_ENTROPY_HUFFMAN,
    STREAM_ENTROPY_INTER,
    STREAM_ENTROPY_RAW,
    VERSION_1,
)
from refcodec.bitstream.container import Chunk
from refcodec.bitstream.format import CHUNK_INTER
from refcodec.bitstream.header import StreamHeader
from refcodec.bitstream.lost import add_lost
from refcodec.bitstream.truncate import truncate_stream
from refcodec.entropy.chunk import decode_channel, encode_channel
from refcodec.errors import BitstreamError, InvalidArgumentError, ModelFileError, ModelMismatchError

__all__ = [
    "DecodedStream", "decode_stream", "decode_symbols", "encode_frames", "encode_packet", "frame_symbols",
    "truncate_stream",
]

ENTROPY_CHOICES = ("auto", "inter", "ctx", "huffman", "raw")
"""Encoder entropy modes: inter = context Huffman + inter chunks (entropy_mode 4, spec §6.7), ctx = context
Huffman (entropy_mode 2), huffman = per-channel Huffman (1), raw (0), auto = the best intra mode the model's
tables allow (ctx, else huffman, else raw; inter is opt-in). "inter" always
writes entropy_mode 4, even when no chunk comes out inter (a still image): the header goes out before the first
frame, as an MCU streams it (reference encoder rule, spec §6.7.5)."""

DEFAULT_KEYFRAME_INTERVAL = 30
"""Frames from one keyframe to the next (spec §6.7.5): frames 0, N, 2N, ... are coded intra."""


def frame_symbols(model, rgb: np.ndarray) -> np.ndarray:
    """One frame -> latent symbols uint8 [ceil(H/8), ceil(W/8), C]: pad (spec §3.1), encoder (§4),
    latent quantizer (§5)."""
    from refcodec.model.encoder import encode_symbols, pad_to_multiple

    return encode_symbols(model, pad_to_multiple(rgb, 8))


def encode_packet(symbols: np.ndarray, frame_index: int, channels: int, bits: int,
                  code_lengths: np.ndarray | None, context=None, inter=None, reference: np.ndarray | None = None,
                  reference_k: int = 0) -> FramePacket:
    """symbols uint8 [lh, lw, C] -> FramePacket with chunks for channels 0..channels-1 (spec §6.4 rule).
    context: the model's per-channel ContextCoders (EntropyTables.context_coders) for a ctx stream; else
    code_lengths uint8 [C, 2^bits] for a Huffman stream; both None for a raw stream.
    inter: the model's InterCoder (an inter stream): channel c < reference_k is coded inter against
    reference[:, :, c] (the previous frame's symbols) when that chunk is strictly smaller than the intra one
    (spec §6.7.5); reference None: a keyframe."""
    chunks = []
    for c in range(channels):
        chunk = encode_channel(symbols[:, :, c], bits, None if code_lengths is None else code_lengths[c],
                               None if context is None else context[c])
        if inter is not None and reference is not None and c < reference_k:
            data = inter.encode(symbols[:, :, c], reference[:, :, c])
            if len(data) < len(chunk.data):
                chunk = Chunk(CHUNK_INTER, data)
        chunks.append(chunk)
    return FramePacket(frame_index, tuple(chunks))


def resolve_entropy(model, entropy: str) -> int:
    """Encoder entropy choice (ENTROPY_CHOICES) -> the stream's entropy_mode for this model."""
    if entropy not in ENTROPY_CHOICES:
        raise InvalidArgumentError(f'invalid entropy mode "{entropy}", expected one of {ENTROPY_CHOICES}')
    if entropy == "raw" or (entropy == "auto" and model.entropy is None):
        return STREAM_ENTROPY_RAW
    if model.entropy is None:
        raise ModelFileError(f"model {model.model_id[:16]} has no entropy tables; use entropy 'raw'")
    if entropy == "inter":
        if not model.has_inter_tables:
            raise ModelFileError(f"model {model.model_id[:16]} has no inter tables; use entropy 'ctx' "
                                 "(or fit them: python -m refcodec.training.fit_inter)")
        return STREAM_ENTROPY_INTER
    if entropy == "ctx" or (entropy == "auto" and model.has_context_tables):
        if not model.has_context_tables:
            raise ModelFileError(f"model {model.model_id[:16]} has no context tables; use entropy 'huffman' "
                                 "(or refit them: python -m refcodec.training.pipeline refit-tables)")
        return STREAM_ENTROPY_CTX
    return STREAM_ENTROPY_HUFFMAN


def stream_tables(model, mode: int) -> tuple[np.ndarray | None, tuple | None]:
    """(code_lengths, context coders) that encode_packet needs for a stream of entropy_mode `mode`."""
    if mode == STREAM_ENTROPY_RAW:
        return None, None
    if mode in (STREAM_ENTROPY_CTX, STREAM_ENTROPY_INTER):
        return None, model.entropy.context_coders
    return np.asarray(model.entropy.code_lengths), None


def encode_frames(frames: Iterable[np.ndarray], model, channels: int = 12, fps: tuple[int, int] | None = None,
                  size: tuple[int, int] | None = None, entropy: str = "auto",
                  progress: Callable[[int], None] | None = None,
                  keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL) -> bytes:
    """Encode RGB frames (uint8 [H, W, 3], all the same size) into a complete container version 2 stream.

    channels: k in [0, C], the channels sent per frame. fps: (num, den), or None for a still image / unknown
    rate (the header then has no timing field). size: (W, H) to resize each frame
    to first (refcodec.media.resize_frame, the paper's protocol), None for native size.
    entropy: "ctx" (context Huffman, needs the model's context tables), "huffman" (needs its tables), "raw", or
    "auto" (ctx when the model has context tables, else huffman when it has tables, else raw).
    keyframe_interval: N >= 1; in an inter stream frames 0, N, 2N, ... are keyframes (every chunk intra), the
    others code each channel intra or inter, whichever is smaller (spec §6.7.5).
    progress: called with 1 after each frame. Reference encoder rule (spec §7.1): the header carries
    frame_count (the number of frames encoded) when there is more than one frame; a one-frame stream leaves
    it out.
    """
    C = model.channels
    if not isinstance(channels, (int, np.integer)) or not 0 <= channels <= C:
        raise InvalidArgumentError(f"channels {channels!r} outside [0, {C}]")
    fps_num, fps_den = (None, None) if fps is None else (int(fps[0]), int(fps[1]))
    if fps is not None and not (1 <= fps_num < 2**32 and 1 <= fps_den < 2**32):
        raise InvalidArgumentError(f"frame rate {fps_num}/{fps_den} must have both terms in [1, 2^32-1]")
    if not isinstance(keyframe_interval, (int, np.integer)) or keyframe_interval < 1:
        raise InvalidArgumentError(f"keyframe interval {keyframe_interval!r} must be an integer >= 1")
    mode = resolve_entropy(model, entropy)
    bits = int(model.latent_quantizer.bits)
    tables, context = stream_tables(model, mode)
    inter = model.entropy.inter_coder if mode == STREAM_ENTROPY_INTER else None
    reference = None
    packets: list[FramePacket] = []
    shape = None
    for i, rgb in enumerate(frames):
        if size is not None:
            from refcodec.media.resize import resize_frame

            rgb = resize_frame(rgb, size)
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InvalidArgumentError(f"frame {i} must be uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
        if shape is None:
            shape = rgb.shape
            if max(shape[:2]) > IMPL_MAX_DIMENSION:
                raise InvalidArgumentError(
                    f"frame size {shape[1]}x{shape[0]} exceeds the limit {IMPL_MAX_DIMENSION} (use --size)")
        elif rgb.shape != shape:
            raise InvalidArgumentError(
                f"frame {i} is {rgb.shape[1]}x{rgb.shape[0]}, frame 0 is {shape[1]}x{shape[0]} "
                "(use --size to resize all)")
        sym = frame_symbols(model, rgb)
        keyframe = i % keyframe_interval == 0
        packets.append(encode_packet(sym, i, channels, bits, tables, context, inter,
                                     None if keyframe else reference, channels))
        reference = sym
        if progress is not None:
            progress(1)
    if shape is None:
        raise InvalidArgumentError("no frames to encode")
    frame_count = len(packets) if len(packets) > 1 else 0
    header = StreamHeader(model.model_id_bytes, shape[1], shape[0], C, bits, mode, fps_num, fps_den, frame_count)
    return header.pack() + b"".join(p.pack() for p in packets)


@dataclass
class DecodedStream:
    """header: StreamHeader. frame_indices: index of each decoded frame. symbols: uint8 [lh, lw, C] per
    frame (channels >= k are 0). channels_present: k per frame. frames: float32 [H, W, 3] in [0, 1]
    per frame (empty when decoded to symbols only; frames with k = 0 share one read-only zero array, so
    their memory does not grow with the frame count, spec §10.2). lost: frame indices missing or corrupt as
    sorted inclusive ranges [first, last] (keep_going; refcodec.bitstream.lost). errors: one line per skipped
    packet."""

    header: StreamHeader
    frame_indices: list[int] = field(default_factory=list)
    symbols: list[np.ndarray] = field(default_factory=list)
    channels_present: list[int] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    lost: list[list[int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def check_model(header: StreamHeader, model) -> None:
    """Spec §8.1 step 2: the stream must have been made with `model` (model id differs: E_MODEL,
    ModelMismatchError) and its header's channels and bits must be the model's C and b (E_HEADER)."""
    if header.model_id != model.model_id_bytes[: len(header.model_id)]:  # v2 stores the 8-byte prefix
        raise ModelMismatchError(
            f"stream model id {header.model_id.hex()[:16]}... differs from the model's {model.model_id[:16]}..."
        )
    bits = int(model.latent_quantizer.bits)
    at = 48 if header.version == VERSION_1 else 18  # offset of `channels` (`bits` follows it)
    if header.channels != model.channels:
        raise BitstreamError(
            f"stream header channels {header.channels} differs from the model's C = {model.channels} "
            f"(header offset {at})", "E_HEADER"
        )
    if header.bits != bits:
        raise BitstreamError(
            f"stream header bits {header.bits} differs from the model's b = {bits} (header offset {at + 1})",
            "E_HEADER"
        )


def _packet_symbols(pkt: FramePacket, header: StreamHeader, tables: np.ndarray | None, context,
                    offset: int | None = None, empty: np.ndarray | None = None, inter=None,
                    reference: tuple[int, np.ndarray, int] | None = None) -> np.ndarray:
    """symbols uint8 [lh, lw, C] of one packet, channels >= k zero. The frame array is allocated only after
    every chunk decoded (a decoded intra chunk of n symbols holds at least n/8 bytes, so the frame costs at most
    8 C bytes per chunk byte); a packet with k = 0 returns `empty` (one shared read-only zero frame).
    inter: the model's InterCoder; reference: (frame_index, symbols, k) of the last decoded frame. An inter chunk
    of channel c needs that frame to be frame_index - 1 with c < its k (spec §6.7.5): E_REFERENCE otherwise. A
    frame equal to its reference returns the reference array itself (no new memory)."""
    lh, lw, C = header.latent_height, header.latent_width, header.channels
    if pkt.k == 0 and empty is not None:
        return empty
    where = "" if offset is None else f"packet at offset {offset}, "
    decoded = []
    for c, chunk in enumerate(pkt.chunks):
        try:
            ref_c = None
            if chunk.mode == CHUNK_INTER:  # the reference is frame_index - 1, and it must carry channel c
                if reference is None or reference[0] != pkt.frame_index - 1 or c >= reference[2]:
                    what = ("no decoded previous frame" if reference is None or reference[0] != pkt.frame_index - 1
                            else f"frame {reference[0]} carried only {reference[2]} channels")
                    raise BitstreamError(f"inter chunk without its reference ({what})", "E_REFERENCE")
                ref_c = reference[1][:, :, c]
            decoded.append(decode_channel(chunk, header.bits, lh * lw, None if tables is None else tables[c],
                                          None if context is None else context[c], lw, inter, ref_c))
        except BitstreamError as exc:
            raise exc.with_context(f"{where}frame {pkt.frame_index}, channel {c}") from None
    if reference is not None and reference[2] == pkt.k and reference[1] is not empty:
        ref = reference[1]
        if all(np.array_equal(sym, ref[:, :, c].ravel()) for c, sym in enumerate(decoded)):
            return ref
    out = np.zeros((lh, lw, C), dtype=np.uint8)
    for c, sym in enumerate(decoded):
        out[:, :, c] = sym.reshape(lh, lw)
    return out


def _empty_frame(header: StreamHeader) -> np.ndarray:
    """One read-only all-zero symbols frame [lh, lw, C] that views a single zero byte (no per-frame memory)."""
    return np.broadcast_to(np.zeros(1, np.uint8), (header.latent_height, header.latent_width, header.channels))


def decode_symbols(data: bytes, model=None, keep_going: bool = False) -> DecodedStream:
    """Parse a stream and entropy-decode every packet to symbols (no float step).

    model: checked against the header before any packet is parsed (spec §8.1 step 2: ModelMismatchError
    E_MODEL for another model id, BitstreamError E_HEADER for other channels or bits) and supplies the
    Huffman and context tables; None is allowed for raw streams and for inspection (Huffman and context
    chunks then raise BitstreamError E_CHUNK). Every BitstreamError carries the spec's class in `.code`.
    keep_going: packet faults (E_SYNC, E_PACKET, E_CRC, E_ORDER, E_CHUNK, E_REFERENCE, a cut last packet) are
    skipped and the frame indices reported in `.lost`, one line per fault in `.errors` (spec §8.3); an inter
    frame after a lost one is lost too (never decoded against another frame) until a frame whose references
    all exist, e.g. the next keyframe."""
    if model is not None and isinstance(data, (bytes, bytearray, memoryview)):
        # spec §8.1 step 2: the header is checked against the model before any packet is parsed
        check_model(StreamHeader.unpack(bytes(data)), model)
    parsed: ParsedStream = parse_stream(data, keep_going=keep_going)
    header = parsed.header
    tables = context = inter = None
    if model is not None and model.entropy is not None:
        tables = np.asarray(model.entropy.code_lengths)
        context = model.entropy.context_coders
        inter = model.entropy.inter_coder
    out = DecodedStream(header, lost=[list(r) for r in parsed.lost], errors=list(parsed.errors))
    empty = _empty_frame(header)
    reference = None  # (frame_index, symbols, k) of the last decoded frame: inter chunks' reference (§6.7.5)
    for pkt, offset in zip(parsed.packets, parsed.packet_offsets):
        try:
            sym = _packet_symbols(pkt, header, tables, context, offset, empty, inter, reference)
        except BitstreamError as exc:
            if not keep_going:
                raise
            out.errors.append(str(exc))
            add_lost(out.lost, pkt.frame_index, pkt.frame_index)
            continue
        out.frame_indices.append(pkt.frame_index)
        out.symbols.append(sym)
        out.channels_present.append(pkt.k)
        reference = (pkt.frame_index, sym, pkt.k)
    return out  # out.lost stays sorted and merged: add_lost keeps it so


def latent_from_symbols(symbols: np.ndarray, k: int, model) -> np.ndarray:
    """Decoder input (spec §5.1, exact in binary32): latent_scale * (recon[c][s] - latent_zero_point) for c < k,
    the subtraction first, each operation rounded to float32; +0.0 for c >= k.
    symbols uint8 [lh, lw, C] -> float32 [lh, lw, C]."""
    recon = model.latent_quantizer.dequantize(symbols)
    lat = (np.float32(model.latent_scale) * (recon - np.float32(model.latent_zero_point))).astype(np.float32)
    lat[:, :, k:] = 0.0
    return lat


def decode_stream(data: bytes, model, decoder=None, keep_going: bool = False,
                  progress: Callable[[int], None] | None = None) -> DecodedStream:
    """Decode a stream to RGB float32 frames [H, W, 3] in [0, 1] (cropped to the original size).

    decoder: an object with .decode(latent float32 [h, w, C]) -> float32 [8h, 8w, 3]; None loads the
    bundled one, which must have been trained for `model` (refcodec.decoder.pairing.decoder_for: ModelFileError
    otherwise)."""
    out = decode_symbols(data, model, keep_going=keep_going)
    if decoder is None:
        from refcodec.decoder.pairing import decoder_for

        decoder = decoder_for(model)
    h, w = out.header.height, out.header.width
    for sym, k in zip(out.symbols, out.channels_present):
        rgb = np.asarray(decoder.decode(latent_from_symbols(sym, k, model)), dtype=np.float32)
        out.frames.append(rgb[:h, :w])
        if progress is not None:
            progress(1)
    return out
