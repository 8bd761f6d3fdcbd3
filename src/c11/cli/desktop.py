"""`c11 desktop`: the desktop app (needs the `desktop` extra: PySide6, imported only here, on use)."""

from __future__ import annotations

import click


@click.command()
@click.option("--encrypt", "encrypt", is_flag=True, help="Add FILEs to Encrypt (the file manager's action).")
@click.option("--server", metavar="URL", help="Server shown on the sign-in page (default: C11_SERVER).")
@click.option("--self-test", "self_test", is_flag=True, help="Encrypt and decrypt a file offscreen, print ok, exit.")
@click.argument("paths", nargs=-1, metavar="[FILE...]")
def desktop(encrypt: bool, server: str | None, self_test: bool, paths: tuple[str, ...]) -> None:
    """Open the desktop app: sign in, encrypt by drag and drop, open .c11 files, manage online documents.

    FILEs open in the running app when there is one (a protected file shows its verified sender first).

    \b
    Examples:
      c11 desktop                       # the window
      c11 desktop report.pdf.c11        # open a protected file
      c11 desktop --encrypt project/    # encrypt a folder
    """
    from c11.errors import UsageError

    try:
        from c11.desktop import app
    except ImportError as e:
        raise UsageError(f"the desktop app needs its extra: pip install 'c11[desktop]' ({e})") from None
    if self_test:
        raise SystemExit(app.self_test())
    raise SystemExit(app.run(paths, encrypt=encrypt, server=server or ""))
