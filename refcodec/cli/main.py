"""The `refcodec` command: one click group; each command lives in its own module of refcodec.cli.

Errors: every refcodec.errors.RefcodecError becomes one line on stderr ("refcodec: error: ...") and the
error's exit code; nothing is printed as a traceback.
"""

from __future__ import annotations

import sys

import click

from refcodec import __version__
from refcodec.errors import RefcodecError


class RefcodecGroup(click.Group):
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


def _register() -> None:
    from refcodec.cli import plan

    cli.add_command(plan.plan)
    # Each command module registers here, one line each (import inside to keep start-up fast).


_register()
