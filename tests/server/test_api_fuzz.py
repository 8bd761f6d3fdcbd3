"""Hostile input at the API: schemathesis against the running server's OpenAPI document (docs/server.md
"Operations"), anonymous and with a verified user's bearer token, bounded in time (bench/api_fuzz.py runs
the long version).

Asserted: no 5xx; every answer has a documented status, content type and a body that matches its schema;
every error (4xx) outside SCIM and the emailed-link pages is an RFC 9457 problem document whose `status` is
the answer's.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import accountkit
import pytest
from srvkit import RunningServer, server_config, start_server

#: seconds of fuzzing per run (the suite's bounded version; two runs)
SECONDS = int(os.environ.get("C11_TEST_FUZZ_SECONDS", "12"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
#: the logout would end the fuzzer's own session
EXCLUDED = ("DELETE /api/v1/sessions/current",)


def schemathesis_exe() -> str:
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        found = shutil.which("schemathesis")
        assert found, "schemathesis is not installed: run `python3 dev.py setup` (pyproject extra `test`)"
        return found
    return str(exe)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, pg_schemas: Any) -> Iterator[RunningServer]:
    """A server of its own (PostgreSQL): the fuzzer changes things the shared server's tests rely on."""
    tmp = tmp_path_factory.mktemp("fuzz")
    running = start_server(server_config(tmp / "data", pg_schemas.new()), "postgresql")
    yield running
    running.stop()


def fuzz(server: RunningServer, report: Path, *args: str, seconds: int = SECONDS) -> list[dict[str, Any]]:
    """Run schemathesis; return its recorded scenarios (ndjson events)."""
    cmd = [
        schemathesis_exe(),
        "run",
        f"{server.url}/openapi.json",
        "--max-time",
        str(seconds),
        "--max-examples",
        "3",
        "--workers",
        "1",
        "--seed",
        "18",
        "--no-shrink",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "20",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        *[a for op in EXCLUDED for a in ("--exclude-by", f"method == '{op.split()[0]}' and path == '{op.split()[1]}'")],
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    scenarios = [
        e["ScenarioFinished"]["recorder"]
        for line in report.read_text().splitlines()
        if "ScenarioFinished" in (e := json.loads(line))
    ]
    assert scenarios, proc.stdout[-3000:] + proc.stderr[-3000:]
    return scenarios


def _failures(scenarios: list[dict[str, Any]]) -> list[str]:
    out = []
    for rec in scenarios:
        for checks in rec.get("checks", {}).values():
            for check in checks:
                if check["status"] == "failure":
                    f = check["failure_info"]["failure"]
                    out.append(f"{f['operation']}: {f['title']}: {f['message']}")
    return sorted(set(out))


def _not_problems(scenarios: list[dict[str, Any]]) -> tuple[int, list[str]]:
    answers, bad = 0, []
    for rec in scenarios:
        for it in rec.get("interactions", {}).values():
            r = it.get("response")
            if not r:
                continue
            answers += 1
            status, path = r["status_code"], it["request"]["uri"]
            ctype = (r["headers"].get("content-type") or [""])[0]
            method = it["request"]["method"]
            if status < 400 or method == "HEAD" or "/scim/v2/" in path or ctype.startswith("text/html"):
                continue
            body = base64.b64decode(r["content"]["$base64"]) if r.get("content") else b""
            try:
                doc = json.loads(body)
                ok = ctype == "application/problem+json" and doc["status"] == status and doc["type"] and doc["title"]
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                bad.append(f"{method} {path} -> {status} {ctype}: {body[:120]!r}")
    return answers, sorted(set(bad))[:20]


@pytest.mark.parametrize("who", ["anonymous", "verified user"])
def test_fuzz_the_api(fuzz_server: RunningServer, tmp_path: Path, who: str) -> None:
    args: list[str] = []
    if who != "anonymous":
        account = accountkit.signup(fuzz_server, "fuzz", login=True)
        args = ["--header", f"Authorization: Bearer {account.token}"]
    scenarios = fuzz(fuzz_server, tmp_path / "events.ndjson", *args)
    answers, bad = _not_problems(scenarios)
    assert answers >= 100, f"only {answers} requests answered"
    assert not _failures(scenarios), "\n".join(_failures(scenarios))
    assert not bad, "errors that are not RFC 9457 problems:\n" + "\n".join(bad)
