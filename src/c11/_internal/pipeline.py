"""An ordered pipeline of batches: the caller's thread reads and writes, worker threads compute.

The STREAM code (c11.format.stream) reads a batch of whole segments into a slot's input buffer, has it
sealed or opened into the slot's output buffer (AES-GCM in pyca/cryptography and SHA-256 in hashlib release
the GIL on buffers this size, so the batches run on every core at once), and takes the results back strictly
in submission order. Nothing of a batch is handed on before its task has finished without an exception.

Threads: one worker fewer than the cores this process may use; the caller's thread is the last worker.
Instead of sleeping until the oldest batch is done it runs queued batches itself (work stealing), so a
two-core machine runs two threads, not three fighting over two cores. Slots are reused (no allocation per
batch) and at most `2 × cores + 2` exist: memory stays constant whatever the input size.

A task submitted with `inline=True` while nothing is in flight runs at once on the caller's thread: an
input of one batch (messages, small files) starts no thread at all.
"""

from __future__ import annotations

import mmap
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: threads computing at most, the caller's included (each batch is ~1 MiB; more only add contention)
MAX_THREADS = 4


def thread_count() -> int:
    """The cores this process may run on, from 1 to MAX_THREADS."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_THREADS))


def aligned_buffer(size: int) -> memoryview:
    """A writable zeroed buffer that starts on a page boundary (anonymous memory, freed with its last view).

    The kernel copies into a buffer that is not 64-byte aligned (a large bytearray starts 16 bytes into its
    pages) about three times slower: `pread` of a cached file into it cost more than sealing it."""
    return memoryview(mmap.mmap(-1, max(1, size)))[:size]


class Slot:
    """An input and an output buffer, reused from batch to batch (page-aligned: see `aligned_buffer`)."""

    __slots__ = ("inp", "out")

    def __init__(self, in_size: int, out_size: int) -> None:
        self.inp = aligned_buffer(in_size)
        self.out = aligned_buffer(out_size)


class _Job(Generic[T]):
    """fn(*args), run once by whichever thread claims it first."""

    __slots__ = ("_fn", "_args", "_claim", "_done", "_value", "_error")

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        self._fn, self._args = fn, args
        self._claim = threading.Lock()
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Run it unless another thread has claimed it (then return at once)."""
        if not self._claim.acquire(blocking=False):
            return
        try:
            self._value = self._fn(*self._args)
        except Exception as e:  # noqa: BLE001 - handed back to the caller, in order
            self._error = e
        except BaseException as e:  # KeyboardInterrupt in the caller's thread: also raised at once
            self._error = e
            raise
        finally:
            self._args = ()
            self._done.set()

    def cancel(self) -> None:
        """Make sure it never starts; wait if it is running."""
        if self._claim.acquire(blocking=False):
            self._done.set()
        self._done.wait()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _work(jobs: queue.SimpleQueue[_Job[Any] | None]) -> None:
    while (job := jobs.get()) is not None:
        job.run()


class Pipeline(Generic[T]):
    """Batches in flight, collected in order. Use as a context manager: leaving it cancels what has not
    started and waits for what runs, so no thread touches a slot after it is closed."""

    def __init__(self, in_size: int, out_size: int, threads: int | None = None) -> None:
        self._sizes = (in_size, out_size)
        self._threads = threads or thread_count()
        self._limit = 2 * self._threads + 2
        self._made = 0
        self._free: list[Slot] = []
        self._pending: deque[tuple[Slot, _Job[T], Any]] = deque()
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> Pipeline[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take(self) -> Slot | None:
        """A free slot, or None when every slot is in flight (`pop` one first)."""
        if self._free:
            return self._free.pop()
        if self._made < self._limit:
            self._made += 1
            return Slot(*self._sizes)
        return None

    def release(self, slot: Slot) -> None:
        """Give back a slot whose output has been used."""
        self._free.append(slot)

    def submit(self, slot: Slot, tag: Any, inline: bool, fn: Callable[..., T], *args: Any) -> None:
        """Run fn(*args) for `slot`: queued for the workers, or here and now when `inline` and nothing is in
        flight (or on a single core)."""
        job = _Job(fn, args)
        self._pending.append((slot, job, tag))
        if (inline and len(self._pending) == 1) or self._threads == 1:
            job.run()
            return
        if not self._workers:
            for _ in range(self._threads - 1):
                t = threading.Thread(target=_work, args=(self._queue,), name="c11-stream", daemon=True)
                t.start()
                self._workers.append(t)
        self._queue.put(job)

    def busy(self) -> bool:
        return bool(self._pending)

    def pending_slots(self) -> list[tuple[Slot, Any]]:
        """The slots in flight, oldest first, with their tags (their tasks may still run)."""
        return [(slot, tag) for slot, _, tag in self._pending]

    def pop(self) -> tuple[Slot, T, Any]:
        """The oldest batch: (slot, its task's result, its tag); raises the task's exception. While it is not
        done, this thread runs queued batches itself, oldest first."""
        slot, job, tag = self._pending[0]
        for _, other, _ in self._pending:
            if job.done():
                break
            other.run()
        self._pending.popleft()
        return slot, job.result(), tag

    def close(self) -> None:
        for _, job, _ in self._pending:
            job.cancel()
        self._pending.clear()
        for _ in self._workers:
            self._queue.put(None)
        for t in self._workers:
            t.join()
        self._workers.clear()
