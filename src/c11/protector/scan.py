"""A discovery scan of one connection: every object listed page by page, read (bounded) and classified, and a
report of counts per detector and folder and of the files with findings, never the matched text itself
(docs/protector.md#scan-reports)."""

from __future__ import annotations

import builtins
import contextlib
import csv
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from c11.protector.detect import DetectRules, Findings, classify, classify_name
from c11.protector.storage import ObjectInfo, Storage, StorageError, read_all

#: masked examples kept per file and detector in a report
EXAMPLES_PER_DETECTOR = 3
REPORT_VERSION = 1


@dataclass
class FileFinding:
    """One file with findings, as a report shows it: counts, and masked examples with their keyed hashes."""

    key: str
    size: int
    kind: str
    counts: dict[str, int]
    examples: list[dict[str, str]]
    skipped: str | None = None

    @property
    def folder(self) -> str:
        parent = str(PurePosixPath(self.key).parent)
        return "" if parent == "." else parent

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "folder": self.folder,
            "size": self.size,
            "kind": self.kind,
            "detectors": self.counts,
            "examples": self.examples,
        }
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass
class ScanReport:
    """Counts of a scan: objects and bytes read, files with findings, matches and files per detector, files
    with findings per folder and detector, objects skipped by reason, and the files with findings."""

    connection: str
    prefix: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime | None = None
    objects: int = 0
    bytes: int = 0
    matches: Counter[str] = field(default_factory=Counter)
    files_per_detector: Counter[str] = field(default_factory=Counter)
    folders: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    files: list[FileFinding] = field(default_factory=list)

    def add(self, info: ObjectInfo, found: Findings, key: builtins.bytes) -> None:
        """Count one classified object (`key`: the scan key of the examples' fingerprints)."""
        self.objects += 1
        self.bytes += info.size
        if found.skipped:
            self.skipped[found.skipped.split(":")[0]] += 1
        if not found:
            return
        counts = found.counts
        self.matches.update(counts)
        self.files_per_detector.update(counts.keys())
        ff = FileFinding(info.key, info.size, found.kind, counts, _examples(found, key), found.skipped)
        self.folders.setdefault(ff.folder, Counter()).update(counts.keys())
        self.files.append(ff)

    def failed(self, info: ObjectInfo, reason: str) -> None:
        """Count an object that could not be read."""
        self.objects += 1
        self.skipped[f"unreadable: {reason}"[:120]] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "connection": self.connection,
            "prefix": self.prefix,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
            "objects": self.objects,
            "bytes": self.bytes,
            "files_with_findings": len(self.files),
            "detectors": {
                d: {"matches": self.matches[d], "files": self.files_per_detector[d]} for d in sorted(self.matches)
            },
            "folders": {f: dict(sorted(c.items())) for f, c in sorted(self.folders.items())},
            "skipped": dict(sorted(self.skipped.items())),
            "files": [f.to_json() for f in sorted(self.files, key=lambda f: f.key)],
        }

    def write_csv(self, out: IO[str]) -> None:
        """One row per file and detector: folder, key, size, detector, count, masked examples, fingerprints."""
        w = csv.writer(out)
        w.writerow(["folder", "key", "size", "detector", "count", "examples", "fingerprints"])
        for f in sorted(self.files, key=lambda f: f.key):
            for det, n in f.counts.items():
                ex = [e for e in f.examples if e["detector"] == det]
                w.writerow(
                    [
                        _cell(f.folder),
                        _cell(f.key),
                        f.size,
                        det,
                        n,
                        _cell("; ".join(e["masked"] for e in ex)),
                        " ".join(e["fingerprint"] for e in ex),
                    ]
                )


def _cell(s: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (an object key is chosen by whoever wrote it)."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def _examples(found: Findings, key: bytes) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    per: Counter[str] = Counter()
    seen: set[str] = set()
    for m in found.matches:
        fp = m.fingerprint(key)
        if per[m.detector] >= EXAMPLES_PER_DETECTOR or fp in seen:
            continue
        seen.add(fp)
        per[m.detector] += 1
        out.append({"detector": m.detector, "kind": m.kind, "masked": m.masked(), "fingerprint": fp})
    return out


def scan_key(folder: Path) -> bytes:
    """The protector's key of report fingerprints (`scan.key` in its folder, made on first use, owner-only)."""
    path = folder / "scan.key"
    with contextlib.suppress(FileNotFoundError):
        data = path.read_bytes()
        if len(data) == 32:
            return data
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def scan(
    storage: Storage,
    connection: str,
    *,
    rules: DetectRules,
    key: bytes,
    prefix: str = "",
    jobs: int = 8,
    progress: Callable[[ScanReport], None] | None = None,
    progress_every: float = 1.0,
) -> ScanReport:
    """Scan the objects under `prefix`: `jobs` objects are read and classified at a time, the listing is consumed
    as it goes (never held whole). `progress(report)` is called at most every `progress_every` seconds."""
    report = ScanReport(connection=connection, prefix=prefix)
    last = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: list[tuple[ObjectInfo, Future[Findings]]] = []
        for info in storage.list(prefix):
            pending.append((info, pool.submit(_classify_one, storage, info, rules)))
            if len(pending) >= jobs * 4:
                _drain(report, pending[: jobs * 2], key)
                del pending[: jobs * 2]
            if progress and time.monotonic() - last >= progress_every:
                last = time.monotonic()
                progress(report)
        _drain(report, pending, key)
    report.finished = datetime.now(UTC)
    if progress:
        progress(report)
    return report


def _classify_one(storage: Storage, info: ObjectInfo, rules: DetectRules) -> Findings:
    if rules.skipped(info.key):
        return Findings(skipped="skip pattern")
    if info.size > rules.max_size:
        return classify_name(info.key, info.size, rules)
    data = read_all(storage, info.key, limit=rules.max_size)
    return classify(info.key, data, rules)


def _drain(report: ScanReport, done: list[tuple[ObjectInfo, Future[Findings]]], key: bytes) -> None:
    for info, fut in done:
        try:
            report.add(info, fut.result(), key)
        except StorageError as e:
            report.failed(info, type(e).__name__)
        except Exception as e:  # a document a reader chokes on: counted, and the scan goes on
            report.failed(info, f"{type(e).__name__} while reading")


def iter_report_lines(report: ScanReport) -> Iterator[str]:
    """A short human summary of `report`."""
    yield (
        f"{report.connection}: {report.objects} objects ({report.bytes / 1e6:.1f} MB) scanned, "
        f"{len(report.files)} with findings"
    )
    for det in sorted(report.matches):
        yield f"  {det:<14} {report.matches[det]:>7} matches in {report.files_per_detector[det]} files"
    if report.folders:
        yield "  folders with findings:"
        for folder, c in sorted(report.folders.items(), key=lambda kv: -sum(kv[1].values()))[:20]:
            yield f"    {folder or '/'}: " + ", ".join(f"{d} {n}" for d, n in sorted(c.items()))
    for reason, n in sorted(report.skipped.items()):
        yield f"  skipped ({reason}): {n}"
