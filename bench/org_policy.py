"""Benchmark of the signed organization policy (docs/organizations.md, "The signed policy"), side by side with
its peers, against the real server (uvicorn, one worker) on SQLite and on PostgreSQL.

A member of an organization with two hybrid recovery keys and a log of `--entries` registry entries asks,
`--runs` times each, in turn:

* `own_policy`: what an encrypting client does now: `GET /api/v1/org` with the policy document, its entry's
  inclusion proof and the checkpoint, verified (pinned key, consistency, inclusion, digest) and cached;
* `org_context`: the same answer read without any check (what clients did before: the server's word);
* `GET /api/v1/account`: any authenticated request (the baseline).

Run from the repository root, in the venv:

    .venv/bin/python bench/org_policy.py                   # both backends
    .venv/bin/python bench/org_policy.py --backend sqlite --runs 100
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _bench import bench_database, free_port, stop_servers
from registry import make_ctx, seed_users, start_server


def seed_org(ctx, admin: str) -> str:  # type: ignore[no-untyped-def]
    """An organization with `admin` and two current recovery keys, its policy logged as the routes do."""
    from c11.crypto.kem import HYBRID
    from c11.keys.identity import Identity
    from c11.server.groups import recovery
    from c11.server.logsrv.service import log_service
    from c11.server.orgs import policylog, service

    with log_service(ctx).transaction() as (s, log):
        org, _ = service.create_organization(s, f"Bench {time.time_ns()}", admin)
        for name in ("vault", "offsite"):
            recovery.add(s, org.id, name, Identity.generate(f"recovery:{name}", HYBRID).public.line(), None)
        policylog.record(s, log, org)
        return str(org.id)


def timed(fn: Callable[[], object], runs: int) -> dict[str, float]:
    fn()  # warm-up (pins the log key, stores the first checkpoint)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    from c11.client import Client
    from c11.client.org_policy import OrgPolicyStore, own_policy

    with tempfile.TemporaryDirectory() as tmp_s, bench_database(backend, Path(tmp_s)) as url:
        tmp = Path(tmp_s)
        ctx = make_ctx(tmp, url)
        emails, token = seed_users(ctx, args.entries)
        seed_org(ctx, emails[0])
        ctx.db.dispose()
        port = free_port()
        server = start_server(tmp, url, port, 1)
        try:
            with Client(f"http://127.0.0.1:{port}", token) as c:
                c.state_dir = tmp / "client"
                store = OrgPolicyStore(tmp / "client")
                got = own_policy(c, store)
                assert got.policy is not None and len(got.policy.recovery_keys) == 2, got
                return {
                    "own_policy (verified, cached)": timed(lambda: own_policy(c, store), args.runs),
                    "org_context (unverified)": timed(c.groups.recovery.org_context, args.runs),
                    "GET /api/v1/account": timed(lambda: c._core.request("GET", "/api/v1/account"), args.runs),
                }
        finally:
            stop_servers(server)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--entries", type=int, default=2000, help="registry entries in the log before the policy")
    args = ap.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        print(f"{backend}: {args.runs} runs each, log of {args.entries + 1} entries, 2 hybrid recovery keys")
        for name, r in run_backend(backend, args).items():
            print(f"  {name:32} median {r['median_ms']:7.2f} ms   p95 {r['p95_ms']:7.2f} ms")


if __name__ == "__main__":
    main()
