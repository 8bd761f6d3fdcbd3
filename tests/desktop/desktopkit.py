"""Helpers of the desktop app's tests: waiting for the window's workers, running the real CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

SHOTS = Path("/tmp/c11-desktop-shots")


def finish(qtbot: Any, window: Any, timeout: int = 60_000) -> None:
    """Wait until the window's tasks ended and their signals were delivered."""
    for _ in range(2):  # a finished task's callback may start another (an invitation asked, then encrypting)
        qtbot.waitUntil(lambda: all(t.ended.is_set() for t in window.tasks), timeout=timeout)
        qtbot.wait(100)


def cli(cfg: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real `c11` command with its own config folder `cfg` (offline unless `env` says otherwise)."""
    from srvkit import run_cli

    return run_cli(list(args), cfg, env)


def shot(widget: Any, name: str) -> Path:
    """Save a grab of `widget` to /tmp/c11-desktop-shots/NAME.png (looked at by the engineer)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path))
    return path
