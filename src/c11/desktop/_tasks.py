"""Background work for the desktop app: a `Task` runs one SDK call on Qt's thread pool, reports progress
(throttled) and errors as signals, and can be cancelled (the SDK then raises and writes nothing)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from c11.errors import C11Error

#: Seconds between two progress signals (the UI repaints at most this often).
PROGRESS_EVERY = 0.05

Work = Callable[[Callable[[int], None], Callable[[], bool]], Any]


class _Signals(QObject):
    """Plain values only cross threads (PySide6 has mishandled Python objects in queued signals): the result
    stays on the task, `finished` only says it is there."""

    progress = Signal(float)  # bytes done so far (a float: exact to 2**53, beyond a 32-bit int)
    finished = Signal()
    failed = Signal(str)


class Task(QRunnable):
    """`work(progress, cancelled)` on a pool thread; `signals.finished(result)` or `signals.failed(message)`."""

    def __init__(self, work: Work) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = _Signals()
        self._work = work
        self.result: Any = None
        self._cancel = threading.Event()
        self._done = 0
        self._last = 0.0
        self.ended = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, n: int) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY:
            self._last = now
            self.signals.progress.emit(float(self._done))

    def run(self) -> None:
        try:
            result = self._work(self._progress, self._cancel.is_set)
        except C11Error as e:
            self.signals.failed.emit(str(e))
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            self.signals.failed.emit(f"{where}{e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - a worker must report, never die silently
            self.signals.failed.emit(f"unexpected error ({type(e).__name__}): {e}")
        else:
            self.result = result
            self.signals.progress.emit(float(self._done))
            self.signals.finished.emit()
        finally:
            self.ended.set()


def start(pool: QThreadPool, work: Work, on_done: Callable[[Any], None], on_fail: Callable[[str], None]) -> Task:
    """Run `work` on `pool`, calling back on the UI thread."""
    task = Task(work)
    task.signals.finished.connect(lambda: on_done(task.result))
    task.signals.failed.connect(on_fail)
    pool.start(task)
    return task
