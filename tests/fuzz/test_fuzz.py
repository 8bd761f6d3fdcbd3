"""Fuzzing (issue 12): every seed and past finding replays to a typed c11 error or success, and a short
atheris run of every target (tests/fuzz/run.py: 200 inputs each, seeds included, about 8 s of CPU for all 23)
finds nothing. The slow-marked run fuzzes each target for 15 s; long runs: bench/fuzz.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import targets

HERE = Path(__file__).resolve().parent
RUNS = ["--runs", "200"]  # inputs per target, seeds included: the short run of the default suite
LONG = ["--seconds", "15"]  # of fuzzing per target: the slow-marked run (not in the default run)


def test_every_target_has_seeds():
    for name in targets.TARGETS:
        assert targets.corpus(name), f"tests/fuzz/corpus/{name}/ is empty (run tests/fuzz/make_corpus.py)"


@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_corpus_replays_to_typed_errors(name: str):
    """Seeds and saved findings (finding-*) raise nothing but c11 errors; valid seeds open."""
    targets.quiet_environment()
    for path in targets.corpus(name):
        targets.run(name, path.read_bytes())  # anything but a C11Error propagates and fails


def test_protected_seeds_open():
    """The seeds reach deep: a protected seed opens with the corpus key (so mutations test real checks)."""
    from c11.indoc import api

    for kind in ("docx", "xlsx", "pdf", "png", "jpeg", "json", "yaml", "csv", "md"):
        res = api.unprotect_document(
            (targets.CORPUS / f"indoc_{kind}" / f"protected.{kind}").read_bytes(),
            [targets.identity()],
            format="." + kind,
        )
        assert res.opened and not res.closed, kind


@pytest.mark.parametrize(
    "budget",
    [
        pytest.param(RUNS, id="runs"),  # the short run of the default suite
        pytest.param(LONG, id="seconds", marks=pytest.mark.slow),  # `pytest -m slow tests/fuzz`; more: bench/fuzz.py
    ],
)
def test_short_atheris_run_finds_nothing(tmp_path: Path, budget: list[str]):
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[test]')")
    p = subprocess.run(
        [sys.executable, str(HERE / "run.py"), *budget, "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60 * 10 + 15 * len(targets.TARGETS),
    )
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    per_target = {r["target"]: r for r in results if "target" in r}
    assert set(per_target) == set(targets.TARGETS), p.stdout + p.stderr
    findings = {n: (r["finding"], r["artifacts"]) for n, r in per_target.items() if not r["ok"]}
    assert not findings, findings
    assert all(r["runs"] > 0 for r in per_target.values()), per_target
    assert p.returncode == 0, p.stderr[-2000:]
