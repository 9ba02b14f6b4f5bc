"""Conformance vectors: `refcodec vectors make` writes them, `refcodec vectors check` regenerates and compares.

Layout (documented for users in vectors/README.md):

    vectors/<name>/input.png      the source frame, original size (RGB, 8 bits)
    vectors/<name>/input.bin      int8 [H'][W'][3]: padded frame after pixel - 128 (spec sections 3.1, 3.2)
    vectors/<name>/conv1.bin      int8 [H'/2][W'/2][16]      (raw little-endian NHWC, N = 1 dropped)
    vectors/<name>/conv2.bin      int8 [H'/8][W'/8][16]
    vectors/<name>/latent.bin     int8 [H'/8][W'/8][12]
    vectors/<name>/symbols.bin    uint8 [H'/8][W'/8][12]     (spec section 5; all C channels, the stream carries k)
    vectors/<name>/dequantized.bin float32 little-endian [H'/8][W'/8][12]: the decoder's input (spec section 8.4),
                                  0.0 for channels >= k
    vectors/<name>/stream.mcuc    the whole stream of this one frame (spec sections 6, 7; container version 2)
    vectors/<name>/stream_v1.mcuc (some vectors) the same frame in a container version 1 stream, decode-only
    vectors/<name>/vector.json    what it tests, model, rounding, spec sections, shapes, sha256 of every file
    vectors/models/<model>.npz    the model files, and <model>.h their C headers (refcodec export c-header)
    vectors/invalid/NN-<slug>.mcuc  faulty streams; vectors/invalid/invalid.json says which error each raises

Multi-frame (video) vectors: input_0000.png, input_0001.png, ... (one per frame) and the tensors of frame f in
frame_NNNN/ (NNNN = f, four digits): frame_0000/input.bin ... frame_0000/dequantized.bin; stream.mcuc holds every
frame; a truncated vector also has stream_full.mcuc, the stream before `refcodec truncate`.

A vector folder is also a valid `refcodec verify --layers` folder. Every byte is generated deterministically
from the specs below; the Kodak crops read ../shared/datasets/kodak when it is there and otherwise take the
committed input.png as the source (its sha256 is checked). Video frames are the other way round: the committed
input_NNNN.png are the source when present (an H.264 clip's RGB pixels depend on the ffmpeg build's colour
conversion), and ../shared/datasets/video is decoded only to make them (tests/test_vectors.py checks that the
clip still decodes to them).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from refcodec.bitstream.crc import crc32
from refcodec.bitstream.varint import decode_uvarint, encode_uvarint
from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.io_utils import atomic_write
from refcodec.vectors.models import MODEL_NAMES, conformance_model

GENERATOR_VERSION = "1.0"
GENERATOR = f"refcodec vectors make (generator {GENERATOR_VERSION})"
LAYER_FILES = ("input.bin", "conv1.bin", "conv2.bin", "latent.bin", "symbols.bin")
DEQUANTIZED_FILE = "dequantized.bin"
"""float32 little-endian [H'/8][W'/8][C]: latent_scale * (recon[c][symbol] - latent_zero_point) for c < k, +0.0
for c >= k (spec sections 5 and 8.4)."""


def kodak_dir() -> Path:
    """The Kodak folder of refcodec.paths (evaluation images; crops only)."""
    from refcodec import paths

    return paths.kodak_dir()


def video_dir() -> Path:
    """The video folder of refcodec.paths (the clips the video vectors' frames come from)."""
    from refcodec import paths

    return paths.video_dir()


@dataclass(frozen=True)
class VectorSpec:
    name: str
    what: str
    model: str
    source: str  # "kodak:NN:y:x:h:w" | "black:h:w" | ... | "video:<clip>:<first>:<count>:<w>:<h>[:<step>]"
    channels: int | tuple[int, ...] = 12  # k of every frame, or one k per frame
    entropy: str = "huffman"
    sections: tuple[str, ...] = ("3", "4", "5", "6", "7")
    v1_stream: bool = False  # also write stream_v1.mcuc: the same frame in container version 1 (decode-only)
    fps: tuple[int, int] | None = None  # None: no timing field (spec section 7.1)
    truncate_bytes: int | None = None  # stream.mcuc = `refcodec truncate --frame-bytes N` of stream_full.mcuc
    keyframe_interval: int | None = None  # inter vectors (entropy "inter", spec section 6.7): None = 30

    @property
    def n_frames(self) -> int:
        kind, *args = self.source.split(":")
        return int(args[2]) if kind == "video" else 1

    @property
    def multi_frame(self) -> bool:
        return self.n_frames > 1

    def channels_per_frame(self) -> list[int]:
        """k of each frame as the encoder is asked for it (a truncated vector's stream keeps fewer)."""
        if isinstance(self.channels, tuple):
            if len(self.channels) != self.n_frames:
                raise InvalidArgumentError(f"vector {self.name}: {len(self.channels)} k values for "
                                           f"{self.n_frames} frames")
            return list(self.channels)
        return [self.channels] * self.n_frames


def _specs() -> list[VectorSpec]:
    v = [
        VectorSpec("kodim01_crop64", "real photo: 64x64 crop of Kodak kodim01 (door and wall texture)",
                   "rand-double", "kodak:01:300:400:64:64"),
        VectorSpec("kodim08_crop96x128", "real photo: 96x128 (HxW) crop of Kodak kodim08 (buildings, sharp edges)",
                   "rand-double", "kodak:08:200:300:96:128"),
        VectorSpec("kodim23_224", "real photo at the paper's size: 224x224 crop of Kodak kodim23 (parrots)",
                   "rand-double", "kodak:23:100:250:224:224", v1_stream=True),
        VectorSpec("kodim15_odd61x75", "real photo, odd size 61x75 (HxW): padding to 64x80 by edge replication",
                   "rand-double", "kodak:15:150:300:61:75", sections=("3.1", "4.2", "5", "6", "7")),
        VectorSpec("kodim03_raw_entropy", "real photo (kodim03 64x64 crop) in a raw stream (entropy_mode 0)",
                   "rand-double", "kodak:03:200:300:64:64", entropy="raw", sections=("6.3", "7"), v1_stream=True),
        VectorSpec("black_32x32", "all-black frame (every pixel 0, input int8 -128)", "rand-double", "black:32:32"),
        VectorSpec("white_32x32", "all-white frame (every pixel 255, input int8 127)", "rand-double", "white:32:32"),
        VectorSpec("saturating_noise_48x48", "random 0/255 pixels: accumulators at their extremes, outputs clamped",
                   "rand-double", "noise01:48:48:1", sections=("4.3",)),
        VectorSpec("saturating_checker_32x40", "one-pixel 0/255 checkerboard in opposite phase per colour channel",
                   "rand-double", "checker:32:40", sections=("4.3",)),
        VectorSpec("size_1x1", "a 1x1 frame: padded to 8x8 by replication, 1x1 latent", "rand-double",
                   "smooth:1:1:2", sections=("3.1", "4.2", "7.1")),
        VectorSpec("size_7x9", "odd size 7x9 (HxW): padded to 8x16", "rand-double", "smooth:7:9:3",
                   sections=("3.1", "4.2")),
        VectorSpec("size_13x17", "odd size 13x17 (HxW): padded to 16x24", "rand-double", "smooth:13:17:4",
                   sections=("3.1", "4.2")),
        VectorSpec("size_8x8", "the smallest unpadded frame, 8x8: every conv tap near a border", "rand-double",
                   "smooth:8:8:5", sections=("4.2",)),
        VectorSpec("size_tall_40x8", "a tall 40x8 frame (HxW): padding differs per axis", "rand-double",
                   "smooth:40:8:6", sections=("4.2",)),
    ]
    for k in range(0, 13):
        v.append(VectorSpec(f"channels_{k:02d}", f"k = {k} of 12 channels sent per frame (progressive prefix)",
                            "rand-double", "kodak:21:250:350:24:32", channels=k, sections=("7.2", "9")))
    v += [
        VectorSpec("single_kodim19_crop40x56", "single rounding (CMSIS_NN_USE_SINGLE_ROUNDING) on a real photo",
                   "rand-single", "kodak:19:300:200:40:56", sections=("4.3",)),
        VectorSpec("single_saturating_noise_48x48", "single rounding with saturating 0/255 noise", "rand-single",
                   "noise01:48:48:1", sections=("4.3",)),
        VectorSpec("single_size_21x35", "single rounding, odd size 21x35 (HxW)", "rand-single", "smooth:21:35:9",
                   sections=("3.1", "4.3")),
        VectorSpec("extreme_kodim02_crop64", "extreme quantization parameters (zero points -128/120/127, flushed "
                   "and left-shift multipliers, 8-bit symbols, 15-bit codes) on a real photo", "extreme-double",
                   "kodak:02:200:300:64:64", sections=("4.3", "5", "6.2")),
        VectorSpec("extreme_black_16x16", "extreme model, all-black frame", "extreme-double", "black:16:16",
                   sections=("4.3", "5")),
        VectorSpec("extreme_white_16x16", "extreme model, all-white frame", "extreme-double", "white:16:16",
                   sections=("4.3", "5")),
        VectorSpec("extreme_noise_24x24", "extreme model, saturating 0/255 noise", "extreme-double",
                   "noise01:24:24:7", sections=("4.3", "5")),
        VectorSpec("extreme_single_kodim02_crop64", "extreme model with single rounding on a real photo",
                   "extreme-single", "kodak:02:200:300:64:64", sections=("4.3", "5")),
        VectorSpec("extreme_raw_smooth_24x32", "extreme model (8-bit symbols) in a raw stream", "extreme-double",
                   "smooth:24:32:8", entropy="raw", sections=("6.3",)),
        VectorSpec("ctx_kodim01_crop64", "context Huffman (entropy_mode 2) on a real photo; channel 11 has empty "
                   "tables (raw)", "rand-ctx", "kodak:01:300:400:64:64", entropy="ctx", sections=("6.4", "6.6"),
                   v1_stream=True),
        VectorSpec("ctx_kodim15_odd61x75", "context Huffman, odd size 61x75 (HxW): first row and column contexts",
                   "rand-ctx", "kodak:15:150:300:61:75", entropy="ctx", sections=("6.6",)),
        VectorSpec("ctx_kodim23_224", "context Huffman at the paper's size (224x224 crop of kodim23)", "rand-ctx",
                   "kodak:23:100:250:224:224", entropy="ctx", sections=("6.6",)),
        VectorSpec("ctx_size_1x1", "context Huffman, 1x1 latent: one symbol, context (none, none)", "rand-ctx",
                   "smooth:1:1:2", entropy="ctx", sections=("6.6",)),
        VectorSpec("ctx_size_tall_40x8", "context Huffman, 5x1 latent: no left neighbour anywhere", "rand-ctx",
                   "smooth:40:8:6", entropy="ctx", sections=("6.6",)),
        VectorSpec("ctx_channels_05", "context Huffman with k = 5 of 12 channels sent", "rand-ctx",
                   "kodak:21:250:350:24:32", channels=5, entropy="ctx", sections=("6.6", "9")),
        VectorSpec("ctx_noise_48x48", "context Huffman on saturating 0/255 noise: raw fallback per chunk",
                   "rand-ctx", "noise01:48:48:1", entropy="ctx", sections=("6.4", "6.6")),
        VectorSpec("ctx_model_huffman_kodim01", "a model with context tables in a plain huffman stream "
                   "(entropy_mode 1)", "rand-ctx", "kodak:01:300:400:64:64", sections=("6.2", "6.4")),
    ]
    v += [
        VectorSpec("video_vtest_64x48", "video: 5 frames of a real clip (vtest.mp4, pedestrians) at 64x48, 10/1 fps: "
                   "timing, frame_count 5, frame_index 0..4", "rand-double", "video:vtest:100:5:64:48",
                   fps=(10, 1), sections=("7.1", "7.2")),
        VectorSpec("video_car_odd_45x37_ctx", "video: 4 frames of car-detection.mp4 at an odd 45x37 (WxH), 25/2 fps, "
                   "context Huffman", "rand-ctx", "video:car-detection:200:4:45:37", entropy="ctx", fps=(25, 2),
                   sections=("3.1", "6.6", "7.1", "7.2")),
        VectorSpec("video_bottle_k_per_frame", "video: 6 frames of bottle-detection.mp4 at 64x48 with a k that changes "
                   "every frame (12, 3, 0, 7, 1, 12), 2983/100 fps", "rand-double", "video:bottle-detection:300:6:64:48",
                   channels=(12, 3, 0, 7, 1, 12), fps=(2983, 100), sections=("7.2", "9")),
        VectorSpec("video_person_truncated", "video: 6 frames 6 s apart of one-by-one-person-detection.mp4 at 56x40 "
                   "(timing 1/6 fps), then `refcodec truncate --frame-bytes 240`: each packet keeps the channels "
                   "that fit, 11 or 12 (stream_full.mcuc is the stream before)", "rand-double",
                   "video:one-by-one-person-detection:0:6:56:40:60", fps=(1, 6), truncate_bytes=240,
                   sections=("7.1", "7.2", "9")),
        VectorSpec("inter_vtest_48x32", "inter frames (entropy_mode 4, spec 6.7): 8 frames of vtest.mp4 at 48x32, "
                   "keyframe interval 4 (keyframes 0 and 4; `-i {keyframe_interval}`)", "rand-inter",
                   "video:vtest:100:8:48:32", entropy="inter", fps=(10, 1), keyframe_interval=4,
                   sections=("6.7", "7.1", "7.2")),
        VectorSpec("inter_bottle_k_per_frame", "inter frames with a k that changes every frame (12, 5, 8, 8, 3, 12): "
                   "channels beyond the previous frame's k are intra (spec 6.7.5), keyframe interval 30",
                   "rand-inter", "video:bottle-detection:300:6:48:32", channels=(12, 5, 8, 8, 3, 12), entropy="inter",
                   fps=(2983, 100), sections=("6.7", "9")),
        VectorSpec("video_single_raw_24x17", "video: 3 frames of vtest.mp4 at an odd 24x17 (WxH), single rounding, "
                   "raw stream, 30000/1001 fps", "rand-single", "video:vtest:400:3:24:17", entropy="raw",
                   fps=(30000, 1001), sections=("4.3", "6.3", "7.1")),
    ]
    return v


VECTOR_SPECS: tuple[VectorSpec, ...] = tuple(_specs())


# --- sources ---------------------------------------------------------------------------------------------

def _source_pixels(source: str, committed_png: Path | None) -> np.ndarray:
    kind, *args = source.split(":")
    if kind == "kodak":
        num, y, x, h, w = args
        path = kodak_dir() / f"kodim{num}.png"
        if path.is_file():
            from refcodec.verify.inputs import read_image

            img = read_image(path)
            y, x, h, w = int(y), int(x), int(h), int(w)
            return np.ascontiguousarray(img[y:y + h, x:x + w])
        if committed_png is not None and committed_png.is_file():
            from refcodec.verify.inputs import read_image

            return read_image(committed_png)
        raise InputFileError(f"Kodak image not found: '{path}' (and no committed input.png to fall back on)")
    h, w = int(args[0]), int(args[1])
    if kind == "black":
        return np.zeros((h, w, 3), np.uint8)
    if kind == "white":
        return np.full((h, w, 3), 255, np.uint8)
    if kind == "noise01":
        rng = np.random.default_rng(int(args[2]))
        return (rng.integers(0, 2, size=(h, w, 3)) * 255).astype(np.uint8)
    if kind == "checker":
        yy, xx = np.mgrid[0:h, 0:w]
        base = ((yy + xx) % 2).astype(np.uint8)
        return np.stack([base, 1 - base, base], axis=-1) * np.uint8(255)
    if kind == "smooth":
        rng = np.random.default_rng(int(args[2]))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        chans = []
        for _ in range(3):
            a, b, c = rng.uniform(0.1, 0.9, 3)
            chans.append(127.5 + 127.5 * np.sin(a * yy + b * xx + c * 6.0))
        noise = rng.integers(-8, 9, size=(h, w, 3))
        return np.clip(np.rint(np.stack(chans, axis=-1)) + noise, 0, 255).astype(np.uint8)
    raise InvalidArgumentError(f'unknown vector source "{source}"')


def _video_frames(source: str) -> list[np.ndarray]:
    """Decode `count` frames of ../shared/datasets/video/<clip>.mp4, from frame `first` every `step` frames
    (default 1), and resize each to w x h (refcodec.media.resize_frame: cover, then centre crop)."""
    import imageio.v3 as iio

    from refcodec.media.resize import resize_frame

    _, clip, first, count, w, h, *step = source.split(":")
    first, count, step = int(first), int(count), int(step[0]) if step else 1
    path = video_dir() / f"{clip}.mp4"
    if not path.is_file():
        raise InputFileError(f"video clip not found: '{path}' (and no committed input_NNNN.png to fall back on)")
    frames = []
    for i, frame in enumerate(iio.imiter(path, plugin="FFMPEG")):
        if i >= first and (i - first) % step == 0:
            frames.append(resize_frame(np.ascontiguousarray(frame[..., :3]), (int(w), int(h))))
        if len(frames) == count:
            break
    if len(frames) != count:
        raise InputFileError(f"video clip '{path}' has fewer than {first + (count - 1) * step + 1} frames")
    return frames


def input_names(spec: VectorSpec) -> list[str]:
    """The input PNG file names of a vector: input.png, or input_0000.png ... for a multi-frame vector."""
    return [f"input_{i:04d}.png" for i in range(spec.n_frames)] if spec.multi_frame else ["input.png"]


def tensor_dir(spec: VectorSpec, frame: int) -> str:
    """Folder (relative to the vector) of frame `frame`'s tensors: "" (the vector folder) or "frame_NNNN/"."""
    return f"frame_{frame:04d}/" if spec.multi_frame else ""


def source_frames(spec: VectorSpec, committed_dir: Path | None) -> list[np.ndarray]:
    """The vector's frames (uint8 [H, W, 3] each)."""
    if spec.source.startswith("video:"):
        pngs = [committed_dir / n for n in input_names(spec)] if committed_dir is not None else []
        if pngs and all(p.is_file() for p in pngs):
            from refcodec.verify.inputs import read_image

            return [read_image(p) for p in pngs]
        return _video_frames(spec.source)
    committed_png = committed_dir / "input.png" if committed_dir is not None else None
    return [_source_pixels(spec.source, committed_png)]


def _png_bytes(rgb: np.ndarray) -> bytes:
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", rgb, extension=".png"))


def _png_pixels(data: bytes) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(data, extension=".png"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- one vector ------------------------------------------------------------------------------------------

def _png_for(rgb: np.ndarray, committed: Path | None) -> bytes:
    """PNG bytes of rgb: the committed file's bytes when they decode to the same pixels (PNG encoders differ
    across library versions), else freshly encoded."""
    if committed is not None and committed.is_file():
        old = committed.read_bytes()
        try:
            if np.array_equal(_png_pixels(old), rgb):
                return old
        except Exception:  # an unreadable committed PNG is simply regenerated (and reported as different)
            pass
    return _png_bytes(rgb)


def dequantized_latent(model, symbols: np.ndarray, k: int) -> np.ndarray:
    """float32 [lh, lw, C]: the decoder's input (spec section 8.4) for symbols of which the first k channels are
    sent: latent_scale * (recon[c][symbol] - latent_zero_point), +0.0 for c >= k."""
    from refcodec.codec import latent_from_symbols

    return latent_from_symbols(symbols, k, model)


def encode_per_frame_k(frames: list[np.ndarray], symbols: list[np.ndarray], model, ks: list[int],
                       fps: tuple[int, int] | None, entropy: str, keyframe_interval: int = 30) -> bytes:
    """The stream `refcodec encode` would write if frame i were sent with k = ks[i] channels (what a firmware
    given `-k K0,K1,...` writes): the header of encode_frames, packets by codec.encode_packet."""
    from refcodec.bitstream.header import StreamHeader
    from refcodec.codec import encode_packet, resolve_entropy, stream_tables

    mode = resolve_entropy(model, entropy)
    bits = int(model.latent_quantizer.bits)
    tables, context = stream_tables(model, mode)
    h, w = frames[0].shape[:2]
    n = len(frames)
    header = StreamHeader(model.model_id_bytes, w, h, model.channels, bits, mode,
                          None if fps is None else fps[0], None if fps is None else fps[1], n if n > 1 else 0)
    inter = model.entropy.inter_coder if entropy == "inter" else None
    packets = []
    for i, (s, k) in enumerate(zip(symbols, ks)):
        key = i == 0 or i % keyframe_interval == 0
        packets.append(encode_packet(s, i, k, bits, tables, context, inter, None if key else symbols[i - 1],
                                     0 if key else ks[i - 1]).pack())
    return header.pack() + b"".join(packets)


def _k_field(ks: list[int]) -> int | list[int]:
    return ks[0] if len(set(ks)) == 1 else list(ks)


def build_vector(spec: VectorSpec, model, committed_dir: Path | None = None) -> dict[str, bytes]:
    """All files of one vector folder, relative name -> bytes. committed_dir: the existing folder (its input PNGs
    are reused when they decode to the same pixels; a video vector's committed PNGs are its source)."""
    from refcodec.bitstream import parse_stream
    from refcodec.codec import encode_frames
    from refcodec.verify.core import reference_tensors

    frames = source_frames(spec, committed_dir)
    files: dict[str, bytes] = {}
    for name, rgb in zip(input_names(spec), frames):
        files[name] = _png_for(rgb, committed_dir / name if committed_dir is not None else None)
    refs = [reference_tensors(model, rgb) for rgb in frames]
    ks = spec.channels_per_frame()
    interval = {} if spec.entropy != "inter" else {"keyframe_interval": spec.keyframe_interval or 30}
    if len(set(ks)) == 1:
        stream = encode_frames(frames, model, channels=ks[0], fps=spec.fps, entropy=spec.entropy, **interval)
    else:
        stream = encode_per_frame_k(frames, [r["symbols"] for r in refs], model, ks, spec.fps, spec.entropy,
                                    **interval)
    truncate = None
    if spec.truncate_bytes is not None:
        from refcodec.codec import truncate_stream

        files["stream_full.mcuc"] = stream
        stream = truncate_stream(stream, frame_budget_bytes=spec.truncate_bytes)
        ks = [p.k for p in parse_stream(stream).packets]
        truncate = {"from": "stream_full.mcuc", "frame_bytes": spec.truncate_bytes,
                    "command": f"refcodec truncate stream_full.mcuc -o stream.mcuc --frame-bytes {spec.truncate_bytes}",
                    "channels_before": spec.channels_per_frame()}
    for f, (ref, k) in enumerate(zip(refs, ks)):
        d = tensor_dir(spec, f)
        for fname in LAYER_FILES:
            files[d + fname] = np.ascontiguousarray(ref[fname[:-4]]).tobytes()
        files[d + DEQUANTIZED_FILE] = dequantized_latent(model, ref["symbols"], k).astype("<f4").tobytes()
    files["stream.mcuc"] = stream
    if spec.v1_stream:
        files["stream_v1.mcuc"] = _as_v1(files["stream.mcuc"], model)
    h, w = frames[0].shape[:2]
    shapes = {fname[:-4]: [1, *refs[0][fname[:-4]].shape] for fname in LAYER_FILES}
    shapes["dequantized"] = list(shapes["symbols"])
    dtypes = {name: ("uint8" if name == "symbols" else "int8") for name in shapes}
    dtypes["dequantized"] = "float32 little-endian"
    C = model.channels
    record = {
        "name": spec.name,
        "what": spec.what,
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "model": {"name": spec.model, "id": model.model_id, "file": f"../models/{spec.model}.npz",
                  "c_header": f"../models/{spec.model}.h"},
        "rounding": model.rounding,
        "spec_sections": list(spec.sections),
        "source": spec.source,
        "width": w,
        "height": h,
        "padded_width": -(-w // 8) * 8,
        "padded_height": -(-h // 8) * 8,
        "channels_sent": _k_field(ks),
        "channels_per_frame": list(ks),
        "entropy": spec.entropy,
        "fps": None if spec.fps is None else list(spec.fps),
        "frames": len(frames),
        "inputs": input_names(spec),
        "tensor_dirs": [tensor_dir(spec, f) or "." for f in range(len(frames))],
        "layout": "raw NHWC, N = 1 (int8; symbols uint8; dequantized float32 little-endian)",
        "shapes": shapes,
        "dtypes": dtypes,
        "symbols_channels": C,
        "symbols_note": f"symbols.bin holds all {C} channels of the latent quantizer's output (spec section 5); the "
                        "stream carries channels 0..k-1 of each frame (channels_per_frame), so a decoder yields "
                        "those and 0 for the others",
        "dequantized_note": "dequantized.bin: float32 latent_scale * (recon[c][symbol] - latent_zero_point) for "
                            "c < k, +0.0 for c >= k (spec sections 5 and 8.4)",
    }
    if truncate is not None:
        record["truncate"] = truncate
    if spec.entropy == "inter":  # only inter vectors carry the key, so the other vector.json files are unchanged
        record["keyframe_interval"] = spec.keyframe_interval or 30
    record["sha256"] = {name: sha256(data) for name, data in sorted(files.items())}
    files["vector.json"] = (json.dumps(record, indent=1) + "\n").encode("utf-8")
    return files


# --- invalid streams -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvalidCase:
    number: int
    what: str
    error: str  # spec section 8.1 error name
    mutate: Callable[[bytearray, dict], bytearray]
    base: str = "huffman"  # the base stream: "huffman", "raw", "ctx" or "v1" (all made with INVALID_MODEL)


# Base streams (two 16x24 frames at 25/1 fps, frame_count 2) have a 37-byte version 2 header: magic 0, version 4,
# flags 5, model_id 6..13, width 14, height 16, channels 18, bits 19, entropy_mode 20, fps_num 21, fps_den 25,
# frame_count 29, header_crc 33. A v2 packet: sync "MF", frame_index varint, k u8, k varints (length << 2 | mode),
# chunks, crc u32.
_V2_HEADER_CRC_AT = 33


def _fix_header_crc(b: bytearray, crc_at: int = _V2_HEADER_CRC_AT) -> bytearray:
    b[crc_at:crc_at + 4] = struct.pack("<I", crc32(bytes(b[:crc_at])))
    return b


def _set_header(offset: int, fmt: str, value, fix_crc: bool = True) -> Callable[[bytearray, dict], bytearray]:
    def f(b: bytearray, info: dict) -> bytearray:
        struct.pack_into(fmt, b, offset, value)
        return _fix_header_crc(b) if fix_crc else b
    return f


def _packet(index: bytes, k: int, entries: list[bytes], chunks: list[bytes], sync: bytes = b"MF") -> bytes:
    """A v2 packet from its raw parts (the varints as given, so overlong forms can be written) and its CRC."""
    body = sync + index + bytes([k]) + b"".join(entries) + b"".join(chunks)
    return body + struct.pack("<I", crc32(body))


def _edit_packet(which: int, edit: Callable[[dict], None]) -> Callable[[bytearray, dict], bytearray]:
    """Rebuild packet `which` (0 or 1) of the base stream from its parts after `edit(parts)` changed them
    (parts: index bytes, k, entries [bytes], chunks [bytes], sync); the packet CRC is recomputed."""
    def f(b: bytearray, info: dict) -> bytearray:
        pk = info["packets"][which]
        parts = {"index": encode_uvarint(pk.frame_index), "k": pk.k, "sync": b"MF",
                 "entries": [c.entry() for c in pk.chunks], "chunks": [c.data for c in pk.chunks]}
        edit(parts)
        start, end = info["offsets"][which], info["ends"][which]
        packet = _packet(parts["index"], parts["k"], parts["entries"], parts["chunks"], parts["sync"])
        return b[:start] + packet + b[end:]
    return f


def _entry(length: int, mode: int) -> bytes:
    return encode_uvarint(length << 2 | mode)


def _invalid_cases() -> list[InvalidCase]:
    def other_model_id(b, info):
        b[6:14] = bytes(8 - i for i in range(8))
        return _fix_header_crc(b)

    def flip_header_byte(b, info):
        b[15] ^= 0x01
        return b

    def flip_chunk_byte(b, info):
        b[info["ends"][0] - 5] ^= 0x10  # the last chunk byte of packet 0, CRC left alone
        return b

    def set_part(name, value):
        def f(parts):
            parts[name] = value
        return f

    def entry0(mode=None, delta=0):  # chunk 0's table entry with its mode and/or length changed
        def f(parts):
            value, _ = decode_uvarint(parts["entries"][0], 0, "entry")
            parts["entries"][0] = _entry((value >> 2) + delta, value & 3 if mode is None else mode)
        return f

    def overlong_entry0(parts):  # the same value with one more (zero) group: continuation bit + 0x00
        e = parts["entries"][0]
        parts["entries"][0] = e[:-1] + bytes([e[-1] | 0x80, 0x00])

    def huge_len(parts):  # chunk 0 claims 2^20 - 1 bytes, past the end and above the Huffman maximum
        parts["entries"][0] = _entry((1 << 20) - 1, 1)

    def resize_coded(delta):  # the first entropy-coded (Huffman or context) chunk one byte shorter / longer
        def f(parts):
            c = next(i for i, e in enumerate(parts["entries"]) if e[0] & 3 in (1, 2))
            data = parts["chunks"][c]
            parts["chunks"][c] = data[:-1] if delta < 0 else data + b"\x00"
            parts["entries"][c] = _entry(len(parts["chunks"][c]), parts["entries"][c][0] & 3)
        return f

    def nonzero_padding(parts):  # raw stream: the last byte of chunk 0 holds padding bits
        data = bytearray(parts["chunks"][0])
        data[-1] |= 0x01
        parts["chunks"][0] = bytes(data)

    def table_varint_cut(b, info):  # the stream ends inside chunk table entry 5 (a continuation byte)
        start = info["offsets"][0]
        cut = b[:start + 4 + 5]
        cut[-1] |= 0x80
        return cut

    return [
        InvalidCase(1, "bad magic", "E_MAGIC", lambda b, i: _set_magic(b)),
        InvalidCase(2, "stream shorter than its header", "E_TRUNCATED", lambda b, i: b[:20]),
        InvalidCase(3, "header CRC mismatch", "E_CRC", flip_header_byte),
        InvalidCase(4, "unsupported version 3", "E_VERSION", _set_header(4, "<B", 3, fix_crc=False)),
        InvalidCase(5, "unknown header flag bit 2 set", "E_HEADER", _set_header(5, "<B", 0x07)),
        InvalidCase(6, "frame_count present but 0", "E_HEADER", _set_header(29, "<I", 0)),
        InvalidCase(7, "width 0", "E_HEADER", _set_header(14, "<H", 0)),
        InvalidCase(8, "bit depth 0", "E_HEADER", _set_header(19, "<B", 0)),
        InvalidCase(9, "bit depth differs from the model", "E_HEADER", _set_header(19, "<B", 6)),
        InvalidCase(10, "channel count differs from the model", "E_HEADER", _set_header(18, "<B", 11)),
        InvalidCase(11, "unknown entropy mode 3", "E_HEADER", _set_header(20, "<B", 3)),
        InvalidCase(12, "frame rate denominator 0", "E_HEADER", _set_header(25, "<I", 0)),
        InvalidCase(13, "model id of another model", "E_MODEL", other_model_id),
        InvalidCase(14, "bad packet sync", "E_SYNC", _edit_packet(0, set_part("sync", b"MG"))),
        InvalidCase(15, "packet CRC mismatch", "E_CRC", flip_chunk_byte),
        InvalidCase(16, "more channels present than the stream has", "E_PACKET", _edit_packet(0, set_part("k", 13))),
        InvalidCase(17, "raw chunk length is not ceil(n b 8)", "E_PACKET", _edit_packet(0, entry0(delta=1)), "raw"),
        InvalidCase(18, "unknown chunk mode 3", "E_PACKET", _edit_packet(0, entry0(mode=3))),
        InvalidCase(19, "huffman chunk in a raw stream", "E_PACKET", _edit_packet(0, entry0(mode=1)), "raw"),
        InvalidCase(20, "chunk length past the end of the stream", "E_PACKET", _edit_packet(0, huge_len)),
        InvalidCase(21, "stream cut inside a packet", "E_TRUNCATED",
                    lambda b, i: b[:i["offsets"][0] + (i["ends"][0] - i["offsets"][0]) // 2]),
        InvalidCase(22, "fewer packets than frame_count", "E_TRUNCATED", lambda b, i: b[:i["offsets"][1]]),
        InvalidCase(23, "second packet has frame index 2", "E_ORDER", _edit_packet(1, set_part("index", b"\x02"))),
        InvalidCase(24, "first packet has frame index 1", "E_ORDER", _edit_packet(0, set_part("index", b"\x01"))),
        InvalidCase(25, "non-zero padding bits in a raw chunk", "E_CHUNK", _edit_packet(0, nonzero_padding), "raw"),
        InvalidCase(26, "huffman chunk ends before its last symbol", "E_CHUNK", _edit_packet(0, resize_coded(-1))),
        InvalidCase(27, "huffman chunk with a trailing byte", "E_CHUNK", _edit_packet(0, resize_coded(+1))),
        InvalidCase(28, "bytes after the last packet", "E_TRUNCATED", lambda b, i: b + b"\x00" * 7),
        InvalidCase(29, "overlong frame_index varint (80 00 for 0)", "E_PACKET",
                    _edit_packet(0, set_part("index", b"\x80\x00"))),
        InvalidCase(30, "overlong chunk table varint", "E_PACKET", _edit_packet(0, overlong_entry0)),
        InvalidCase(31, "frame_index varint longer than 5 bytes", "E_PACKET",
                    _edit_packet(0, set_part("index", b"\x80" * 5 + b"\x00"))),
        InvalidCase(32, "frame_index varint above 2^32-1", "E_PACKET",
                    _edit_packet(0, set_part("index", b"\xff\xff\xff\xff\x10"))),
        InvalidCase(33, "stream ends inside a chunk table varint", "E_TRUNCATED", table_varint_cut),
        InvalidCase(34, "version 1 stream: header CRC mismatch", "E_CRC", _v1_flip_header, "v1"),
        InvalidCase(35, "version 1 stream: packet CRC mismatch", "E_CRC", _v1_flip_chunk, "v1"),
        InvalidCase(36, "context chunk (mode 2) in a huffman stream", "E_PACKET", _edit_packet(0, entry0(mode=2))),
        InvalidCase(37, "context chunk (mode 2) in a raw stream", "E_PACKET", _edit_packet(0, entry0(mode=2)), "raw"),
        InvalidCase(38, "huffman chunk (mode 1) in a ctx stream", "E_PACKET", _edit_packet(0, entry0(mode=1)), "ctx"),
        InvalidCase(39, "context chunk ends before its last symbol", "E_CHUNK", _edit_packet(0, resize_coded(-1)),
                    "ctx"),
        InvalidCase(40, "context chunk with a trailing byte", "E_CHUNK", _edit_packet(0, resize_coded(+1)), "ctx"),
    ]


def _v1_flip_header(b: bytearray, info: dict) -> bytearray:
    b[41] ^= 0x01  # width, v1 offset 40
    return b


def _v1_flip_chunk(b: bytearray, info: dict) -> bytearray:
    b[info["ends"][0] - 5] ^= 0x10  # the last chunk byte of packet 0, CRC left alone
    return b


def _set_magic(b: bytearray) -> bytearray:
    b[0:4] = b"MCUD"
    return b


def _stream_info(data: bytes) -> dict:
    """Packets and their [start, end) offsets in a well-formed base stream."""
    from refcodec.bitstream import parse_stream

    parsed = parse_stream(data)
    return {"packets": parsed.packets, "offsets": parsed.packet_offsets,
            "ends": [o + p.size for o, p in zip(parsed.packet_offsets, parsed.packets)]}


def _as_v1(data: bytes, model) -> bytes:
    """The same frames in a container version 1 stream (what refcodec wrote before version 2)."""
    from dataclasses import replace

    from refcodec.bitstream import parse_stream, serialize_stream
    from refcodec.bitstream.format import VERSION_1

    parsed = parse_stream(data)
    h = parsed.header
    header = replace(h, model_id=model.model_id_bytes, version=VERSION_1,
                     fps_num=h.fps_num or 1, fps_den=h.fps_den or 1, frame_count=h.frame_count or len(parsed.packets))
    return serialize_stream(header, [replace(p, version=VERSION_1) for p in parsed.packets])


INVALID_SLUGS = {
    1: "bad-magic", 2: "shorter-than-header", 3: "header-crc-mismatch", 4: "version-3", 5: "unknown-header-flag",
    6: "frame-count-zero", 7: "width-zero", 8: "bit-depth-zero", 9: "bit-depth-not-the-models",
    10: "channel-count-not-the-models", 11: "entropy-mode-3", 12: "fps-denominator-zero", 13: "other-model-id",
    14: "bad-packet-sync", 15: "packet-crc-mismatch", 16: "k-above-channels", 17: "raw-chunk-length-wrong",
    18: "chunk-mode-3", 19: "huffman-chunk-in-raw-stream", 20: "chunk-length-past-end", 21: "cut-inside-packet",
    22: "fewer-packets-than-frame-count", 23: "second-frame-index-2", 24: "first-frame-index-1",
    25: "raw-chunk-nonzero-padding", 26: "huffman-chunk-short", 27: "huffman-chunk-trailing-byte",
    28: "bytes-after-last-packet", 29: "overlong-frame-index-varint", 30: "overlong-chunk-table-varint",
    31: "frame-index-varint-6-bytes", 32: "frame-index-varint-above-2-32", 33: "cut-inside-chunk-table-varint",
    34: "v1-header-crc-mismatch", 35: "v1-packet-crc-mismatch", 36: "ctx-chunk-in-huffman-stream",
    37: "ctx-chunk-in-raw-stream", 38: "huffman-chunk-in-ctx-stream", 39: "ctx-chunk-short",
    40: "ctx-chunk-trailing-byte",
}
"""File names of the invalid streams: NN-<slug>.mcuc (no spaces; FLAC's test files are named this way); the
description stays in invalid.json's `what`."""


def invalid_file_name(number: int) -> str:
    return f"{number:02d}-{INVALID_SLUGS[number]}.mcuc"


INVALID_MODEL = "rand-ctx"
"""The model of every invalid stream (it has plain and context tables, so all three stream kinds exist)."""


def build_invalid(models: dict) -> dict[str, bytes]:
    """vectors/invalid/: name -> bytes, plus invalid.json."""
    from refcodec.codec import encode_frames

    rgb = _source_pixels("smooth:16:24:11", None)
    rgb2 = _source_pixels("smooth:16:24:12", None)
    model = models[INVALID_MODEL]
    bases = {kind: encode_frames([rgb, rgb2], model, channels=12, fps=(25, 1), entropy=kind)
             for kind in ("huffman", "raw", "ctx")}
    bases["v1"] = _as_v1(bases["huffman"], model)
    base_names = {kind: f"two 16x24 frames, {kind} stream" for kind in ("huffman", "raw", "ctx")}
    base_names["v1"] = "two 16x24 frames, huffman stream, container version 1"
    files: dict[str, bytes] = {}
    records = []
    for case in _invalid_cases():
        base_kind = case.base
        base = bases[base_kind]
        buf = bytearray(base)
        res = case.mutate(buf, _stream_info(base))  # edits in place and/or returns the new bytes
        out = bytes(buf if res is None else res)
        if out == base:
            raise InvalidArgumentError(f"invalid case {case.number} did not change the stream")
        fname = invalid_file_name(case.number)
        files[fname] = out
        records.append({"file": fname, "number": case.number, "what": case.what, "error": case.error,
                        "model": INVALID_MODEL, "base": base_names[base_kind],
                        "stage": "header" if case.number <= 13 or case.number == 34 else "packet",
                        "decoder_must": "reject the stream" + (
                            ", or skip the packet in keep-going mode (spec section 8.3)"
                            if case.error in ("E_SYNC", "E_PACKET", "E_CHUNK", "E_ORDER") or case.number in (15, 35)
                            else ""),
                        "sha256": sha256(out)})
    files["invalid.json"] = (json.dumps({"generator": GENERATOR, "generator_version": GENERATOR_VERSION,
                                         "model": {"name": INVALID_MODEL, "id": models[INVALID_MODEL].model_id},
                                         "cases": records}, indent=1) + "\n").encode("utf-8")
    return files


# --- the whole tree --------------------------------------------------------------------------------------

def generate(root: Path | None = None) -> dict[str, bytes]:
    """Every file of the vectors tree except the .npz model files: relative path -> bytes.
    root: the committed tree, used only to reuse input.png bytes (see build_vector)."""
    from refcodec.firmware.c_header import c_header_text

    models = {name: conformance_model(name) for name in MODEL_NAMES}
    files: dict[str, bytes] = {}
    for name, model in models.items():
        files[f"models/{name}.h"] = c_header_text(model).encode("ascii")
    for spec in VECTOR_SPECS:
        committed = root / spec.name if root is not None else None
        for fname, data in build_vector(spec, models[spec.model], committed).items():
            files[f"{spec.name}/{fname}"] = data
    for fname, data in build_invalid(models).items():
        files[f"invalid/{fname}"] = data
    from refcodec.vectors.inter_vectors import INTER_DIR, build_inter

    for fname, data in build_inter(root if root is not None else Path(__file__).resolve().parents[2] / "vectors").items():
        files[f"{INTER_DIR}/{fname}"] = data
    return files


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def make_vectors(root: str | Path) -> int:
    """Write the tree under root (models as .npz too). Returns the number of files written."""
    from refcodec.model.modelfile import save_model

    root = Path(root)
    files = generate(root if root.is_dir() else None)
    for rel, data in files.items():
        _atomic_write(root / rel, data)
    for name in MODEL_NAMES:
        model_path = root / "models" / f"{name}.npz"
        if not _model_file_matches(model_path, conformance_model(name).model_id):
            save_model(conformance_model(name), model_path)
    return len(files) + len(MODEL_NAMES)


def _model_file_matches(path: Path, model_id: str) -> bool:
    from refcodec.errors import ModelFileError
    from refcodec.model.modelfile import load_model

    if not path.is_file():
        return False
    try:
        return load_model(path).model_id == model_id
    except ModelFileError:
        return False


def check_vectors(root: str | Path) -> list[str]:
    """Regenerate and compare byte for byte. Returns one line per problem (empty: all good)."""
    root = Path(root)
    if not root.is_dir():
        raise InputFileError(f"vectors folder not found: '{root}'")
    problems = []
    files = generate(root)
    for rel, data in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif path.read_bytes() != data:
            problems.append(f"differs: {rel}")
    for name in MODEL_NAMES:
        if not _model_file_matches(root / "models" / f"{name}.npz", conformance_model(name).model_id):
            problems.append(f"differs or missing: models/{name}.npz (model id {conformance_model(name).model_id[:16]})")
    known = set(files) | {f"models/{n}.npz" for n in MODEL_NAMES} | {"README.md"}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in known:
            problems.append(f"unexpected file: {rel}")
    return problems


def readme_table() -> str:
    """The `| vector | what it tests |` table of vectors/README.md."""
    lines = ["| vector | what it tests | model | frames | k | entropy | spec sections |",
             "|---|---|---|---|---|---|---|"]
    for s in VECTOR_SPECS:
        k = ",".join(map(str, s.channels)) if isinstance(s.channels, tuple) else str(s.channels)
        if s.truncate_bytes is not None:
            k += " (before truncation)"
        lines.append(f"| `{s.name}` | {s.what} | {s.model} | {s.n_frames} | {k} | {s.entropy} | "
                     f"{', '.join('§' + x for x in s.sections)} |")
    return "\n".join(lines)


def invalid_table(root: Path) -> str:
    data = json.loads((root / "invalid" / "invalid.json").read_text())
    lines = ["| file | a decoder must raise | the fault |", "|---|---|---|"]
    for c in data["cases"]:
        lines.append(f"| `{c['file']}` | {c['error']} | {c['what']} |")
    return "\n".join(lines)

