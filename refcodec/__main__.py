"""`python -m refcodec ...` runs the `refcodec` command (refcodec.cli.main)."""

from refcodec.cli.main import cli

cli(prog_name="refcodec")
