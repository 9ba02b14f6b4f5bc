"""The `refcodec` command: one click group; each command lives in its own module of refcodec.cli.

Errors: every refcodec.errors.RefcodecError becomes one line on stderr ("refcodec: error: ...") and the
error's exit code; nothing is printed as a traceback.
"""

from __future__ import annotations

import sys

import click

from refcodec import __version__
from refcodec.errors import RefcodecError


_COMMANDS = {
    "plan": ("refcodec.cli.plan", "plan"),
    "eval": ("refcodec.cli.eval", "eval_cmd"),
    "export": ("refcodec.cli.export", "export"),
    "encode": ("refcodec.cli.encode", "encode"),
    "decode": ("refcodec.cli.decode", "decode"),
    "truncate": ("refcodec.cli.truncate", "truncate"),
    "info": ("refcodec.cli.info", "info"),
    "verify": ("refcodec.cli.verify", "verify_cmd"),
    "vectors": ("refcodec.cli.vectors", "vectors"),
}
"""Command name -> (module, attribute). A command's module (and what it imports at its top) is imported only
when that command runs, or for --help: `refcodec decode` never pays for the encoder's or eval's imports
(bench/bench_startup.py measures start-up). A new command adds one line here."""


class LazyGroup(click.Group):
    """A click group whose commands (_COMMANDS) are imported when first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in _COMMANDS:
            import importlib

            module, attr = _COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(name)


class RefcodecGroup(LazyGroup):
    """A click group that turns refcodec errors (and a few OS errors) into one-line messages."""

    def invoke(self, ctx: click.Context):  # noqa: D401
        try:
            return super().invoke(ctx)
        except RefcodecError as e:
            click.echo(f"refcodec: error: {e}", err=True)
            sys.exit(e.exit_code)
        except MemoryError:
            click.echo("refcodec: error: out of memory", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("refcodec: interrupted", err=True)
            sys.exit(130)


@click.group(cls=RefcodecGroup)
@click.version_option(__version__, prog_name="refcodec")
def cli() -> None:
    """refcodec: bit-exact host reference for MCUCoder-class learned video codecs on microcontrollers."""
