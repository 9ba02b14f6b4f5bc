"""Output checks shared by encode, decode and truncate, done before any work.

- "-" is stdout (encode/truncate: the stream; decode: Y4M).
- An output that is one of the inputs is refused (exit 2): `encode photo.png -o photo.png` never overwrites
  its source.
- A stream output (encode, truncate) may not carry a picture or video suffix, and a decode output may not be
  named .mcuc (exit 2).
- No clobbering by default: an existing output file (or a non-empty output folder) is refused unless
  --force (exit 8, OutputFileError), like ffmpeg without -y or `cp -n`. --force into a non-empty folder
  replaces the files of the same names and keeps the others.
- The output's folder must exist and accept a new file (tried for real: read-only folders and mounts fail
  here, exit 8), so a long encode or decode does not end in an error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

from refcodec.errors import InvalidArgumentError, OutputFileError

STREAM_SUFFIX = ".mcuc"


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(output: str, inputs: Iterable[str], force: bool, role: str) -> None:
    """role "stream" (an .mcuc output) or "pictures" (decode's outputs); raises before any work (see the
    module docstring)."""
    from refcodec.io_utils import check_writable
    from refcodec.media.reader import IMAGE_EXTS, VIDEO_EXTS, Y4M_EXTS

    if output == "-":
        return
    out = Path(output)
    for i in inputs:
        if i != "-" and _same_file(out, Path(i)):
            raise InvalidArgumentError(f"output '{output}' is the input '{i}'; choose another output name")
    ext = out.suffix.lower()
    if role == "stream" and ext in IMAGE_EXTS + VIDEO_EXTS + Y4M_EXTS:
        raise InvalidArgumentError(f"output '{output}' has a picture/video suffix, but this command writes an "
                                   f".mcuc stream (name it {out.stem}{STREAM_SUFFIX})")
    if role == "pictures" and ext == STREAM_SUFFIX:
        raise InvalidArgumentError(f"output '{output}' is named like a stream, but decode writes pictures "
                                   "(.png, a folder, .y4m, .mp4)")
    if out.is_dir() and role == "pictures":
        if any(out.iterdir()) and not force:
            raise OutputFileError(f"output folder '{output}' exists and is not empty; use --force to replace it")
        check_writable(out.parent / out.name)  # the folder is replaced by a renamed one: its parent must accept it
        return
    if out.is_dir():
        raise OutputFileError(f"output '{output}' is a folder")
    if out.exists() and not force:
        raise OutputFileError(f"output '{output}' exists; use --force to overwrite it")
    check_writable(out)


def write_stream(output: str, data: bytes) -> None:
    """The stream to `output` ("-": stdout), atomically for a file."""
    if output == "-":
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as exc:
            raise OutputFileError(f"cannot write the stream to stdout: {exc.strerror or exc}") from None
        return
    from refcodec.io_utils import atomic_write

    atomic_write(output, data)
