"""Helpers shared by the stream commands (encode, decode, truncate, info)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refcodec.errors import InputFileError

MAX_STREAM_FILE_BYTES = 1 << 31  # implementation limit: streams are held in memory


def read_stream_file(path: str) -> bytes:
    """Whole .mcuc file ("-": stdin) -> bytes; InputFileError when missing, a folder, unreadable or over 2 GiB."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(MAX_STREAM_FILE_BYTES + 1)
        if len(data) > MAX_STREAM_FILE_BYTES:
            raise InputFileError(f"stream on stdin is above the {MAX_STREAM_FILE_BYTES}-byte limit")
        return data
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
    """Frame counter on stderr. On a terminal: a click progress bar when the total is known, a running count
    otherwise. Not on a terminal (a log, a pipe, CI): one line "label: N/T frames" at most every `interval`
    seconds, and a last one at close when any was printed. Call with the number of frames just done."""

    def __init__(self, total: int | None, label: str, enabled: bool = True, interval: float = 5.0,
                 clock=None, tty: bool | None = None) -> None:
        import time

        self.clock = clock or time.monotonic
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.enabled = enabled
        self.total, self.label, self.done = total, label, 0
        self.interval = interval
        self.last = self.clock()
        self.lines = self.shown = 0
        self.bar = None
        if self.enabled and self.tty and total:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def _line(self) -> None:
        of = f"/{self.total}" if self.total else ""
        click.echo(f"{self.label}: {self.done}{of} frames", err=True)
        self.lines += 1
        self.shown = self.done

    def __call__(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if not self.tty:
            now = self.clock()
            if now - self.last >= self.interval:
                self.last = now
                self._line()
        elif self.bar is not None:
            self.bar.update(n)
        else:
            click.echo(f"\r{self.label} {self.done} frames", err=True, nl=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        elif self.enabled and not self.tty:
            if self.lines and self.shown != self.done:
                self._line()
        elif self.enabled and self.done:
            click.echo("", err=True)
