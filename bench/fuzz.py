"""Long fuzzing runs of every parser (issue 12): atheris on each target of tests/fuzz/targets.py.

    .venv/bin/python bench/fuzz.py                          # every target, 60 s each
    .venv/bin/python bench/fuzz.py --seconds 600 indoc_pdf  # one target, 10 minutes

The test suite runs the same targets for 200 inputs each (tests/fuzz/test_fuzz.py). Logs, inputs that found new
coverage and findings (<target>-crash-*: an exception that is not a c11 error; -timeout-, -oom-) go to
bench/out/fuzz/; a table of executions and findings is printed at the end, and the exit status is 1 if
anything was found. Copy a fixed finding into tests/fuzz/corpus/<target>/finding-<hash> so the suite
replays it from then on.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "fuzz")]

import run  # noqa: E402  (tests/fuzz/run.py)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help="targets (default: all)")
    ap.add_argument("--seconds", type=float, default=60, help="time per target (default 60)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "fuzz")
    ap.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    ap.add_argument("--rss-mb", type=int, default=1024, help="memory (MB) one input may use")
    args = ap.parse_args()
    argv = [
        *args.targets,
        "--seconds",
        str(args.seconds),
        "--workdir",
        str(args.workdir),
        "--timeout",
        str(args.timeout),
        "--rss-mb",
        str(args.rss_mb),
    ]
    out = io.StringIO()
    with redirect_stdout(out):
        status = run.main(argv)
    rows = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    print(f"{'target':<16} {'runs':>10} {'exec/s':>8} {'s':>6}  result")
    for r in rows:
        if "target" not in r:
            continue
        rate = r["runs"] / r["seconds"] if r["seconds"] else 0
        print(
            f"{r['target']:<16} {r['runs']:>10,} {rate:>8,.0f} {r['seconds']:>6.0f}  "
            f"{'ok' if r['ok'] else 'FINDING: ' + r['finding']}{' ' + ' '.join(r['artifacts']) if r['artifacts'] else ''}"
        )
    total = sum(r.get("runs", 0) for r in rows)
    print(f"{total:,} executions; workdir {args.workdir}")
    (args.workdir / "summary.json").write_text(json.dumps(rows, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
