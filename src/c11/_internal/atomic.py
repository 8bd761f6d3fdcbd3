"""Atomic outputs: write beside the target under a temporary name, then move it into place.

A failure at any point removes the temporary file, so no half-written output is ever left behind,
and an existing file is replaced only when asked (`force`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from c11.errors import OutputExistsError


def _refuse_existing(path: Path) -> None:
    raise OutputExistsError(f"{path} already exists", reason="output-exists")


def publish(tmp: Path, path: Path, *, force: bool) -> None:
    """Move a finished temporary file or folder to `path`, never clobbering unless `force`."""
    if force:
        if path.is_dir() and not path.is_symlink() and tmp.is_dir():
            import shutil

            shutil.rmtree(path)
        os.replace(tmp, path)
        return
    if tmp.is_dir():
        if path.exists() or path.is_symlink():
            _refuse_existing(path)
        os.rename(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: no race between check and move
    except FileExistsError:
        _refuse_existing(path)
    except OSError:
        if path.exists() or path.is_symlink():
            _refuse_existing(path)
        os.rename(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_output(path: Path, *, force: bool = False, mode: int = 0o644, preallocate: int = 0) -> Iterator[BinaryIO]:
    """Yield a file object whose content appears at `path` only if the block completes.

    `preallocate` reserves that many bytes up front (much faster on ext4 and XFS than growing the
    file write by write); the file is cut to what was actually written before it is published.
    """
    path = Path(path)
    if not force and (path.exists() or path.is_symlink()):
        _refuse_existing(path)
    parent = path.parent if str(path.parent) else Path(".")
    import tempfile  # on use (with shutil): writing to stdout needs neither

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    tmp = Path(name)
    try:
        os.fchmod(fd, mode)
        if preallocate > 0:
            _preallocate(fd, preallocate)
        with os.fdopen(fd, "wb", buffering=0) as f:
            yield f
            if preallocate > 0:
                f.truncate(f.tell())
        publish(tmp, path, force=force)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _preallocate(fd: int, size: int) -> None:
    if hasattr(os, "posix_fallocate"):
        with contextlib.suppress(OSError):
            os.posix_fallocate(fd, 0, size)


@contextlib.contextmanager
def atomic_dir(path: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `path` that becomes `path` only if the block completes."""
    path = Path(path)
    if not force and (path.exists() or path.is_symlink()):
        _refuse_existing(path)
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        publish(tmp, path, force=force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644, force: bool = False) -> Path:
    with atomic_output(path, force=force, mode=mode) as f:
        f.write(data)
    return path
