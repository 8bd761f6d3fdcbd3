"""Turns exceptions into one-line messages and exit codes, so the CLI never shows a traceback."""

from __future__ import annotations

import os
import sys

import click

from c11.errors import C11Error


def run(group: click.Group, argv: list[str]) -> int:
    try:
        group.main(args=argv, prog_name="c11", standalone_mode=False)
        return 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.Abort:
        click.echo("c11: aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except C11Error as e:
        click.echo(f"c11: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("c11: interrupted", err=True)
        return 130
    except BrokenPipeError:
        # The reader went away (`c11 decrypt x.c11 | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as e:
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        click.echo(f"c11: error: {e.strerror or e}{where}", err=True)
        return 1
