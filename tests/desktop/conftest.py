"""Fixtures of the desktop app's tests (issue 21): Qt's offscreen platform, a main window, key files.

The real server fixtures come from tests/server (srvkit) and tests/registry (regkit)."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shards"))

pytest.importorskip("PySide6", reason="the desktop extra (PySide6) is not installed")

from c11.keys import keyfile  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread() -> Iterator[None]:
    """No automatic collection while a test runs (a server thread collecting Qt objects crashes PySide, as
    c11.desktop._gc explains); the test's garbage is collected here, on the GUI thread."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was:
            gc.enable()


@pytest.fixture
def window(qtbot) -> Iterator[object]:  # noqa: ANN001
    from c11.desktop.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.wait()


@pytest.fixture
def me(tmp_path: Path) -> tuple[Identity, Path]:
    """An identity and its key file (no passphrase)."""
    identity = Identity.generate("me@example.com")
    path = tmp_path / "me.key"
    keyfile.write(path, identity, None)
    return identity, path
