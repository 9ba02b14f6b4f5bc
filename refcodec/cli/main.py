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
    from refcodec.cli import eval as eval_cli

    cli.add_command(eval_cli.eval_cmd)
    from refcodec.cli import export as export_cli

    cli.add_command(export_cli.export)
    from refcodec.cli import decode, encode, info, truncate

    for command in (encode.encode, decode.decode, truncate.truncate, info.info):
        cli.add_command(command)
    from refcodec.cli import verify as verify_cli

    cli.add_command(verify_cli.verify_cmd)
    from refcodec.cli import vectors as vectors_cli

    cli.add_command(vectors_cli.vectors)
    # Each command module registers here, one line each (import inside to keep start-up fast).


_register()
