"""Smoke test of bench/core_speed.py (issue 17): the benchmark runs end to end on 1 MiB and prints every section
and target row. The figures themselves are only meaningful at full size: `python bench/core_speed.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "core_speed.py"


def test_core_speed_bench_runs_and_reports_every_target(tmp_path):
    args = ["--smoke", "--size-mib", "1", "--small-mib", "1", "--runs", "1", "--startup-runs", "1", "--pause", "0"]
    p = subprocess.run(
        [sys.executable, str(BENCH), *args, "--dir", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for heading in ("## Pipe mode", "## File to file", "## Peak memory", "## Start-up", "## SDK on in-memory streams"):
        assert heading in out
    for row in (
        "| age -e / c11 encrypt |",
        "| age -d / c11 decrypt |",
        "| c11 encrypt / machine limit |",
        "| c11 decrypt / machine limit |",
        "| c11 encrypt / cat |",
        "| c11 decrypt / cat |",
        "| c11 --help |",
        "| c11 encrypt (empty stdin) |",
        "| files.encrypt |",
        "| files.decrypt |",
    ):
        assert row in out
