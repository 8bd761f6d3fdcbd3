"""The short version of bench/protector.py in the suite: SeaweedFS (S3), two `c11 protector worker` processes on
the real queue scan 200 small objects (every planted SSN and card found, nothing else) and protect 2 files."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import protector as bench  # noqa: E402


def test_bench_short(tmp_path: Path, pg_schemas) -> None:  # pg_schemas: skip (or fail on CI) without PostgreSQL
    results = bench.run(200, 2, 1, [2], tmp_path)
    scan, protect = results
    assert scan["planted"] == 2 and scan["missed"] == 0 and scan["false_positives"] == 0
    assert scan["states"] == {"reported": 2, "skipped": 198}
    assert protect["states"] == {"protected": 2}  # and bench.protect checked each .c11 opens to its original
