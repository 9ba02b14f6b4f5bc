"""Conformance vectors: `refcodec vectors make` writes them, `refcodec vectors check` regenerates and compares.

Layout (documented for users in vectors/README.md):

    vectors/<name>/input.png      the source frame, original size (RGB, 8 bits)
    vectors/<name>/input.bin      int8 [H'][W'][3]: padded frame after pixel - 128 (spec sections 3.1, 3.2)
    vectors/<name>/conv1.bin      int8 [H'/2][W'/2][16]      (raw little-endian NHWC, N = 1 dropped)
    vectors/<name>/conv2.bin      int8 [H'/8][W'/8][16]
    vectors/<name>/latent.bin     int8 [H'/8][W'/8][12]
    vectors/<name>/symbols.bin    uint8 [H'/8][W'/8][12]     (spec section 5)
    vectors/<name>/stream.mcuc    the whole stream of this one frame (spec sections 6, 7)
    vectors/<name>/vector.json    what it tests, model, rounding, spec sections, shapes, sha256 of every file
    vectors/models/<model>.npz    the model files, and <model>.h their C headers (refcodec export c-header)
    vectors/invalid/NN - <what>.mcuc   faulty streams; vectors/invalid/invalid.json says which error each raises

A vector folder is also a valid `refcodec verify --layers` folder. Every byte is generated deterministically
from the specs below; the Kodak crops read ../shared/datasets/kodak when it is there and otherwise take the
committed input.png as the source (its sha256 is checked).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from refcodec import __version__
from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.io_utils import atomic_write
from refcodec.vectors.models import MODEL_NAMES, conformance_model

GENERATOR_VERSION = "1.0"
GENERATOR = f"refcodec vectors make (generator {GENERATOR_VERSION})"
LAYER_FILES = ("input.bin", "conv1.bin", "conv2.bin", "latent.bin", "symbols.bin")
FPS = (1, 1)  # still images (spec section 7.1)


def kodak_dir() -> Path:
    """../shared/datasets/kodak next to the checkout (evaluation images; crops only)."""
    return Path(__file__).resolve().parents[3] / "shared" / "datasets" / "kodak"


@dataclass(frozen=True)
class VectorSpec:
    name: str
    what: str
    model: str
    source: str  # "kodak:NN:y:x:h:w" | "black:h:w" | "white:h:w" | "noise01:h:w:seed" | "smooth:h:w:seed" | ...
    channels: int = 12
    entropy: str = "huffman"
    sections: tuple[str, ...] = ("3", "4", "5", "6", "7")


def _specs() -> list[VectorSpec]:
    v = [
        VectorSpec("kodim01_crop64", "real photo: 64x64 crop of Kodak kodim01 (door and wall texture)",
                   "rand-double", "kodak:01:300:400:64:64"),
        VectorSpec("kodim08_crop96x128", "real photo: 96x128 (HxW) crop of Kodak kodim08 (buildings, sharp edges)",
                   "rand-double", "kodak:08:200:300:96:128"),
        VectorSpec("kodim23_224", "real photo at the paper's size: 224x224 crop of Kodak kodim23 (parrots)",
                   "rand-double", "kodak:23:100:250:224:224"),
        VectorSpec("kodim15_odd61x75", "real photo, odd size 61x75 (HxW): padding to 64x80 by edge replication",
                   "rand-double", "kodak:15:150:300:61:75", sections=("3.1", "4.2", "5", "6", "7")),
        VectorSpec("kodim03_raw_entropy", "real photo (kodim03 64x64 crop) in a raw stream (entropy_mode 0)",
                   "rand-double", "kodak:03:200:300:64:64", entropy="raw", sections=("6.3", "7")),
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
                   "tables (raw)", "rand-ctx", "kodak:01:300:400:64:64", entropy="ctx", sections=("6.4", "6.6")),
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


def _png_bytes(rgb: np.ndarray) -> bytes:
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", rgb, extension=".png"))


def _png_pixels(data: bytes) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(data, extension=".png"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- one vector ------------------------------------------------------------------------------------------

def build_vector(spec: VectorSpec, model, committed_dir: Path | None = None) -> dict[str, bytes]:
    """All files of one vector folder, name -> bytes. committed_dir: the existing folder, whose input.png bytes
    are reused when they decode to the same pixels (PNG encoders differ across library versions)."""
    from refcodec.codec import encode_frames
    from refcodec.verify.core import reference_tensors

    committed_png = committed_dir / "input.png" if committed_dir is not None else None
    rgb = _source_pixels(spec.source, committed_png)
    png = None
    if committed_png is not None and committed_png.is_file():
        old = committed_png.read_bytes()
        try:
            if np.array_equal(_png_pixels(old), rgb):
                png = old
        except Exception:  # an unreadable committed PNG is simply regenerated (and reported as different)
            png = None
    if png is None:
        png = _png_bytes(rgb)
    ref = reference_tensors(model, rgb)
    files = {"input.png": png}
    for fname in LAYER_FILES:
        files[fname] = np.ascontiguousarray(ref[fname[:-4]]).tobytes()
    files["stream.mcuc"] = encode_frames([rgb], model, channels=spec.channels, fps=FPS, entropy=spec.entropy)
    h, w = rgb.shape[:2]
    shapes = {fname[:-4]: [1, *ref[fname[:-4]].shape] for fname in LAYER_FILES}
    record = {
        "name": spec.name,
        "what": spec.what,
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "refcodec_version": __version__,
        "model": {"name": spec.model, "id": model.model_id, "file": f"../models/{spec.model}.npz",
                  "c_header": f"../models/{spec.model}.h"},
        "rounding": model.rounding,
        "spec_sections": list(spec.sections),
        "source": spec.source,
        "width": w,
        "height": h,
        "padded_width": -(-w // 8) * 8,
        "padded_height": -(-h // 8) * 8,
        "channels_sent": spec.channels,
        "entropy": spec.entropy,
        "fps": list(FPS),
        "frames": 1,
        "layout": "raw little-endian NHWC, N = 1 (int8; symbols uint8)",
        "shapes": shapes,
        "dtypes": {name: ("uint8" if name == "symbols" else "int8") for name in shapes},
        "sha256": {name: sha256(data) for name, data in sorted(files.items())},
    }
    files["vector.json"] = (json.dumps(record, indent=1) + "\n").encode("utf-8")
    return files


# --- invalid streams -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvalidCase:
    number: int
    what: str
    error: str  # spec section 8.1 error name
    mutate: Callable[[bytearray, dict], bytearray]
    model: str = "huffman"  # the base stream: "huffman", "raw" or "ctx" (all made with INVALID_MODEL)


def _fix_header_crc(b: bytearray) -> bytearray:
    b[64:68] = struct.pack("<I", _crc(bytes(b[:64])))
    return b


def _crc(data: bytes) -> int:
    import zlib

    return zlib.crc32(data) & 0xFFFFFFFF


def _fix_packet_crc(b: bytearray, start: int, end: int) -> bytearray:
    """Recompute the CRC of the packet occupying b[start:end] (CRC in its last 4 bytes)."""
    b[end - 4:end] = struct.pack("<I", _crc(bytes(b[start:end - 4])))
    return b


def _set_header(offset: int, fmt: str, value) -> Callable[[bytearray, dict], bytearray]:
    def f(b: bytearray, info: dict) -> bytearray:
        struct.pack_into(fmt, b, offset, value)
        return _fix_header_crc(b)
    return f


def _packet_edit(edit: Callable[[bytearray, dict], None], fix_crc: bool = True) -> Callable[[bytearray, dict], bytearray]:
    """Edit packet 0 (info: p0 start, p0 end, k, chunk table...), then recompute its CRC."""
    def f(b: bytearray, info: dict) -> bytearray:
        edit(b, info)
        if fix_crc:
            _fix_packet_crc(b, info["p0"], info["p0_end"])
        return b
    return f


def _invalid_cases() -> list[InvalidCase]:
    def other_model_id(b, info):
        b[8:40] = bytes(32 - i for i in range(32))
        return _fix_header_crc(b)

    def flip_header_byte(b, info):
        b[41] ^= 0x01
        return b

    def flip_chunk_byte(b, info):
        b[info["p0_data"]] ^= 0x10

    def bad_sync(b, info):
        b[info["p0"]:info["p0"] + 4] = b"MCFQ"
        return b

    def flags(b, info):
        b[info["p0"] + 9] = 1

    def k_over(b, info):
        b[info["p0"] + 8] = 13

    def chunk_mode(mode):
        def f(b, info):
            word = struct.unpack_from("<I", b, info["p0"] + 10)[0]
            struct.pack_into("<I", b, info["p0"] + 10, (word & ~0xFF) | mode)
        return f

    def raw_len_wrong(b, info):  # a raw stream (entropy 0): raw chunk 0 length + 1 (table only)
        word = struct.unpack_from("<I", b, info["p0"] + 10)[0]
        struct.pack_into("<I", b, info["p0"] + 10, word + (1 << 8))

    def huge_len(b, info):  # chunk 0 length 2^20 - 1 bytes, past the end; CRC left alone (checked after lengths)
        word = struct.unpack_from("<I", b, info["p0"] + 10)[0]
        struct.pack_into("<I", b, info["p0"] + 10, (word & 0xFF) | (((1 << 20) - 1) << 8))
        return b

    def cut_in_packet(b, info):
        return b[:info["p0"] + (info["p0_end"] - info["p0"]) // 2]

    def drop_last_packet(b, info):
        return b[:info["p1"]]

    def index(value, packet):
        def f(b, info):
            start, end = (info["p0"], info["p0_end"]) if packet == 0 else (info["p1"], info["p1_end"])
            struct.pack_into("<I", b, start + 4, value)
            return _fix_packet_crc(b, start, end)
        return f

    def trailing(b, info):
        return b + b"\x00" * 7

    def nonzero_padding(b, info):  # raw stream, 5-bit symbols: the last byte of chunk 0 holds padding bits
        last = info["p0_data"] + info["len0"] - 1
        b[last] |= 0x01

    def huffman_short(b, info):  # huffman chunk 0 loses its last byte: the codes run past the end
        _resize_chunk(b, info, -1)

    def huffman_trailing(b, info):  # huffman chunk 0 gains a zero byte after its last code
        _resize_chunk(b, info, +1)

    return [
        InvalidCase(1, "bad magic", "E_MAGIC", lambda b, i: _set_magic(b)),
        InvalidCase(2, "stream shorter than its header", "E_TRUNCATED", lambda b, i: b[:40]),
        InvalidCase(3, "header CRC mismatch", "E_CRC", flip_header_byte),
        InvalidCase(4, "unsupported version 2", "E_VERSION", _set_header(4, "<B", 2)),
        InvalidCase(5, "header_size is not 68", "E_HEADER", _set_header(6, "<H", 64)),
        InvalidCase(6, "reserved header flags set", "E_HEADER", _set_header(5, "<B", 1)),
        InvalidCase(7, "latent width does not match the width", "E_HEADER", _set_header(44, "<H", 5)),
        InvalidCase(8, "width 0", "E_HEADER", _set_header(40, "<H", 0)),
        InvalidCase(9, "bit depth 0", "E_HEADER", _set_header(49, "<B", 0)),
        InvalidCase(10, "bit depth differs from the model", "E_HEADER", _set_header(49, "<B", 6)),
        InvalidCase(11, "channel count differs from the model", "E_HEADER", _set_header(48, "<B", 11)),
        InvalidCase(12, "unknown entropy mode 3", "E_HEADER", _set_header(50, "<B", 3)),
        InvalidCase(13, "frame rate denominator 0", "E_HEADER", _set_header(56, "<I", 0)),
        InvalidCase(14, "model id of another model", "E_MODEL", other_model_id),
        InvalidCase(15, "bad packet sync", "E_SYNC", bad_sync),
        InvalidCase(16, "packet CRC mismatch", "E_CRC", _packet_edit(flip_chunk_byte, fix_crc=False)),
        InvalidCase(17, "reserved packet flags set", "E_PACKET", _packet_edit(flags)),
        InvalidCase(18, "more channels present than the stream has", "E_PACKET", _packet_edit(k_over)),
        InvalidCase(19, "raw chunk length is not ceil(n b 8)", "E_PACKET", _packet_edit(raw_len_wrong), "raw"),
        InvalidCase(20, "context chunk (mode 2) in a huffman stream", "E_PACKET", _packet_edit(chunk_mode(2))),
        InvalidCase(21, "huffman chunk in a raw stream", "E_PACKET", _packet_edit(chunk_mode(1)), "raw"),
        InvalidCase(22, "chunk length past the end of the stream", "E_PACKET", huge_len),
        InvalidCase(23, "stream cut inside a packet", "E_TRUNCATED", cut_in_packet),
        InvalidCase(24, "fewer packets than frame_count", "E_TRUNCATED", drop_last_packet),
        InvalidCase(25, "second packet has frame index 2", "E_ORDER", index(2, 1)),
        InvalidCase(26, "first packet has frame index 1", "E_ORDER", index(1, 0)),
        InvalidCase(27, "non-zero padding bits in a raw chunk", "E_CHUNK", _packet_edit(nonzero_padding), "raw"),
        InvalidCase(28, "huffman chunk ends before its last symbol", "E_CHUNK", huffman_short),
        InvalidCase(29, "huffman chunk with a trailing byte", "E_CHUNK", huffman_trailing),
        InvalidCase(30, "bytes after the last packet", "E_TRUNCATED", trailing),
        InvalidCase(31, "unknown chunk mode 3", "E_PACKET", _packet_edit(chunk_mode(3))),
        InvalidCase(32, "huffman chunk (mode 1) in a ctx stream", "E_PACKET", _packet_edit(chunk_mode(1)), "ctx"),
        InvalidCase(33, "context chunk ends before its last symbol", "E_CHUNK", huffman_short, "ctx"),
        InvalidCase(34, "context chunk with a trailing byte", "E_CHUNK", huffman_trailing, "ctx"),
    ]


def _set_magic(b: bytearray) -> bytearray:
    b[0:4] = b"MCUD"
    return b


def _resize_chunk(b: bytearray, info: dict, delta: int) -> None:
    """Shorten or lengthen the first entropy-coded (Huffman or context) chunk of packet 0 in place by `delta`
    bytes (a zero byte is appended), rewriting its table entry and the packet CRC (raises if there is none)."""
    c = info["coded_chunk"]
    if c is None:
        raise InvalidArgumentError("the base stream has no entropy-coded chunk to edit")
    entry = info["p0"] + 10 + 4 * c
    word = struct.unpack_from("<I", b, entry)[0]
    length = word >> 8
    struct.pack_into("<I", b, entry, (word & 0xFF) | ((length + delta) << 8))
    end_of_chunk = info["chunk_starts"][c] + length
    if delta < 0:
        del b[end_of_chunk + delta:end_of_chunk]
    else:
        b[end_of_chunk:end_of_chunk] = b"\x00" * delta
    end = info["p0_end"] + delta
    _fix_packet_crc(b, info["p0"], end)


def _stream_info(data: bytes) -> dict:
    """Offsets of the first two packets of a well-formed base stream."""
    info: dict = {}
    pos = 68
    for p in range(2):
        k = data[pos + 8]
        words = [struct.unpack_from("<I", data, pos + 10 + 4 * i)[0] for i in range(k)]
        lengths = [w_ >> 8 for w_ in words]
        data_start = pos + 10 + 4 * k
        end = data_start + sum(lengths) + 4
        info[f"p{p}"], info[f"p{p}_end"] = pos, end
        if p == 0:
            info["p0_data"], info["len0"] = data_start, lengths[0]
            starts, s = [], data_start
            for n in lengths:
                starts.append(s)
                s += n
            info["chunk_starts"] = starts
            info["coded_chunk"] = next((i for i, w_ in enumerate(words) if w_ & 0xFF in (1, 2)), None)
        pos = end
    return info


INVALID_MODEL = "rand-ctx"
"""The model of every invalid stream (it has plain and context tables, so all three stream kinds exist)."""


def build_invalid(models: dict) -> dict[str, bytes]:
    """vectors/invalid/: name -> bytes, plus invalid.json."""
    from refcodec.codec import encode_frames

    rgb = _source_pixels("smooth:16:24:11", None)
    rgb2 = _source_pixels("smooth:16:24:12", None)
    bases = {kind: encode_frames([rgb, rgb2], models[INVALID_MODEL], channels=12, fps=(25, 1), entropy=kind)
             for kind in ("huffman", "raw", "ctx")}
    files: dict[str, bytes] = {}
    records = []
    for case in _invalid_cases():
        base_kind = case.model
        base = bases[base_kind]
        buf = bytearray(base)
        res = case.mutate(buf, _stream_info(base))  # edits in place and/or returns the new bytes
        out = bytes(buf if res is None else res)
        if out == base:
            raise InvalidArgumentError(f"invalid case {case.number} did not change the stream")
        fname = f"{case.number:02d} - {case.what}.mcuc"
        files[fname] = out
        records.append({"file": fname, "number": case.number, "what": case.what, "error": case.error,
                        "model": INVALID_MODEL, "base": f"two 16x24 frames, {base_kind} stream",
                        "decoder_must": "reject the stream" + (
                            ", or skip the packet in keep-going mode (spec section 8.3)"
                            if case.error in ("E_SYNC", "E_PACKET", "E_CHUNK", "E_ORDER") or case.number == 16
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
    lines = ["| vector | what it tests | model | k | entropy | spec sections |", "|---|---|---|---|---|---|"]
    for s in VECTOR_SPECS:
        lines.append(f"| `{s.name}` | {s.what} | {s.model} | {s.channels} | {s.entropy} | "
                     f"{', '.join('§' + x for x in s.sections)} |")
    return "\n".join(lines)


def invalid_table(root: Path) -> str:
    data = json.loads((root / "invalid" / "invalid.json").read_text())
    lines = ["| file | a decoder must raise |", "|---|---|"]
    for c in data["cases"]:
        lines.append(f"| `{c['file']}` | {c['error']} |")
    return "\n".join(lines)

