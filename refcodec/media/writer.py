"""Writing decoded frames: .png (one frame), a folder of PNGs, .y4m, or .mp4/.mkv/.mov/.avi (ffmpeg), or Y4M
on stdout ("-").

Every output goes to a temporary name in the destination folder first (a folder output: a temporary folder)
and is renamed when complete (refcodec.io_utils), so a failure never leaves a half-written file; an error of
the writer (full disk, ffmpeg failing) is an OutputFileError and nothing is renamed. Float frames [0, 1]
become uint8 by round(255 * x) clamped to [0, 255].

Video: H.264 (libx264) 4:2:0 for .mp4/.mkv/.mov with constant quality `crf` (default DEFAULT_CRF), Motion
JPEG for .avi. 4:2:0 needs even sides: an odd width or height is padded by one replicated column / row, and
the stored size is reported (VideoInfo) so the CLI can say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError, OutputFileError
from refcodec.io_utils import atomic_dir, atomic_path

VIDEO_OUT_CODECS = {".mp4": "libx264", ".avi": "mjpeg", ".mkv": "libx264", ".mov": "libx264"}
DEFAULT_CRF = 18
"""x264's constant rate factor for decoded video: 18 is x264's "visually lossless" guidance (0 lossless, 51
worst); the former fixed quality (crf ~10) made files several times larger than their source."""


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """float [H, W, 3] in [0, 1] -> uint8 (round half to even of 255 x, clamped); uint8 passes through."""
    a = np.asarray(frame)
    if a.dtype == np.uint8:
        return a
    return np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def output_kind(path: str | os.PathLike) -> str:
    """"png" | "folder" | "y4m" | "video" | "stdout" from the path: "-" is Y4M on stdout; an existing folder or
    a name without a suffix is a folder."""
    if str(path) == "-":
        return "stdout"
    p = Path(path)
    ext = p.suffix.lower()
    if p.is_dir() or ext == "":
        return "folder"
    if ext == ".png":
        return "png"
    if ext == ".y4m":
        return "y4m"
    if ext in VIDEO_OUT_CODECS:
        return "video"
    raise InputFileError(f"unsupported output format '{p.suffix}' (.png, a folder, .y4m, {', '.join(VIDEO_OUT_CODECS)})")


def stored_size(width: int, height: int, kind: str) -> tuple[int, int]:
    """(width, height) the output file holds: a 4:2:0 video rounds odd sides up by one (padding)."""
    if kind == "video":
        return width + width % 2, height + height % 2
    return width, height


def write_png(path, frame: np.ndarray, atomic: bool = True) -> None:
    """One PNG through Pillow into a file we own (so a full disk raises here, once); atomically (temp + rename)
    unless `atomic` is False (a file inside a temporary output folder, renamed as a whole)."""
    from PIL import Image

    def save(target) -> None:
        with open(target, "wb") as f:
            Image.fromarray(to_uint8(frame)).save(f, format="PNG")
            f.flush()
            if atomic:  # before the rename; files of a temporary folder are renamed as a whole
                os.fsync(f.fileno())

    if not atomic:
        try:
            save(path)
        except OSError as exc:
            raise OutputFileError(f"cannot write '{path}': {exc.strerror or exc}") from None
        return
    with atomic_path(path) as tmp:
        save(tmp)


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _write_video(tmp: Path, frames: Iterable[np.ndarray], fps: tuple[int, int], codec: str, crf: int,
                 shown: Path) -> int:
    """Pipe raw RGB frames to an ffmpeg process writing `tmp`; its exit status is checked."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise InvalidArgumentError("no frame to write")
    a = to_uint8(first)
    h, w = a.shape[:2]
    sw, sh = stored_size(w, h, "video")
    quality = ["-crf", str(crf), "-preset", "medium"] if codec == "libx264" else ["-q:v", "3"]
    cmd = [_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{sw}x{sh}",
           "-framerate", f"{fps[0]}/{fps[1]}", "-i", "-", "-an", "-c:v", codec, *quality,
           "-pix_fmt", "yuv420p" if codec == "libx264" else "yuvj420p", str(tmp)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    n = 0
    broken = None
    try:
        fr = a
        while fr is not None:
            if fr.shape[:2] != (h, w):
                raise InvalidArgumentError(f"frame {n} is {fr.shape[1]}x{fr.shape[0]}, frame 0 is {w}x{h}")
            if (sw, sh) != (w, h):  # yuv420p needs even sides: replicate the last row / column
                fr = np.pad(fr, ((0, sh - h), (0, sw - w), (0, 0)), mode="edge")
            try:
                proc.stdin.write(np.ascontiguousarray(fr).tobytes())
            except BrokenPipeError as exc:
                broken = exc
                break
            n += 1
            nxt = next(it, None)
            fr = None if nxt is None else to_uint8(nxt)
        try:
            proc.stdin.close()
        except BrokenPipeError as exc:
            broken = exc
        err = proc.stderr.read().decode("utf-8", "replace")
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc != 0 or broken is not None:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else f"ffmpeg exited with status {rc}"
        raise OutputFileError(f"cannot write video '{shown}': {why}")
    return n


def _write_folder(p: Path, frames: Iterable[np.ndarray], names: Sequence[str] | None, replace: bool) -> int:
    n = 0
    with atomic_dir(p, replace=replace) as tmp:
        for fr in frames:
            if names is not None and n >= len(names):
                raise InvalidArgumentError(f"{len(names)} names for more frames than that")
            name = names[n] if names is not None else f"frame_{n:06d}.png"
            try:
                write_png(tmp / name, fr, atomic=False)
            except OutputFileError as exc:  # name the file the user asked for, not the temporary folder
                raise OutputFileError(str(exc).replace(str(tmp), str(p))) from None
            n += 1
    return n


def write_frames(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: tuple[int, int] | None = (25, 1),
                 n_frames: int | None = None, names: Sequence[str] | None = None, crf: int = DEFAULT_CRF,
                 replace: bool = False) -> int:
    """Write frames to `path` (kind by extension, see output_kind); returns the number written.

    fps: (num, den); None (a stream without timing) writes 25/1 into formats that need a rate. names: file
    names for a folder output (default frame_NNNNNN.png). crf: x264 quality of .mp4/.mkv/.mov. replace: a
    non-empty output folder may be replaced (--force)."""
    kind = output_kind(path)
    rate = fps or (25, 1)
    p = Path(path)
    if kind == "png":
        frames = list(frames)
        if len(frames) != 1:
            raise InvalidArgumentError(
                f"'{p.name}' is a single PNG but the stream has {len(frames)} frames; give a folder, .y4m or .mp4")
        write_png(p, frames[0])
        return 1
    if kind == "folder":
        return _write_folder(p, frames, names, replace)
    from refcodec.media.y4m import write_y4m

    if kind == "stdout":
        out = sys.stdout.buffer
        n = write_y4m(out, (to_uint8(fr) for fr in frames), rate)
        out.flush()
        return n
    if kind == "y4m":
        with atomic_path(p) as tmp:
            with open(tmp, "wb") as f:
                n = write_y4m(f, (to_uint8(fr) for fr in frames), rate)
                f.flush()
                os.fsync(f.fileno())
        return n
    if not 0 <= crf <= 51:
        raise InvalidArgumentError(f"--crf {crf} outside [0, 51]")
    with atomic_path(p) as tmp:
        return _write_video(tmp, frames, rate, VIDEO_OUT_CODECS[p.suffix.lower()], crf, p)
