"""A small YUV4MPEG2 (.y4m) reader and writer, 8-bit 4:2:0 and 4:4:4 (not part of the bitstream).

Colour conversion is integer BT.601 with limited ("studio") range, the 8-bit fixed-point formulas of
Microsoft's "Converting 8-bit YUV to RGB888" (also in libyuv's comments):

    Y = ((66R + 129G + 25B + 128) >> 8) + 16
    U = ((-38R - 74G + 112B + 128) >> 8) + 128
    V = ((112R - 94G - 18B + 128) >> 8) + 128

    C = Y - 16, D = U - 128, E = V - 128
    R = clamp((298C + 409E + 128) >> 8),  G = clamp((298C - 100D - 208E + 128) >> 8),  B = clamp((298C + 516D + 128) >> 8)

(>> is an arithmetic shift: floor.) 4:2:0 chroma is the rounded mean of each 2x2 block ((a+b+c+d+2) >> 2, edge
replicated for odd sizes) on writing and nearest-neighbour replication on reading; chroma siting tags
(C420jpeg, C420mpeg2, C420paldv, C420) are accepted and treated alike. Other colour spaces (4:2:2, mono,
more than 8 bits) are refused with InputFileError.
"""

from __future__ import annotations

from fractions import Fraction
from typing import BinaryIO, Iterator

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError

MAX_SIDE = 16384
MAX_HEADER_LINE = 4096
SUPPORTED = {"420jpeg": "420", "420": "420", "420mpeg2": "420", "420paldv": "420", "444": "444"}


def rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 [H, W, 3] -> Y, U, V uint8 [H, W] (BT.601 limited range, integer)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    return y.astype(np.uint8), u.astype(np.uint8), v.astype(np.uint8)


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y, U, V uint8 [H, W] -> uint8 [H, W, 3] (BT.601 limited range, integer)."""
    c = y.astype(np.int32) - 16
    d = u.astype(np.int32) - 128
    e = v.astype(np.int32) - 128
    r = (298 * c + 409 * e + 128) >> 8
    g = (298 * c - 100 * d - 208 * e + 128) >> 8
    b = (298 * c + 516 * d + 128) >> 8
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def downsample_420(plane: np.ndarray) -> np.ndarray:
    """uint8 [H, W] -> uint8 [ceil(H/2), ceil(W/2)], rounded mean of 2x2 blocks (edge replicated)."""
    h, w = plane.shape
    p = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="edge").astype(np.int32)
    s = p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def upsample_420(plane: np.ndarray, h: int, w: int) -> np.ndarray:
    """uint8 [ceil(h/2), ceil(w/2)] -> uint8 [h, w] by replication."""
    return np.repeat(np.repeat(plane, 2, axis=0), 2, axis=1)[:h, :w]


def _readline(f: BinaryIO, what: str) -> bytes | None:
    line = f.readline(MAX_HEADER_LINE)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise InputFileError(f"y4m {what} line longer than {MAX_HEADER_LINE} bytes or cut: {line[:40]!r}")
    return line[:-1]


def parse_header(line: bytes) -> dict:
    """'YUV4MPEG2 W.. H.. F..:.. C..' -> {"width", "height", "fps": Fraction, "chroma": "420"|"444"}."""
    tokens = line.split(b" ")
    if tokens[0] != b"YUV4MPEG2":
        raise InputFileError(f"not a y4m file: starts with {line[:10]!r}")
    info = {"width": None, "height": None, "fps": Fraction(25, 1), "chroma": "420", "interlace": "p"}
    for t in tokens[1:]:
        if not t:
            continue
        key, val = chr(t[0]), t[1:].decode("ascii", "replace")
        try:
            if key == "W":
                info["width"] = int(val)
            elif key == "H":
                info["height"] = int(val)
            elif key == "F":
                num, den = val.split(":")
                if int(num) < 1 or int(den) < 1:
                    raise ValueError
                info["fps"] = Fraction(int(num), int(den))
            elif key == "C":
                if val not in SUPPORTED:
                    raise InputFileError(f'unsupported y4m colour space "C{val}" (supported: 420*, 444, 8-bit)')
                info["chroma"] = SUPPORTED[val]
            elif key == "I":
                info["interlace"] = val
        except ValueError:
            raise InputFileError(f'bad y4m header field "{t.decode("ascii", "replace")}"') from None
    w, h = info["width"], info["height"]
    if w is None or h is None or not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise InputFileError(f"y4m size {w}x{h} missing or outside 1..{MAX_SIDE}")
    return info


def read_y4m(path, max_frames: int | None = None, name: str | None = None) -> tuple[dict, Iterator[np.ndarray]]:
    """Open a .y4m file (a path, or an open binary file such as stdin's bytes) -> (header info, iterator of
    uint8 [H, W, 3] RGB frames)."""
    if hasattr(path, "read"):
        f, path = path, name or "<stream>"
    else:
        try:
            f = open(path, "rb")
        except OSError as exc:
            raise InputFileError(f"cannot open '{path}': {exc.strerror}") from None
    try:
        line = _readline(f, "header")
        if line is None:
            raise InputFileError(f"empty y4m file '{path}'")
        info = parse_header(line)
    except BaseException:
        f.close()
        raise

    def frames() -> Iterator[np.ndarray]:
        w, h = info["width"], info["height"]
        cw, ch = ((w + 1) // 2, (h + 1) // 2) if info["chroma"] == "420" else (w, h)
        n = 0
        with f:
            while max_frames is None or n < max_frames:
                fl = _readline(f, "FRAME")
                if fl is None:
                    return
                if not fl.startswith(b"FRAME"):
                    raise InputFileError(f"y4m frame {n} of '{path}' does not start with FRAME: {fl[:10]!r}")
                need = w * h + 2 * cw * ch
                buf = f.read(need)
                if len(buf) != need:
                    raise InputFileError(f"y4m frame {n} of '{path}' is cut: {len(buf)} of {need} bytes")
                a = np.frombuffer(buf, dtype=np.uint8)
                y = a[: w * h].reshape(h, w)
                u = a[w * h : w * h + cw * ch].reshape(ch, cw)
                v = a[w * h + cw * ch :].reshape(ch, cw)
                if info["chroma"] == "420":
                    u, v = upsample_420(u, h, w), upsample_420(v, h, w)
                yield yuv_to_rgb(y, u, v)
                n += 1

    return info, frames()


def write_y4m(f: BinaryIO, frames, fps: tuple[int, int], chroma: str = "420") -> int:
    """Write RGB uint8 frames to an open binary file; returns the number of frames."""
    if chroma not in ("420", "444"):
        raise InvalidArgumentError(f'y4m chroma "{chroma}" must be "420" or "444"')
    n = 0
    for rgb in frames:
        if n == 0:
            h, w = rgb.shape[:2]
            tag = "420jpeg" if chroma == "420" else "444"
            f.write(f"YUV4MPEG2 W{w} H{h} F{fps[0]}:{fps[1]} Ip A1:1 C{tag}\n".encode("ascii"))
        y, u, v = rgb_to_yuv(rgb)
        if chroma == "420":
            u, v = downsample_420(u), downsample_420(v)
        f.write(b"FRAME\n")
        for p in (y, u, v):
            f.write(np.ascontiguousarray(p).tobytes())
        n += 1
    return n
