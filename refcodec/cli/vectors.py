"""`refcodec vectors make|check|run`: the conformance vectors (vectors/README.md); `run` verifies a firmware over all."""

from __future__ import annotations

import json
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


@vectors.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--dir", "root", default=str(DEFAULT_ROOT), show_default=True, help="Vectors folder.")
@click.option("--filter", "patterns", multiple=True, metavar="GLOB",
              help="Only vectors whose name matches GLOB (fnmatch; repeatable, any may match).")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Only vectors of model NAME (rand-double, rand-single, extreme-double, extreme-single, rand-ctx; "
                   "repeatable), e.g. to run a binary built for that model.")
@click.option("--timeout", "timeout", type=float, default=600.0, show_default=True,
              help="Seconds one run of CMD may take.")
@click.option("--keep", "work_dir", default=None, metavar="DIR",
              help="Keep each vector's inputs, output and dumps in DIR/<vector>/ (default: a temporary folder).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD...")
def run_cmd(root: str, patterns: tuple[str, ...], models: tuple[str, ...], timeout: float, work_dir: str | None,
            as_json: bool, cmd: tuple[str, ...]) -> None:
    """Run a firmware command CMD over every vector and verify its output: a PASS/FAIL table with `refcodec
    verify`'s diagnosis of each failure; exit code 7 if any FAILs. Placeholders in CMD (one value per vector):
    {input} raw RGB frames, {png} first frame PNG, {png_dir} folder of frame PNGs, {width} {height} {frames},
    {k} (K or K0,K1,...), {k_list} (always K0,K1,...), {entropy}, {fps} (NUM/DEN) {fps_num} {fps_den},
    {output} stream to write, {dump} folder for optional layer dumps, {model} {model_npz} {model_h},
    {vector} {vector_dir}. Words between "[" and "]" are dropped for a vector where a placeholder inside has no
    value (fps: vectors without timing). Example (the project's host firmware, one binary per model):

    refcodec vectors run -- build/fw_{model} -w {width} -h {height} -n {frames} -k {k} -e {entropy}
    [ -f {fps} ] -d {dump} {input} {output}

    (vectors/README.md has a QEMU example)."""
    from refcodec.errors import VerificationFailure
    from refcodec.vectors.runner import run_vectors

    def progress(i: int, n: int, r) -> None:  # on stderr, so that a long run (QEMU, a board) shows its progress
        click.echo(f"[{i}/{n}] {r.name}: {r.result} ({r.seconds:.1f} s)", err=True)

    summary = run_vectors(root, list(cmd), patterns, models, timeout, work_dir, progress)
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=1))
    else:
        click.echo(summary.table())
    if summary.failed:
        sys.exit(VerificationFailure.exit_code)
