#!/usr/bin/env python3
"""Set up everything c11 needs on this machine, then run the server or the test suite.

    python3 dev.py serve [ARGS...]          # venv + deps, then `c11 serve` on embedded defaults
    python3 dev.py test  [PYTEST ARGS...]   # venv + deps + system packages + services, then pytest
    python3 dev.py setup                    # only the set-up; then use .venv/bin/c11

Only the Python standard library is used here, so it works on a fresh machine with Python 3.11+.
System packages come from `deps/apt.txt` (installed with apt-get when run as root), Node packages
from `web/package-lock.json` (npm ci, then `npm run build` into web/dist), Python packages from `pyproject.toml`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"


def say(msg: str) -> None:
    print(f"[dev] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, **kw)


def _stamp(name: str, *files: Path) -> tuple[Path, str]:
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.read_bytes())
    return VENV / f".stamp-{name}", h.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3 to say this
        sys.exit("c11 needs Python 3.11 or newer")
    if not PY.exists():
        say(f"creating virtual environment in {VENV}")
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    stamp, digest = _stamp("pip", ROOT / "pyproject.toml")
    if not stamp.exists() or stamp.read_text() != digest:
        say("installing Python packages (pyproject.toml)")
        run([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
        stamp.write_text(digest)


def ensure_apt() -> None:
    wanted = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "deps" / "apt.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    if not wanted or not shutil.which("dpkg-query"):
        return
    missing = []
    for pkg in wanted:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(pkg)
    if not missing:
        return
    if os.geteuid() != 0:
        say(f"missing system packages (install them as root): {' '.join(missing)}")
        return
    say(f"installing system packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, stdout=subprocess.DEVNULL)


WEB = ROOT / "web"
#: what the browser app's build reads; a change to any of these rebuilds web/dist (docs/web.md).
_WEB_INPUTS = (
    "src",
    "index.html",
    "harness.html",
    "vite.config.ts",
    "vite.harness.config.ts",
    "vite.addin.config.ts",
    "addin",
    "tsconfig.json",
    "package.json",
    "package-lock.json",
    "public",
)


def _web_sources() -> list[Path]:
    files: list[Path] = []
    for name in _WEB_INPUTS:
        path = WEB / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def ensure_npm() -> None:
    """Install the browser app's Node packages (`npm ci`, web/package-lock.json) and build it into web/dist."""
    if not (WEB / "package.json").exists():
        return
    if not shutil.which("npm"):
        say("npm not found: the browser app is not built (c11 serve's start page says how)")
        return
    stamp, digest = _stamp("npm", WEB / "package.json", WEB / "package-lock.json")
    if not (WEB / "node_modules").exists() or not stamp.exists() or stamp.read_text() != digest:
        say("installing Node packages (web/package-lock.json)")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB)
        stamp.write_text(digest)
    sources = _web_sources()
    stamp, digest = _stamp("web-build", *sources)
    digest = hashlib.sha256((digest + "\n".join(str(p) for p in sources)).encode()).hexdigest()
    if not (WEB / "dist" / "index.html").exists() or not stamp.exists() or stamp.read_text() != digest:
        say("building the browser app (web/dist)")
        run(["npm", "run", "--silent", "build"], cwd=WEB, stdout=subprocess.DEVNULL)
        stamp.write_text(digest)


def ensure_test_npm() -> None:
    """Install the Node servers the tests start (deps/npm: Azurite) with `npm ci` from its lock file."""
    deps = ROOT / "deps" / "npm"
    if not (deps / "package.json").exists() or not shutil.which("npm"):
        return
    stamp, digest = _stamp("npm-test", deps / "package.json", deps / "package-lock.json")
    if not (deps / "node_modules").exists() or not stamp.exists() or stamp.read_text() != digest:
        say("installing the tests' Node servers (deps/npm/package-lock.json)")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=deps)
        stamp.write_text(digest)


def ensure_postgres() -> None:
    """Start the machine's PostgreSQL cluster if it is installed but stopped."""
    if not shutil.which("pg_isready"):
        return
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
        return
    etc = Path("/etc/postgresql")
    if etc.is_dir() and shutil.which("pg_ctlcluster"):
        for version in sorted(p.name for p in etc.iterdir()):
            say(f"starting PostgreSQL {version}")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test", "setup"}:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    ensure_venv()
    if cmd in {"test", "setup"}:
        ensure_apt()
    ensure_npm()
    if cmd in {"test", "setup"}:
        ensure_test_npm()
        ensure_postgres()
    if cmd == "setup":
        say(f"ready: {VENV / 'bin' / 'c11'}")
        return 0
    bindir = VENV / "bin"
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    if cmd == "serve":
        return subprocess.call([str(bindir / "c11"), "serve", *rest], env=env)
    args = rest or ["-n", "2", "-q"]
    return subprocess.call([str(PY), "-m", "pytest", *args], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
