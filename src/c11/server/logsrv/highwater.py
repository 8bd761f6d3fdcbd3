"""The log's high-water mark: the largest checkpoint this log is known to have signed, kept outside the database.

A restored database backup may hold fewer entries than clients have seen. The server refuses to sign a
checkpoint that does not extend the high-water mark (docs/server.md, "Backup and restore"); the mark is a file
(`C11_LOG_HIGHWATER_FILE`, default `<data-dir>/log-highwater`) written whenever a larger checkpoint is signed
or a client or witness reports one. Writers serialise on an advisory lock; the file is replaced atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from c11.log.checkpoint import Checkpoint

#: A checkpoint note is a few hundred bytes; a larger file is not ours.
MAX_NOTE = 8192
#: In the data folder: this server was restored from a backup and must not append or sign past its tree until
#: the operator runs `c11 db activate` (docs/server.md, "Backup and restore").
INACTIVE_FILE = "log-inactive"
#: Most distinct disagreeing reports kept in `<mark>.reports` (evidence for the operator, not a freeze).
MAX_REPORTS = 64


@dataclass(frozen=True)
class Mark:
    """The recorded checkpoint (already verified by whoever wrote it) and its signed note."""

    checkpoint: Checkpoint
    note: bytes


class HighWater:
    """The high-water mark file at `path`."""

    def __init__(self, path: Path, inactive: Path | None = None) -> None:
        self.path = path
        #: A checkpoint of this log that the database's tree contradicts (written once, removed by the operator).
        self.fork_path = path.with_name(path.name + ".fork")
        #: Checkpoints reported to an active server that disagree with its tree (JSON lines; alerts, no freeze).
        self.reports_path = path.with_name(path.name + ".reports")
        #: The "restored, not activated" marker (see INACTIVE_FILE), if this server has one.
        self.inactive_path = inactive

    def stamp(self) -> tuple[tuple[int, int] | None, ...]:
        """(inode, mtime in ns) of the files, to notice other processes' writes cheaply."""
        paths = [self.path, self.fork_path, *([self.inactive_path] if self.inactive_path else [])]
        return tuple(_stamp(p) for p in paths)

    def inactive(self) -> str | None:
        """Why this restored server is not active yet (the marker's text), or None."""
        if self.inactive_path is None:
            return None
        try:
            with open(self.inactive_path, "rb") as f:
                return f.read(MAX_NOTE).decode("utf-8", "replace").strip() or "restored from a backup"
        except FileNotFoundError:
            return None

    def reports(self) -> list[dict[str, str]]:
        """The disagreeing reports recorded (oldest first)."""
        try:
            with open(self.reports_path, "rb") as f:
                lines = f.read(MAX_REPORTS * (2 * MAX_NOTE + 256)).splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict):
                found.append({str(k): str(v) for k, v in d.items()})
        return found

    def record_report(self, note: bytes, verdict: str, at: str) -> bool:
        """Keep a disagreeing report (deduplicated, at most MAX_REPORTS); returns whether it was new."""
        with self._locked():
            known = self.reports()
            text = note.decode("utf-8", "replace")
            if any(r.get("note") == text for r in known) or len(known) >= MAX_REPORTS:
                return False
            known.append({"at": at, "verdict": verdict, "note": text})
            _write(self.reports_path, b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in known))
            return True

    def read(self) -> Mark | None:
        """The recorded mark, or None (no file yet). A damaged file is a ValueError."""
        return _read(self.path)

    def read_fork(self) -> Mark | None:
        """The recorded evidence of a fork, or None."""
        return _read(self.fork_path)

    def record_fork(self, note: bytes) -> None:
        """Keep `note` (a verified checkpoint the tree contradicts) as evidence; the first one stays."""
        with self._locked():
            if not self.fork_path.exists():
                _write(self.fork_path, note)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def raise_to(self, checkpoint: Checkpoint, note: bytes, *, force: bool = False) -> bool:
        """Record `note` if its tree is larger than the recorded one (or `force`: evidence of a fork);
        returns whether the file changed."""
        with self._locked():
            try:
                current = self.read()
            except ValueError:
                current = None
            if not force and current is not None and current.checkpoint.size >= checkpoint.size:
                return False
            _write(self.path, note)
            return True


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _read(path: Path) -> Mark | None:
    try:
        with open(path, "rb") as f:
            note = f.read(MAX_NOTE + 1)
    except FileNotFoundError:
        return None
    if len(note) > MAX_NOTE:
        raise ValueError(f"{path} is not a checkpoint note (too long)")
    split = note.rfind(b"\n\n")
    if split < 0:
        raise ValueError(f"{path} is not a checkpoint note")
    try:
        return Mark(Checkpoint.from_text(note[: split + 1]), note)
    except Exception as e:  # ProofError: a damaged file
        raise ValueError(f"{path} is not a checkpoint note ({e})") from None


def _write(path: Path, note: bytes) -> None:
    """Replace `path` with `note` durably: a fresh, exclusively created temporary file (never one someone planted,
    nor a link), fsynced, renamed over `path`, then the folder fsynced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(note)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
