"""Entry point of the packaged desktop app (PyInstaller): `c11-desktop [--self-test] [--encrypt] [FILE...]`."""

from __future__ import annotations

import sys

from c11.cli.desktop import desktop

if __name__ == "__main__":
    sys.exit(desktop.main(prog_name="c11-desktop", standalone_mode=True))
