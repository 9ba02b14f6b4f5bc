"""Reading frames: an image (PNG/JPEG/BMP/PPM/TIFF/WebP, through Pillow), a folder of images, a .y4m file, a
video (.mp4/.avi/.mov/.mkv/.webm via imageio-ffmpeg), or "-" (a Y4M stream or one image on stdin). Every frame
comes out as RGB uint8 [H, W, 3]. This is the one image reader of the package (verify, eval and training
use it too) and IMAGE_EXTS the one list of image suffixes; see decode_image for how colour spaces, alpha,
16-bit samples and the EXIF orientation are handled."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".webp")
"""The one list of image file suffixes (media, verify, eval, training)."""
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
Y4M_EXTS = (".y4m",)


@dataclass
class MediaSource:
    """kind: "image" | "folder" | "y4m" | "video"; fps (num, den), None for stills (an image or a folder of
    images: no frame rate unless one is given); n_frames: known count after max_frames, or None; frames:
    iterator of RGB uint8 [H, W, 3]; names: the file names of a folder's frames, in order; notes: one line per
    conversion or problem met while reading (alpha dropped, EXIF rotation, a video shorter than its header
    says), filled as frames are read."""

    kind: str
    fps: tuple[int, int] | None
    n_frames: int | None
    frames: Iterator[np.ndarray]
    names: list[str] | None = None
    notes: list[str] = field(default_factory=list)


def to_rgb8(img: np.ndarray, name: str) -> np.ndarray:
    """Grey, grey+alpha, RGB, RGBA of uint8/uint16 arrays (video frames) -> RGB uint8 [H, W, 3] (alpha dropped,
    16-bit >> 8)."""
    a = np.asarray(img)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        raise InputFileError(f"unsupported pixel type {a.dtype} in '{name}'")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] in (1, 2):
        a = np.repeat(a[:, :, :1], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputFileError(f"unsupported image shape {a.shape} in '{name}'")
    return np.ascontiguousarray(a)


def _why(exc: BaseException) -> str:
    """First line of an exception's message (or its type name): for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF8": "GIF",
               b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "RIFF (WebP/AVI)", b"YUV4MPEG2": "Y4M",
               b"MCUC": "an .mcuc stream", b"PK\x03\x04": "a zip file", b"%PDF": "PDF"}
_EXPECTED = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def _not_an_image(head: bytes, name: str) -> str:
    """Why Pillow could not identify `name` (first bytes `head`), in a user's words."""
    if not head:
        return f"'{name}' is empty (0 bytes)"
    found = next((what for sig, what in _SIGNATURES.items() if head.startswith(sig)), None)
    want = _EXPECTED.get(Path(name).suffix.lower())
    shown = head[:8].hex(" ")
    if found is not None and found != want:
        return f"'{name}' is not an image file: its content is {found} (starts with {shown})"
    if want is not None and found is None:
        return f"'{name}' is not a {want} file: it starts with bytes {shown}, not the {want} signature"
    return f"'{name}' is not an image Pillow can read (starts with bytes {shown})"


def decode_image(source, name: str, notes: list[str] | None = None) -> np.ndarray:
    """An encoded image (a path, or the file's bytes) -> RGB uint8 [H, W, 3], through Pillow.

    What a viewer shows is what is encoded: the EXIF orientation is applied (ImageOps.exif_transpose); CMYK
    (JPEG) goes through Pillow's CMYK -> RGB conversion (Adobe inverted CMYK handled by Pillow's decoder, no
    ICC colour management); alpha is dropped (each pixel keeps its stored colour, not composited); 16-bit
    samples keep their high byte (x >> 8); grey, palette and 1-bit images become RGB; an animated image gives
    its first frame. `notes` (when given) receives one line per such conversion, for the CLI to print.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    def note(text: str) -> None:
        if notes is not None and text not in notes:
            notes.append(text)

    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with Image.open(fp) as im:
            # 16-bit colour images load as 8-bit RGB(A) (Pillow keeps the high byte); their raw mode says so
            sixteen = im.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I") and any(
                ";16" in str(getattr(t, "args", "")) for t in (im.tile or ()))
            im.load()
            if sixteen:
                note(f"'{name}': 16-bit samples reduced to 8 bits (high byte)")
            orientation = im.getexif().get(0x0112, 1)
            if orientation not in (1, None):
                im2 = ImageOps.exif_transpose(im)
                note(f"'{name}': EXIF orientation {orientation} applied")
            else:
                im2 = im
            return _pil_to_rgb8(im2, name, note)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise InputFileError(f"cannot read '{name}': {_why(exc)}") from None
    except UnidentifiedImageError:
        head = bytes(source[:16]) if isinstance(source, (bytes, bytearray)) else _head(source)
        raise InputFileError(_not_an_image(head, name)) from None
    except Image.DecompressionBombError as exc:
        raise InputFileError(f"'{name}' is too large to read safely: {_why(exc)}") from None
    except InputFileError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # Pillow's errors for cut or corrupt data
        raise InputFileError(f"'{name}' is cut or corrupt: {_why(exc)}") from None


def _head(path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(16)
    except OSError:
        return b""


def _pil_to_rgb8(im, name: str, note) -> np.ndarray:
    """A loaded PIL image of any mode -> RGB uint8 [H, W, 3] (see decode_image for the rules)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im)
        if mode == "I" and (a.min() < 0 or a.max() > 65535):
            raise InputFileError(f"'{name}' has 32-bit integer samples, expected 8 or 16 bits")
        note(f"'{name}': 16-bit samples reduced to 8 bits (high byte)")
        a = (a.astype(np.uint32) >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(a[:, :, None], 3, axis=2))
    if mode == "F":
        raise InputFileError(f"'{name}' has floating-point samples, expected 8 or 16 bits")
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or (mode in ("P", "L", "RGB") and "transparency" in im.info):
        note(f"'{name}': alpha channel dropped (stored colours kept, not composited)")
    if mode == "CMYK":
        note(f"'{name}': CMYK converted to RGB (Pillow's conversion, no ICC colour management)")
    if mode in ("LA", "La", "PA"):
        im = im.convert("L") if mode != "PA" else im.convert("RGB")
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    a = np.asarray(rgb, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputFileError(f"unsupported image shape {a.shape} in '{name}'")
    return np.ascontiguousarray(a)


def read_image(path: str | os.PathLike, notes: list[str] | None = None) -> np.ndarray:
    """One image file -> RGB uint8 [H, W, 3] (decode_image's rules); InputFileError when missing or
    unreadable, naming what is wrong with the file."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no such file: '{p}'")
    return decode_image(p, str(p), notes)


def list_images(folder: str | os.PathLike, limit: int | None = None) -> list[Path]:
    """The image files (IMAGE_EXTS, any case) directly in `folder`, sorted by name; InputFileError when the
    folder is missing or holds none."""
    p = Path(folder)
    if not p.is_dir():
        raise InputFileError(f"not a folder: '{p}'")
    files = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise InputFileError(f"folder '{p}' holds no images ({', '.join(IMAGE_EXTS)})")
    return files[:limit] if limit else files


def fps_fraction(fps: float) -> tuple[int, int]:
    """Float frame rate -> (num, den), e.g. 29.97 -> (30000, 1001), 12.5 -> (25, 2)."""
    if not fps or not np.isfinite(fps) or fps <= 0:
        return 25, 1
    f = Fraction(fps).limit_denominator(1001)
    return f.numerator, f.denominator


def _video(p: Path, max_frames: int | None, notes: list[str]) -> MediaSource:
    """Frames of a video through imageio-ffmpeg. `-fps_mode passthrough`: every decoded frame once, in order
    (ffmpeg's default constant-rate output repeats a frame to fill timestamp gaps, e.g. a clip whose first
    timestamp is not 0: an 8-frame AVI gave 9 frames). A clip that ends before the frame count its header
    implies (duration x rate, one frame of rounding allowed) adds a note: the file is probably cut."""
    import imageio.v2 as iio2

    try:
        reader = iio2.get_reader(p, format="FFMPEG", output_params=["-fps_mode", "passthrough"])
        meta = reader.get_meta_data()
    except Exception as exc:
        raise InputFileError(f"cannot read video '{p}': {_why(exc)}") from None
    fps = fps_fraction(float(meta.get("fps") or 0))
    expected = None
    dur = meta.get("duration")
    if dur and np.isfinite(dur) and meta.get("fps"):
        expected = int(round(float(dur) * float(meta["fps"])))
    n = expected
    if max_frames is not None:
        n = max_frames if n is None else min(n, max_frames)

    def frames() -> Iterator[np.ndarray]:
        i = 0
        try:
            for fr in reader:
                if max_frames is not None and i >= max_frames:
                    return
                yield to_rgb8(fr, str(p))
                i += 1
        except InputFileError:
            raise
        except Exception as exc:
            raise InputFileError(f"error decoding video '{p}': {_why(exc)}") from None
        finally:
            reader.close()
        want = expected if max_frames is None or expected is None else min(expected, max_frames)
        if want is not None and i < want - 1:
            notes.append(f"video '{p}' ended after {i} frames, its header implies {expected} "
                         f"({float(dur):.2f} s at {float(meta['fps']):g} fps): the file may be cut or damaged")

    return MediaSource("video", fps, n, frames(), notes=notes)


def _stdin_source(max_frames: int | None, fps: tuple[int, int] | None) -> MediaSource:
    """'-': a Y4M stream (by its signature) or one image on stdin."""
    import io

    data = sys.stdin.buffer.read()
    if data.startswith(b"YUV4MPEG2"):
        from refcodec.media.y4m import read_y4m

        info, it = read_y4m(io.BytesIO(data), max_frames, name="<stdin>")
        f = info["fps"]
        return MediaSource("y4m", fps or (f.numerator, f.denominator), None, it)
    notes: list[str] = []
    return MediaSource("image", fps, 1, iter([decode_image(data, "<stdin>", notes)]), notes=notes)


def open_media(path: str | os.PathLike, max_frames: int | None = None,
               fps: tuple[int, int] | None = None) -> MediaSource:
    """Open any supported input ("-": a Y4M stream or an image on stdin). max_frames: take the first N frames
    (N >= 1). fps: override; images and folders of images have none by default (stills)."""
    if max_frames is not None and max_frames < 1:
        raise InvalidArgumentError(f"frames {max_frames} must be >= 1")
    if str(path) == "-":
        return _stdin_source(max_frames, fps)
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"no such file or folder: '{p}'")
    if p.is_dir():
        files = list_images(p, max_frames)
        notes: list[str] = []
        return MediaSource("folder", fps, len(files), (read_image(q, notes) for q in files),
                           names=[q.name for q in files], notes=notes)
    ext = p.suffix.lower()
    if ext in IMAGE_EXTS:
        notes = []
        return MediaSource("image", fps, 1, iter([read_image(p, notes)]), notes=notes)
    if ext in Y4M_EXTS:
        from refcodec.media.y4m import read_y4m

        info, it = read_y4m(p, max_frames)
        f = info["fps"]
        return MediaSource("y4m", fps or (f.numerator, f.denominator), None, it)
    if ext in VIDEO_EXTS:
        src = _video(p, max_frames, [])
        if fps:
            src.fps = fps
        return src
    raise InputFileError(
        f"unsupported input format '{p.suffix or p.name}' (images {', '.join(IMAGE_EXTS)}, a folder, .y4m, "
        f"{', '.join(VIDEO_EXTS)})"
    )
