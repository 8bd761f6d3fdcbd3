"""The long run of the API fuzzer: schemathesis against a real `c11 serve` (PostgreSQL by default), anonymous
and with a verified user's bearer token, every phase (examples, coverage, fuzzing, stateful), for
`--minutes` each. The suite runs a bounded version (tests/server/test_api_fuzz.py, same checks).

Checks: no 5xx; statuses, content types and bodies as the OpenAPI document says; every 4xx outside SCIM and
the emailed-link pages is an RFC 9457 problem whose `status` is the answer's.

    .venv/bin/python bench/api_fuzz.py                    # 5 minutes per run, PostgreSQL
    .venv/bin/python bench/api_fuzz.py --minutes 1 --backend sqlite
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import ROOT, bench_database, free_port, stop_servers, wait_until_up
from keyserver import seed

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def start(data_dir: Path, url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "C11_DATA_DIR": str(data_dir),
        "C11_DATABASE_URL": url,
        "C11_PORT": str(port),
        "PYTHONPATH": str(ROOT / "src"),
        "C11_LOG_LEVEL": "error",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return wait_until_up(proc, f"http://127.0.0.1:{port}/healthz")


def run(base: str, report: Path, seconds: int, *args: str) -> dict:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(exe),
        "run",
        f"{base}/openapi.json",
        "--max-time",
        str(seconds),
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--request-timeout",
        "30",
        "--no-shrink",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--exclude-by",
        "method == 'DELETE' and path == '/api/v1/sessions/current'",
        *args,
    ]
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 600)
    elapsed = time.perf_counter() - t
    requests = fivexx = 0
    failures: set[str] = set()
    not_problems: set[str] = set()
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "ScenarioFinished" not in event:
            continue
        rec = event["ScenarioFinished"]["recorder"]
        for checks in rec.get("checks", {}).values():
            for c in checks:
                if c["status"] == "failure":
                    f = c["failure_info"]["failure"]
                    failures.add(f"{f['operation']}: {f['title']}: {f['message'].splitlines()[0]}")
        for it in rec.get("interactions", {}).values():
            r = it.get("response")
            if not r:
                continue
            requests += 1
            status, method, uri = r["status_code"], it["request"]["method"], it["request"]["uri"]
            fivexx += status >= 500
            ctype = (r["headers"].get("content-type") or [""])[0]
            if status < 400 or method == "HEAD" or "/scim/v2/" in uri or ctype.startswith("text/html"):
                continue
            try:
                doc = json.loads(base64.b64decode(r["content"]["$base64"]))
                ok = ctype == "application/problem+json" and doc["status"] == status
            except (KeyError, ValueError, TypeError):
                ok = False
            if not ok:
                not_problems.add(f"{method} {uri.split('?')[0]} -> {status} {ctype}")
    return {
        "requests": requests,
        "seconds": round(elapsed, 1),
        "5xx": fivexx,
        "failures": sorted(failures),
        "not_problems": sorted(not_problems)[:20],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--minutes", type=float, default=5.0, help="per run (anonymous, then authenticated)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="c11-bench-fuzz-"))
    print(f"c11 API fuzzer (schemathesis), {args.backend}, {args.minutes} min per run, {os.cpu_count()} CPUs")
    with bench_database(args.backend, tmp) as url:
        port = free_port()
        server = start(tmp, url, port)
        try:
            token = seed(tmp, url, 1)[0]["token"]
            base = f"http://127.0.0.1:{port}"
            seconds = max(1, int(args.minutes * 60))
            ok = True
            for who, extra in (("anonymous", []), ("verified user", ["--header", f"Authorization: Bearer {token}"])):
                r = run(base, tmp / f"{who.split()[0]}.ndjson", seconds, *extra)
                print(
                    f"[{who}] {r['requests']} requests in {r['seconds']} s: {r['5xx']} answered 5xx, "
                    f"{len(r['failures'])} check failures, {len(r['not_problems'])} errors not RFC 9457 problems"
                )
                for line in r["failures"] + r["not_problems"]:
                    print(f"  {line}")
                ok = ok and not (r["5xx"] or r["failures"] or r["not_problems"])
        finally:
            stop_servers(server)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
