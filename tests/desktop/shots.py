"""Screenshots of every tab in a fresh process (run by test_desktop_platform.py): `python shots.py OUT_DIR SUFFIX`.

Run under Xvfb with QT_QPA_PLATFORM=xcb it grabs the real X screen; with QT_SCALE_FACTOR=2 it shows the app at
200 %. Prints `name width height` per tab."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from c11.desktop.window import MainWindow


def main(out: Path, suffix: str) -> None:
    app = QApplication(sys.argv[:1])
    window = MainWindow("https://c11.example.com")
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        for _ in range(20):
            app.processEvents()
        name = window.tabs.widget(i).accessibleName().lower().replace(" ", "-")
        screen = window.screen()
        pixmap = screen.grabWindow(window.winId()) if app.platformName() == "xcb" else window.grab()
        pixmap.save(str(out / f"{name}{suffix}.png"))
        print(name, pixmap.width(), pixmap.height(), flush=True)
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
