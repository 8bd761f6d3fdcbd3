"""Cyclic garbage collection on the GUI thread only.

PySide crashes when the collector frees Qt objects on a worker thread (seen in the tests: a segmentation fault while
a server thread collected), so while the app runs automatic collection is off and a timer collects here instead."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """Runs the generations that are due, as the automatic collector would, from the GUI thread's event loop."""

    def __init__(self, parent: QObject, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect each generation whose count is past its threshold."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return
