"""Running the `refcodec` CLI in-process for tests: no traceback ever, and a failure is one `refcodec: error:`
line with the expected exit code (README: exit codes)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refcodec.cli.main import cli


def run(*args, input=None):
    """Invoke the CLI with `args` (str()-ed); a Python exception other than SystemExit is re-raised."""
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input)
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def fails(code, *args, match=""):
    """Invoke the CLI and check it exits with `code` and one error line containing `match`."""
    r = run(*args)
    assert r.exit_code == code, (r.exit_code, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("refcodec: error:"), r.stderr
    assert match in lines[0], lines[0]
    return r


def entries(folder: Path) -> list[str]:
    """Sorted names in `folder`."""
    return sorted(p.name for p in folder.iterdir())
