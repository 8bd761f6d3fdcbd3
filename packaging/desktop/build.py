#!/usr/bin/env python3
"""Build the desktop app as a PyInstaller one-folder bundle for Linux, then smoke-test the build.

    python packaging/desktop/build.py [--out DIR] [--keep-work]

Needs the `desktop-build` extra (PyInstaller) next to `desktop`. The bundle holds the SDK (c11 without its
server, shard store, notifications and web plumbing), PySide6's QtCore/QtGui/QtWidgets/QtNetwork and the
offscreen/xcb platform plugins. After building, it runs `dist/c11-desktop/c11-desktop --self-test` (offscreen:
a 3 MiB file encrypted and decrypted inside the built app) and prints the bundle's size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: c11 components the desktop app never runs (a server's, or a front end's it does not use)
LEFT_OUT = ("c11.server", "c11.shardstore", "c11.notify", "c11._web", "c11.enterprise", "c11.protector")
#: packages of the server that PyInstaller must not follow from a stray import
EXCLUDED = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "boto3", "botocore", "jinja2", "msal")


def hidden_imports() -> list[str]:
    """Every module of c11 the app may import lazily (importlib), less the server's."""
    mods = []
    for p in sorted((ROOT / "src" / "c11").rglob("*.py")):
        parts = list(p.relative_to(ROOT / "src").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not name.startswith(LEFT_OUT):
            mods.append(name)
    return mods


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "desktop")
    ap.add_argument("--keep-work", action="store_true", help="keep PyInstaller's work folder")
    args = ap.parse_args()
    out: Path = args.out
    work = out / "work"
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--onedir",
        "--name",
        "c11-desktop",
        "--distpath",
        str(out / "dist"),
        "--workpath",
        str(work),
        "--specpath",
        str(out),
        "--paths",
        str(ROOT / "src"),
        "--log-level",
        "WARN",
        *(a for m in hidden_imports() for a in ("--hidden-import", m)),
        *(a for m in EXCLUDED for a in ("--exclude-module", m)),
        "--collect-data",
        "c11",
        str(HERE / "entry.py"),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    built = time.perf_counter() - t0
    app = out / "dist" / "c11-desktop"
    exe = app / "c11-desktop"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([str(exe), "--self-test"], env=env, capture_output=True, text=True, timeout=300, check=False)
    print(r.stdout.strip() or r.stderr.strip())
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    size = du(app)
    print(f"built {app} in {built:.0f} s: {size / 2**20:.0f} MiB on disk ({sum(1 for _ in app.rglob('*'))} files)")
    if r.returncode != 0:
        raise SystemExit(f"the built app's self-test failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")


if __name__ == "__main__":
    main()
