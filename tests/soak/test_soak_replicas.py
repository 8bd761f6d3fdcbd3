"""The replica soak's short version (issue 18, "Replicas"): bench/soak.py with a 30-second load on a private
PostgreSQL cluster, three `c11 serve` replicas behind HAProxy, a shard store and an SMTP sink, while a replica is
SIGKILLed twice, PostgreSQL restarts and the SMTP sink goes away. It asserts correctness, never speed: every check
the script prints must be PASS (no 5xx but connection resets at a kill, routing around the dead replicas, every
acknowledged write present, one consistent log history, releases matched by log entries, every email once)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKS = 11  # PASS/FAIL lines bench/soak.py prints


def test_replicas_survive_kills_and_restarts_without_loss():
    cmd = [sys.executable, str(ROOT / "bench" / "soak.py"), "--duration", "30", "--threads", "4"]
    cmd += ["--seed-users", "5", "--drain", "120", "--json", "--keep"]  # the folder is kept when a check fails
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    out = r.stdout + r.stderr[-4000:]
    folder = re.search(r"folder (\S+)", r.stdout)
    if r.returncode == 0 and folder:
        shutil.rmtree(folder.group(1), ignore_errors=True)
    verdicts = [line for line in r.stdout.splitlines() if line.startswith(("PASS:", "FAIL:"))]
    assert len(verdicts) == CHECKS, out
    assert all(v.startswith("PASS:") for v in verdicts), out
    assert r.returncode == 0, out
    figures = json.loads(r.stdout.strip().splitlines()[-1])["figures"]
    # the load really mixed every kind of operation, and the kills really cut or rerouted traffic
    kinds = figures["operations_by_kind"]
    for kind in ("lookup", "release", "encrypt", "publish", "revoke", "invite", "login", "signup", "events"):
        assert kinds.get(kind, 0) > 0, kinds
    assert figures["acknowledged"]["releases"] > 0 and figures["acknowledged"]["documents"] > 0
    assert figures["emails"]["received"] == figures["emails"]["queued"] > 0
