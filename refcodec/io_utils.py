"""Atomic file output: write to a temporary file in the destination folder, then os.replace.

A failure (exception, Ctrl-C, full disk) leaves either the old file or nothing, never a
half-written output. os.replace is atomic on POSIX and Windows when source and destination
are on the same file system, which is why the temp file lives in the destination folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from refcodec.errors import InputFileError, RefcodecError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it is renamed onto `path`.

    `suffix` (default: the suffix of `path`) is kept so tools that look at the extension
    (ffmpeg, imageio) still see it. On any exception the temporary file is removed.
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise InputFileError(f"output folder '{folder}' does not exist or is not a folder")
    sfx = dest.suffix if suffix is None else suffix
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".tmp{sfx}", dir=folder)
    except OSError as exc:
        raise RefcodecError(f"cannot write to folder '{folder}': {exc.strerror}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the output the permissions a plain open() would (0666 & ~umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise RefcodecError(f"cannot write '{dest}': {exc.strerror or exc}") from None
        raise


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same folder + os.replace)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
