"""Atomic file and folder output: write to a temporary name in the destination folder, then rename.

A failure (exception, Ctrl-C, full disk) leaves either the old output or nothing, never a half-written one.
os.replace is atomic on POSIX and Windows when source and destination are on the same file system, which is
why the temporary lives in the destination folder.

Temporaries are named ``.<name>.<pid>.<random>.refcodec-tmp<suffix>`` (hidden, recognisable). A process
killed with SIGKILL cannot remove its own; the next atomic write into the same folder removes every
``*.refcodec-tmp*`` entry whose <pid> is no longer running (clean_stale_temps), and readers of folders
ignore them (their names start with a dot and their suffix is not an image suffix).

Errors: a missing or read-only folder, a full disk or any other OS error while writing becomes
OutputFileError (exit code 8) with one line naming the target and the OS's reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from refcodec.errors import OutputFileError

TEMP_MARK = ".refcodec-tmp"
_TEMP_RE = re.compile(r"^\..+\.(\d+)\.[^.]+\.refcodec-tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, owned by someone else
        return True
    return True


_cleaned: set[str] = set()


def clean_stale_temps(folder: str | os.PathLike, once: bool = False) -> list[str]:
    """Remove the refcodec temporaries in `folder` left by processes that no longer run; returns their names.
    once: skip a folder this process has already cleaned (atomic writes of many files into one folder)."""
    key = os.path.abspath(folder)
    if once and key in _cleaned:
        return []
    _cleaned.add(key)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP_RE.match(entry.name)
            if m is None or _pid_alive(int(m.group(1))):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _folder_of(dest: Path) -> Path:
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise OutputFileError(f"output folder '{folder}' does not exist or is not a folder")
    return folder


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable(path: str | os.PathLike) -> None:
    """Fail now (OutputFileError) when `path` could not be written later: its folder is missing, not a
    folder, or refuses a new file (read-only, permissions; tried for real with a temporary, so it also holds
    for root and read-only mounts)."""
    dest = Path(path)
    folder = _folder_of(dest)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=f"{TEMP_MARK}.probe", dir=folder)
    except OSError as exc:
        raise OutputFileError(f"cannot write to folder '{folder}': {_reason(exc)}") from None
    os.close(fd)
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it is renamed onto `path`.

    `suffix` (default: the suffix of `path`) is kept so tools that look at the extension
    (ffmpeg, imageio) still see it. On any exception the temporary file is removed; OS errors
    (full disk, read-only folder, ...) become OutputFileError.
    """
    dest = Path(path)
    folder = _folder_of(dest)
    clean_stale_temps(folder, once=True)
    sfx = dest.suffix if suffix is None else suffix
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=f"{TEMP_MARK}{sfx}", dir=folder)
    except OSError as exc:
        raise OutputFileError(f"cannot write to folder '{folder}': {_reason(exc)}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        # mkstemp creates 0600; give the output the permissions a plain open() would (0666 & ~umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise OutputFileError(f"cannot write '{dest}': {_reason(exc)}") from None
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to `path`; on success it is renamed onto `path`.

    An existing empty folder at `path` is replaced; into an existing non-empty one, only when `replace`, the
    new files are renamed one by one (replacing files of the same names, keeping the others), else
    OutputFileError. On any exception the temporary folder and what it holds are removed.
    """
    dest = Path(path)
    folder = _folder_of(dest)
    clean_stale_temps(folder)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=TEMP_MARK, dir=folder))
    except OSError as exc:
        raise OutputFileError(f"cannot write to folder '{folder}': {_reason(exc)}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        yield tmp
        _move_dir_into_place(tmp, dest, replace)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputFileError(f"cannot write '{dest}': {_reason(exc)}") from None
        raise


def _move_dir_into_place(tmp: Path, dest: Path, replace: bool) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise OutputFileError(f"output '{dest}' exists and is not a folder")
    if not dest.exists():
        os.rename(tmp, dest)
        return
    try:
        os.rename(tmp, dest)  # POSIX: replaces an empty folder atomically
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if not replace:
        raise OutputFileError(f"output folder '{dest}' exists and is not empty; use --force to replace it")
    # --force into a non-empty folder: the new files replace those of the same names, one atomic rename each;
    # the folder's other files are left alone (never delete what the user did not ask to replace)
    for entry in sorted(os.listdir(tmp)):
        os.replace(tmp / entry, dest / entry)
    os.rmdir(tmp)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same folder + os.replace)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_json(path: str | os.PathLike, obj, indent: int = 1) -> None:
    """Write `obj` as JSON (and a final newline) to `path` atomically, creating its folder (benchmark results)."""
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(obj, indent=indent) + "\n").encode())
