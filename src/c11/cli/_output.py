"""Shared CLI output helpers: JSON, human dates, progress bars on a terminal."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator

import click

PROGRESS_THRESHOLD = 8 << 20


def emit_json(obj: object, err: bool = False) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True), err=err)


def when(ts: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
    except (OverflowError, OSError, ValueError):  # a time no calendar holds (a hostile or damaged file)
        return f"{ts} (out of range)"


@contextlib.contextmanager
def progress(total: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    """A Rich progress bar on stderr for large work, only when stderr is a terminal."""
    if not sys.stderr.isatty() or (total is not None and total < PROGRESS_THRESHOLD):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def refuse_binary_tty(armor: bool) -> None:
    if not armor and sys.stdout.isatty():
        raise click.UsageError("refusing to write binary data to the terminal: use -o FILE, redirect, or --armor")
