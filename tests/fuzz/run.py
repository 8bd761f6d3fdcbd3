"""Run the atheris fuzz targets of `targets.py`, each for a fixed time, and print what they found.

    .venv/bin/python tests/fuzz/run.py --runs 300                  # the short run (tests/fuzz/test_fuzz.py)
    .venv/bin/python tests/fuzz/run.py --seconds 2                 # every target for 2 s
    .venv/bin/python tests/fuzz/run.py --seconds 300 indoc_pdf     # one target, longer (bench/fuzz.py)

c11 is imported once under atheris' coverage instrumentation; each target then runs in a forked
child (libFuzzer ends the process when it is done), seeded from tests/fuzz/corpus/<target>/ and
writing new inputs to a scratch folder, never to the committed corpus. A finding (an exception that
is not a c11 error, an input slower than --timeout seconds, or more than --rss-mb of memory) is
saved as <workdir>/<target>-crash-* and makes the exit status 1. The last line per target is JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Modules the targets reach, imported (and instrumented) before forking.
_MODULES = [
    "c11.files",
    "c11.format.header",
    "c11.format.armor",
    "c11.format.bundle",
    "c11.format.envelope",
    "c11.groupkey",
    "c11.format.online",
    "c11.format.stream",
    "c11.keys.keyfile",
    "c11.keys.publickey",
    "c11.keys.cloudkey",
    "c11.log.checkpoint",
    "c11.log.entries",
    "c11.log._note",
    "c11.indoc.parts",
    "c11.indoc.api",
    "c11.indoc.docx",
    "c11.indoc.xlsx",
    "c11.indoc.pdf",
    "c11.indoc.image",
    "c11.indoc.structured",
    "c11.indoc._ooxml",
    "c11.indoc.selectors",
    "c11.indoc._mediacommon",
]


def _load() -> None:
    import importlib

    import atheris

    with atheris.instrument_imports(include=["c11"]):
        for m in _MODULES:
            importlib.import_module(m)


def _child(name: str, seconds: float, work: Path, args: argparse.Namespace) -> None:
    import atheris
    import targets

    fd = os.open(work / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.dup2(fd, 1)
    scratch = work / f"{name}-corpus"
    scratch.mkdir(exist_ok=True)
    seeds = targets.CORPUS / name

    def one(data: bytes) -> None:
        try:
            targets.run(name, data)
        except BaseException:
            # libFuzzer does not save the input of a Python exception: keep it for the report.
            digest = hashlib.sha1(data).hexdigest()
            (work / f"{name}-crash-{digest}").write_bytes(data)
            raise

    argv = [
        sys.argv[0],
        # a fixed number of inputs (seeds included) for the short run, else whole seconds of fuzzing
        f"-runs={args.runs}" if args.runs else f"-max_total_time={max(1, round(seconds))}",
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.rss_mb}",
        f"-max_len={args.max_len}",
        "-print_final_stats=1",
        f"-artifact_prefix={work}/{name}-",
        str(scratch),
        str(seeds),
    ]
    atheris.Setup(argv, one)
    atheris.Fuzz()


def _summary(name: str, status: int, log: Path, work: Path, took: float) -> dict:
    text = log.read_text(errors="replace") if log.exists() else ""
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text) or re.findall(r"Done (\d+) runs", text)
    crashes = (
        sorted(str(p) for p in work.glob(f"{name}-crash-*"))
        + sorted(str(p) for p in work.glob(f"{name}-timeout-*"))
        + sorted(str(p) for p in work.glob(f"{name}-oom-*"))
    )
    error = ""
    if status != 0:
        found = re.findall(
            r"^(?:=== Uncaught Python exception: ===\n)?((?:\w+\.)*\w+(?:Error|Exception|Warning)\b.*)$", text, re.M
        )
        error = found[-1][:300] if found else (text.strip().splitlines() or [""])[-1][:300]
    return {
        "target": name,
        "ok": status == 0,
        "runs": int(runs[-1]) if runs else 0,
        "seconds": round(took, 1),
        "finding": error,
        "artifacts": crashes,
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    import targets

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help=f"targets to run (default: all): {', '.join(targets.TARGETS)}")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per target")
    ap.add_argument("--runs", type=int, help="inputs per target (seeds included) instead of --seconds")
    ap.add_argument("--workdir", type=Path, help="where logs, new inputs and findings go (default: a temp folder)")
    ap.add_argument("--timeout", type=int, default=10, help="seconds one input may take before it is a finding")
    ap.add_argument("--rss-mb", type=int, default=1024, help="memory (MB) above which an input is a finding")
    ap.add_argument("--max-len", type=int, default=200_000, help="largest input the fuzzer makes")
    args = ap.parse_args(argv)
    names = args.targets or list(targets.TARGETS)
    unknown = [n for n in names if n not in targets.TARGETS]
    if unknown:
        ap.error(f"unknown targets: {unknown}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="c11-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    targets.quiet_environment()
    _load()
    failed = 0
    for name in names:
        for stale in [*work.glob(f"{name}-crash-*"), *work.glob(f"{name}-timeout-*"), *work.glob(f"{name}-oom-*")]:
            stale.unlink()  # findings of an earlier run in the same folder
        started = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _child(name, args.seconds, work, args)
            finally:
                os._exit(3)
        _, raw = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(raw)
        result = _summary(name, status, work / f"{name}.log", work, time.monotonic() - started)
        failed += not result["ok"]
        print(json.dumps(result), flush=True)
    print(json.dumps({"targets": len(names), "failed": failed, "workdir": str(work)}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
