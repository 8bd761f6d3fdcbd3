"""The desktop app on the platform (issue 21): readable at 200 % (QT_SCALE_FACTOR=2), drawn on a real X server
(Xvfb), the .desktop files pass desktop-file-validate, and shared-mime-info names application/vnd.c11 for a
.c11 file by its name and, renamed without an extension, by its magic bytes (gio info, as a file manager)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from c11 import files
from c11.keys.identity import Identity

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "desktop"
SHOTS = Path("/tmp/c11-desktop-shots")
SCRIPT = Path(__file__).with_name("shots.py")


def _shots(suffix: str, env: dict[str, str], wrap: list[str] | None = None) -> dict[str, tuple[int, int]]:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    r = subprocess.run(
        [*(wrap or []), sys.executable, str(SCRIPT), str(SHOTS), suffix],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return {n: (int(w), int(h)) for n, w, h in (line.split() for line in r.stdout.splitlines())}


def test_readable_at_200_percent():
    normal = _shots("", {"QT_QPA_PLATFORM": "offscreen"})
    double = _shots("-200", {"QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"})
    assert set(normal) == {"sign-in", "encrypt", "open", "online-documents", "settings"}
    for name, (w, h) in normal.items():
        assert double[name] == (2 * w, 2 * h)  # every pixel doubled: text drawn at twice the size, nothing cut


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run (Debian xvfb) is not installed")
def test_draws_on_a_real_x_server():
    shown = _shots("-xvfb", {"QT_QPA_PLATFORM": "xcb"}, ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24"])
    assert len(shown) == 5 and all(w > 300 and h > 200 for w, h in shown.values())


@pytest.mark.parametrize("name", ["c11.desktop", "c11-encrypt.desktop", "c11-decrypt.desktop"])
def test_desktop_files_validate(name):
    exe = shutil.which("desktop-file-validate")
    if exe is None:
        pytest.skip("desktop-file-validate (Debian desktop-file-utils) is not installed")
    r = subprocess.run([exe, str(DATA / name)], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    text = (DATA / name).read_text()
    assert "Exec=c11 desktop" in text


def test_mime_type_by_name_and_by_magic(tmp_path):
    if shutil.which("update-mime-database") is None or shutil.which("gio") is None:
        pytest.skip("update-mime-database / gio (Debian shared-mime-info, libglib2.0-bin) are not installed")
    data = tmp_path / "share"
    (data / "mime" / "packages").mkdir(parents=True)
    shutil.copy(DATA / "c11-mime.xml", data / "mime" / "packages" / "c11.xml")
    subprocess.run(["update-mime-database", str(data / "mime")], check=True, capture_output=True)
    me = Identity.generate("me@example.com")
    real = tmp_path / "report.pdf.c11"
    real.write_bytes(files.encrypt_bytes(b"%PDF-1.7 not really", [me.public], me))
    renamed = tmp_path / "report"
    shutil.copy(real, renamed)
    message = tmp_path / "message"
    message.write_text(files.encrypt_message("hi", [me.public], me))
    other = tmp_path / "other.bin"
    other.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    env = {**os.environ, "XDG_DATA_HOME": str(data), "XDG_DATA_DIRS": f"{data}:/usr/share"}

    def kind(path: Path) -> str:
        r = subprocess.run(
            ["gio", "info", "-a", "standard::content-type", str(path)], env=env, capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.split("standard::content-type:")[1].strip()

    assert kind(real) == "application/vnd.c11"
    assert kind(renamed) == "application/vnd.c11"  # no extension: the magic bytes decide
    assert kind(message) == "application/vnd.c11.armored"
    assert kind(other) != "application/vnd.c11"


def test_self_test_round_trips_through_the_app():
    """`c11 desktop --self-test`: what the packaged build runs (packaging/desktop/build.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "desktop", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0 and r.stdout.startswith("c11 desktop self-test: ok"), r.stdout + r.stderr


def test_bench_smoke():
    """bench/desktop.py runs end to end on a small file (its figures come from the full run: docs/desktop.md)."""
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "desktop.py"), "--size-mib", "4", "--runs", "1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout[r.stdout.index("{") :])
    assert report["size_mib"] == 4 and report["app_wall_s"] > 0 and report["cli_wall_s"] > 0
    assert report["event_loop_max_ms"] is None or report["event_loop_max_ms"] >= 0


FILE_OPEN = """
import sys
from pathlib import Path
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from c11.desktop.app import FileOpenFilter
from c11.desktop.window import MainWindow

app = QApplication(sys.argv[:1])
window = MainWindow()
window.show()
opener = FileOpenFilter(window)  # kept: an event filter must outlive its installation
app.installEventFilter(opener)
window.session = object()  # signed in (only its presence matters to routing)
QApplication.sendEvent(app, QFileOpenEvent(sys.argv[1]))
app.processEvents()
print([str(p) for p in window.encrypt_page.paths()], window.tabs.currentWidget() is window.encrypt_page)
window.session = None
"""


def test_macos_file_open_event_reaches_the_window(tmp_path):
    """macOS hands a double-clicked file to the app as a QFileOpenEvent (no argument): it lands in the window (a
    fresh process: the event goes to the application object, which other tests' windows share)."""
    plain = tmp_path / "dropped-on-the-dock.txt"
    plain.write_text("x")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, "-c", FILE_OPEN, str(plain)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"['{plain}'] True"
