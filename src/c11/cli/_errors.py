"""Turns exceptions into one-line messages and exit codes, so the CLI never shows a traceback."""

from __future__ import annotations

import os
import sys

import click

from c11.errors import C11Error

#: the top-level module of each optional dependency -> the extra of pyproject.toml that installs it
_OPTIONAL = {
    **dict.fromkeys(
        (
            "fastapi",
            "starlette",
            "pydantic",
            "uvicorn",
            "sqlalchemy",
            "alembic",
            "psycopg",
            "argon2",
            "authlib",
            "fastapi_offline",
            "httptools",
            "uvloop",
            "msal",
            "jinja2",
            "boto3",
            "botocore",
            "prometheus_client",
            "dns",
            "pkcs11",
        ),
        "server",
    ),
    **dict.fromkeys(("lxml", "pikepdf", "PIL", "yaml"), "documents"),
    **dict.fromkeys(
        ("smbprotocol", "smbclient", "azure", "google", "keyring", "stdnum", "phonenumbers", "pypdf"), "protector"
    ),
}


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
        from c11._internal.display import one_line  # a message may quote a server or a file

        click.echo(f"c11: error: {one_line(str(e) + _hint(e))}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("c11: interrupted", err=True)
        return 130
    except BrokenPipeError:
        # The reader went away (`c11 decrypt x.c11 | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except ModuleNotFoundError as e:
        extra = _OPTIONAL.get((e.name or "").split(".")[0])
        if extra is None:
            raise
        click.echo(
            f"c11: error: this command needs c11's optional '{extra}' dependencies ({e.name} is not "
            f"installed): pip install 'c11[{extra}]'",
            err=True,
        )
        return 2
    except FileNotFoundError as e:
        # the same words as `c11 encrypt` and `c11 protect` use for a missing input
        click.echo(f"c11: error: {e.filename or 'input'}: no such file or folder", err=True)
        return 2
    except OSError as e:
        what = (e.strerror or str(e)).strip()
        what = what[:1].lower() + what[1:]
        click.echo(f"c11: error: {e.filename}: {what}" if e.filename else f"c11: error: {what}", err=True)
        return 1
    except Exception as e:  # a bug or an outside failure (database down...): one line, details on request
        if os.environ.get("C11_DEBUG"):
            raise
        first = (str(e).strip().splitlines() or [""])[0][:300]
        click.echo(
            f"c11: error: {_describe(e)}{': ' + first if first else ''} (set C11_DEBUG=1 to see the details)", err=True
        )
        return 70


def _hint(e: C11Error) -> str:
    """What to run about an SDK error, in the CLI's words (SDK messages name no command or flag)."""
    from c11.errors import AccessRefusedError, OnlinePolicyError

    if isinstance(e, OnlinePolicyError) and not isinstance(e, AccessRefusedError) and e.server:
        return f" (log in to it: `c11 login --server {e.server}`)"
    return _HINTS.get(getattr(e, "reason", None) or "", "")


_HINTS = {
    "output-exists": " (use --force to overwrite)",
    "no-server": " (--server URL)",
    "public-key-line": ": -i needs your own key file",
    "no-recipients": " (-r/-R; yourself unless --no-self)",
    "bundle-to-folder": " with -o DIR",
    "name-the-bundle": " with -o NAME.c11.zip",
    "name-the-output": ": use -o",
    "rotate-online": " (--online)",
    "rotate-missing-keys": " (with -r, or --remove)",
}


def _describe(e: Exception) -> str:
    """A short name for an unexpected error; database connection failures say so plainly."""
    name = type(e).__name__
    if name == "OperationalError" and type(e).__module__.startswith("sqlalchemy"):
        return "cannot use the database (is it running and is C11_DATABASE_URL right?)"
    if isinstance(e, ModuleNotFoundError) and e.name:
        return f"missing Python module {e.name!r} (is the database URL's driver supported?)"
    return f"unexpected {name}"
