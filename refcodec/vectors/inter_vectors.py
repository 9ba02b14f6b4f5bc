"""Conformance streams of inter coding (spec 2.2, §6.7): vectors/inter/ (not normative; generated, checked).

The main vector set has two inter vectors too (generate.py VECTOR_SPECS, run by `refcodec vectors run`); these add
truncated forms, a raw fallback and invalid streams. A decoder or encoder checks itself against `inter/inter.json`
(tests/test_inter_vectors.py does it for refcodec, the spec-only decoder of bitstream_spec/mcuc_chunks.py and the C
firmware; tests/test_firmware_qemu.py on QEMU).

Model: `models/rand-inter.npz` = the `rand-ctx` conformance model plus a fixed, data-independent inter table
(for context ref * 3 + m: the reference symbol gets 4096 - (2^b - 1) * w_m, every other symbol w_m, with
w = 4, 24, 96 for m = 0, 1, 2). Frames: the committed 96 x 128 Kodak crop (vectors/kodim08_crop96x128/input.png)
cut to 48 x 64 with a 12 x 12 patch that moves (a fixed camera's view), and 0/255 noise for the raw fallback.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

INTER_DIR = "inter"
INTER_MODEL_FILE = "models/rand-inter.npz"  # the conformance model `rand-inter` (refcodec/vectors/models.py)
SOURCE_PNG = "kodim08_crop96x128/input.png"
WEIGHTS = (4, 24, 96)


def inter_model():
    from refcodec.entropy.inter import inter_nctx
    from refcodec.entropy.model_tables import EntropyTables
    from refcodec.model.modelfile import EncoderModel
    from refcodec.vectors.models import context_model

    base = context_model()
    bits = int(base.latent_quantizer.bits)
    levels = 1 << bits
    f = np.zeros((inter_nctx(bits), levels), np.int64)
    for ref in range(levels):
        for m in range(3):
            row = np.full(levels, WEIGHTS[m], np.int64)
            row[ref] = 4096 - (levels - 1) * WEIGHTS[m]
            f[ref * 3 + m] = row
    e = base.entropy
    tables = EntropyTables(e.code_lengths, e.context_lengths, f.astype(np.uint16))
    return EncoderModel(base.layers, base.rounding, base.latent_quantizer, tables,
                        {"kind": "conformance", "name": "rand-inter", "seed": 0})


def _frames(root: Path) -> list[np.ndarray]:
    from refcodec.media import read_image

    photo = read_image(root / SOURCE_PNG)
    base = photo[:48, :64].copy()
    patch = photo[60:72, 100:112]
    out = []
    for x in (0, 0, 4, 4, 4, 8, 12, 12):  # the patch's column per frame: some frames repeat the one before
        f = base.copy()
        f[18:30, x:x + 12] = patch
        out.append(f)
    return out


def _noise(t: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + t)
    return (rng.integers(0, 2, (24, 32, 3)) * 255).astype(np.uint8)


def _stream_with_k(model, frames, ks, keyframe_interval, fps=(10, 1)) -> bytes:
    """What `encode --entropy inter` writes when frame i is sent with ks[i] channels (§6.7.5 rule)."""
    from refcodec.bitstream.format import CHUNK_INTER
    from refcodec.bitstream.container import parse_stream
    from refcodec.codec import frame_symbols
    from refcodec.vectors.generate import encode_per_frame_k

    data = encode_per_frame_k(frames, [frame_symbols(model, f) for f in frames], model, list(ks), fps, "inter",
                              keyframe_interval)
    assert any(c.mode == CHUNK_INTER for p in parse_stream(data).packets for c in p.chunks), \
        "an inter vector without an inter chunk"
    return data


def _symbols_digest(data: bytes, model) -> tuple[str, list[int], list[int]]:
    from refcodec.bitstream.container import parse_stream
    from refcodec.codec import decode_symbols

    d = decode_symbols(data, model)
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(s).tobytes() for s in d.symbols)).hexdigest()
    keyframes = [p.frame_index for p in parse_stream(data).packets if all(c.mode != 3 for c in p.chunks)]
    return digest, list(d.channels_present), keyframes


def build_inter(root: Path) -> dict[str, bytes]:
    """Files under inter/ (relative to it): streams, invalid streams and inter.json."""
    from refcodec.bitstream.container import FramePacket, parse_stream, serialize_stream
    from refcodec.bitstream.container import Chunk
    from refcodec.codec import encode_frames, truncate_stream

    model = inter_model()
    frames = _frames(root)
    streams: dict[str, tuple[bytes, str]] = {}
    base = encode_frames(frames, model, entropy="inter", fps=(10, 1), keyframe_interval=4)
    streams["keyframes_48x64.mcuc"] = (base, "8 frames, keyframe interval 4 (keyframes 0 and 4), k = 12")
    streams["k_changes_48x64.mcuc"] = (
        _stream_with_k(model, frames, [12, 12, 5, 8, 8, 3, 12, 12], 30),
        "k per frame 12, 12, 5, 8, 8, 3, 12, 12, keyframe interval 30: channels >= k of the frame before are intra")
    streams["truncated_channels_5.mcuc"] = (truncate_stream(base, channels=5),
                                            "`truncate --channels 5` of keyframes_48x64.mcuc")
    streams["truncated_bytes_120.mcuc"] = (truncate_stream(base, frame_budget_bytes=120),
                                           "`truncate --frame-bytes 120` of keyframes_48x64.mcuc (spec §9 k' rule)")
    noise = [_noise(0), _noise(0), _noise(1), _noise(1)]
    streams["raw_fallback_noise_24x32.mcuc"] = (
        encode_frames(noise, model, entropy="inter", fps=(10, 1)),
        "0/255 noise: keyframe chunks raw, repeated frames inter (empty chunks), a new noise frame raw again")
    files: dict[str, bytes] = {}
    record = {"model": {"file": "../models/rand-inter.npz", "id": model.model_id}, "streams": [], "invalid": []}
    for name, (data, what) in streams.items():
        digest, ks, keyframes = _symbols_digest(data, model)
        files[name] = data
        record["streams"].append({"file": name, "what": what, "sha256": hashlib.sha256(data).hexdigest(),
                                  "channels_per_frame": ks, "keyframes": keyframes,
                                  "symbols_sha256": digest,
                                  "symbols_note": "SHA-256 of every frame's uint8 [lh, lw, C] symbols (channels >= k "
                                                  "zero), frames in order"})
    parsed = parse_stream(base)
    pk = list(parsed.packets)
    c1 = next(i for i, ch in enumerate(pk[1].chunks) if ch.mode == 3)
    inter_chunk = pk[1].chunks[c1]
    invalid = {
        "01-inter-chunk-in-frame-0.mcuc": (
            serialize_stream(parsed.header, [FramePacket(0, (inter_chunk,) + pk[0].chunks[1:])] + pk[1:]),
            "E_REFERENCE", "frame 0's channel 0 is an inter chunk: frame 0 has no previous frame"),
        "02-reference-lacks-channel.mcuc": (
            serialize_stream(parsed.header, [pk[0].prefix(c1)] + pk[1:]),
            "E_REFERENCE", f"frame 0 carries {c1} channels, frame 1's channel {c1} is inter"),
        "04-inter-chunk-trailing-zero.mcuc": (
            serialize_stream(parsed.header, [pk[0], FramePacket(1, tuple(
                Chunk(3, ch.data + b"\x00") if i == c1 else ch for i, ch in enumerate(pk[1].chunks)))] + pk[2:]),
            "E_CHUNK", "an inter chunk with a trailing 0x00 byte (not the canonical termination, §6.7.4)"),
    }
    from refcodec.bitstream.header import StreamHeader

    h = parsed.header
    ctx_header = StreamHeader(h.model_id, h.width, h.height, h.channels, h.bits, 2, h.fps_num, h.fps_den,
                              h.frame_count)
    invalid["03-inter-chunk-in-ctx-stream.mcuc"] = (
        ctx_header.pack() + base[h.size:], "E_PACKET", "entropy_mode 2 (ctx) stream holding an inter chunk")
    for name, (data, error, what) in sorted(invalid.items()):
        files[f"invalid/{name}"] = bytes(data)
        record["invalid"].append({"file": f"invalid/{name}", "error": error, "what": what,
                                  "sha256": hashlib.sha256(bytes(data)).hexdigest()})
    files["inter.json"] = (json.dumps(record, indent=1) + "\n").encode()
    return files
