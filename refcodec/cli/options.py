"""Shared click options and parameter types."""

from __future__ import annotations

import click

from refcodec.errors import InvalidArgumentError

MAX_SIDE = 16384


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H), each in [1, 16384]."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InvalidArgumentError(f'invalid size "{text}", expected WxH such as 224x224')
    w, h = int(parts[0]), int(parts[1])
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise InvalidArgumentError(f'size "{text}" outside 1..{MAX_SIDE} per side')
    return w, h


model_option = click.option(
    "--model", "model_path", default=None, metavar="M",
    help="Model file (.npz); 'random' for the seeded random model; default: the bundled model.")
