"""Helpers shared by the stream commands (encode, decode, truncate, info)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refcodec.errors import InputFileError

MAX_STREAM_FILE_BYTES = 1 << 31  # implementation limit: streams are held in memory


def read_stream_file(path: str) -> bytes:
    """Whole .mcuc file -> bytes; InputFileError when missing, a folder, unreadable or over 2 GiB."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no such stream file: '{p}'")
    size = p.stat().st_size
    if size > MAX_STREAM_FILE_BYTES:
        raise InputFileError(f"stream file '{p}' is {size} bytes, above the {MAX_STREAM_FILE_BYTES}-byte limit")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read '{p}': {exc.strerror}") from None


class Progress:
    """Frame counter on stderr (only when stderr is a terminal): a click progress bar when the total
    is known, a running count otherwise. Call with the number of frames just done."""

    def __init__(self, total: int | None, label: str, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total, self.label, self.done = total, label, 0
        self.bar = None
        if self.enabled and total:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def __call__(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
        else:
            click.echo(f"\r{self.label} {self.done} frames", err=True, nl=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        elif self.enabled and self.done:
            click.echo("", err=True)
