"""`refcodec vectors make|check`: the conformance vectors (vectors/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "vectors"


@click.group("vectors")
def vectors() -> None:
    """Conformance vectors: make them, or check them byte for byte."""


@vectors.command("make")
@click.option("--dir", "root", default=str(DEFAULT_ROOT), show_default=True, help="Vectors folder.")
def make_cmd(root: str) -> None:
    """(Re)generate every vector, model file, C header and invalid stream."""
    from refcodec.vectors.generate import make_vectors

    n = make_vectors(root)
    click.echo(f"wrote {n} files under {root}", err=True)


@vectors.command("check")
@click.option("--dir", "root", default=str(DEFAULT_ROOT), show_default=True, help="Vectors folder.")
def check_cmd(root: str) -> None:
    """Regenerate every vector and compare byte for byte; exit 1 on any difference."""
    from refcodec.vectors.generate import check_vectors

    problems = check_vectors(root)
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"FAIL: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("PASS: every vector matches", err=True)
