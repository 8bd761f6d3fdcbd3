"""The vector harness of the browser core (web/harness.html) served on loopback, for tests/web/test_core_*.py.

Serves web/dist-harness at /, tests/vectors at /vectors/ and tests/log/vectors at /logvectors/; builds the harness first when its sources changed.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist-harness"
VECTORS = ROOT / "tests" / "vectors"
LOG_VECTORS = ROOT / "tests" / "log" / "vectors"  # C2SP signed-note and checkpoint vectors (docs/log.md §4-§5)
_SOURCES = ("src/core", "src/worker", "src/harness", "harness.html", "vite.harness.config.ts", "package-lock.json")


def _newest_source() -> float:
    times = [0.0]
    for name in _SOURCES:
        p = WEB / name
        times += [f.stat().st_mtime for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return max(times)


def ensure_harness() -> None:
    """Build web/dist-harness when missing or older than its sources (one process at a time)."""
    if shutil.which("npx") is None or not (WEB / "node_modules").is_dir():
        pytest.fail("the web dependencies are not installed (cd web && npm ci; python3 dev.py setup does it)")
    lock = ROOT / ".venv" / ".web-harness.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        page = DIST / "harness.html"
        if page.is_file() and page.stat().st_mtime >= _newest_source():
            return
        subprocess.run(
            ["npx", "vite", "build", "-c", "vite.harness.config.ts", "--logLevel", "error"],
            cwd=WEB,
            check=True,
            timeout=300,
        )


class _Handler(SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/vectors/"):
            return str(VECTORS / clean[len("/vectors/") :])
        if clean.startswith("/logvectors/"):
            return str(LOG_VECTORS / clean[len("/logvectors/") :])
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test server
        pass


@contextmanager
def serve_harness() -> Iterator[str]:
    """The harness and the vectors on 127.0.0.1; yields the base URL."""
    ensure_harness()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(DIST)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def merkle_files() -> list[str]:
    """The RFC 6962 Merkle proof cases, as paths under /vectors/."""
    return sorted(str(p.relative_to(VECTORS)) for p in (VECTORS / "merkle-rfc6962").rglob("*.json"))


@contextmanager
def harness_page(chromium, base: str):  # type: ignore[no-untyped-def]
    """A fresh page on the harness, ready (window.c11harness set)."""
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/harness.html")
    page.wait_for_function("window.c11harness && window.c11harness.ready", timeout=30_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors
