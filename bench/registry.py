"""Benchmark of the public key registry and the log service, on SQLite and on PostgreSQL.

1. Log appends through the append service (`c11.server.logsrv.service.append`, group commit), from many
   threads, sustained for a while: appends per second.
2. Registry lookups with their proofs (entry, inclusion proof, signed checkpoint, consistency proof from
   the client's size) over HTTP: the real server (uvicorn, `--workers`) in one process, a load generator
   with 32 concurrent keep-alive connections in a second process on loopback; lookups per second, p50/p99.
   A sample of the answers is verified with the SDK's checks afterwards.

Run from the repository root, in the venv:

    .venv/bin/python bench/registry.py                       # PostgreSQL (about a minute)
    .venv/bin/python bench/registry.py --backend both
    .venv/bin/python bench/registry.py --backend sqlite --workers 1 --duration 10

PostgreSQL: C11_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); a schema
c11_bench_<random> is created there and dropped at the end. The load comes from loopback, which the
per-address rate limits leave alone by default (docs/server.md, Limits); with C11_RATE_LIMIT_LOOPBACK set,
raise them for the run: C11_RATE_LIMITS=lookups=1000000/60. The figure that survives a busy machine is the
server's CPU per lookup (printed): compare it before and after a change. Also printed: the CPU per lookup of
the PostgreSQL backends serving the run and of the load generator, and the share of the machine (all CPUs over
the run's wall time) each used: on 2 cores the three compete.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _bench import ROOT, bench_database, cpu_between, database_cpu, free_port, read_answer, stop_servers, wait_until_up

# -- set-up ---------------------------------------------------------------------------------------------


def make_ctx(data_dir: Path, url: str):  # type: ignore[no-untyped-def]
    from c11.server import migrate
    from c11.server.config import Config
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.passwords import Passwords

    config = Config(data_dir=data_dir, database_url=url, public_url="http://127.0.0.1:0")
    migrate.upgrade(url)
    return ServerContext(config=config, db=Database(url), passwords=Passwords())


def seed_users(ctx, n: int) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    """n verified users with published keys (real identities, logged), and a bearer token of user 0."""
    from datetime import timedelta

    from c11.crypto.kem import HYBRID
    from c11.keys.identity import Identity
    from c11.log.entries import email_hash
    from c11.server.accounts.models import LoginSession, User
    from c11.server.auth import SESSION_PREFIX
    from c11.server.credentials import digest, new_secret
    from c11.server.db import utcnow
    from c11.server.logsrv.service import log_service
    from c11.server.registry.models import RegistryKey

    emails = [f"bench-{uuid.uuid4().hex[:8]}-{i}@example.com" for i in range(n)]
    now = utcnow()
    users = [User(email=e, password_hash=None, email_verified_at=now, created_at=now) for e in emails]
    with ctx.db.session() as s:
        s.add_all(users)
    lines = [Identity.generate(e, HYBRID).public for e in emails]
    svc = log_service(ctx)
    for start in range(0, n, 500):
        with svc.transaction() as (s, log):
            for u, e, pk in zip(
                users[start : start + 500], emails[start : start + 500], lines[start : start + 500], strict=True
            ):
                h = email_hash(e)
                idx = log.append("key", {"action": "publish", "email_hash": h, "public_key": pk.line()}, subject=h)
                s.add(
                    RegistryKey(
                        user_id=u.id,
                        email_hash=h,
                        public_key=pk.line(),
                        fingerprint=pk.fingerprint,
                        log_index=idx,
                        published_at=now,
                    )
                )
    token = new_secret(SESSION_PREFIX)
    with ctx.db.session() as s:
        s.add(
            LoginSession(
                user_id=users[0].id,
                token_hash=digest(token),
                kind="bearer",
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
    return emails, token


def bench_appends(ctx, seconds: float, threads: int) -> dict:  # type: ignore[no-untyped-def]
    """Sustained appends through the append service from `threads` threads for `seconds`."""
    from c11.server.logsrv.service import append, log_service

    svc = log_service(ctx)
    with ctx.db.session() as s:
        start_size, _ = svc.state(s)
    stop = time.monotonic() + seconds
    counts = [0] * threads
    lat: list[float] = []

    def worker(k: int) -> None:
        i = 0
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            append(ctx, "bench", {"doc": f"{k:04d}-{i:08d}", "op": "release", "n": i}, subject=f"doc-{k}")
            mine.append(time.perf_counter() - t)
            i += 1
        counts[k] = i
        lat.extend(mine)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    with ctx.db.session() as s:
        end_size, root = svc.state(s)
    total = sum(counts)
    assert end_size - start_size == total, (end_size, start_size, total)
    # the stored tree is right: recompute the root of the newest entries' tree from the nodes
    from c11.log.merkle import MerkleTree
    from c11.server.logsrv.service import SqlHashStore

    with ctx.db.session() as s:
        assert MerkleTree(SqlHashStore(s), end_size).root() == root
    lat.sort()
    return {
        "appends": total,
        "seconds": round(elapsed, 2),
        "per_second": round(total / elapsed),
        "threads": threads,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
        "log_size": end_size,
    }


# -- the server ------------------------------------------------------------------------------------------

APP_MODULE = """
from c11.server.app import create_app
from c11.server.config import load_config

def make():
    return create_app(load_config())
"""


def start_server(data_dir: Path, url: str, port: int, workers: int) -> subprocess.Popen:
    app_dir = data_dir / "app"
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "c11_bench_app.py").write_text(APP_MODULE)
    env = {
        **os.environ,
        "C11_DATA_DIR": str(data_dir),
        "C11_DATABASE_URL": url,
        "C11_PORT": str(port),
        "C11_PUBLIC_URL": "http://127.0.0.1:0",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{app_dir}",
        "C11_LOG_LEVEL": "warning",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "c11_bench_app:make",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return wait_until_up(proc, f"http://127.0.0.1:{port}/healthz")


# -- the load generator (run in its own process) -------------------------------------------------------------


async def _connection(
    port: int,
    token: str,
    emails: list[str],
    known: int,
    stop: float,
    warm: float,
    lat: list[float],
    samples: list[bytes],
    sent: list[int],
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    rnd = random.Random()
    try:
        while True:
            now = time.perf_counter()
            if now >= stop:
                return n
            email = rnd.choice(emails)
            req = (
                f"GET /api/v1/keys?email={email}&known_size={known} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
            ).encode()
            t = time.perf_counter()
            writer.write(req)
            status, body = await read_answer(reader)
            done = time.perf_counter()
            sent[0] += 1
            if status != 200:
                raise RuntimeError(f"lookup answered {status}: {body[:200]!r}")
            if t >= warm:
                lat.append(done - t)
                n += 1
                if len(samples) < 64 and rnd.random() < 0.01:
                    samples.append(body)
    finally:
        writer.close()


def load_main(
    port: int, token: str, emails: list[str], known: int, concurrency: int, seconds: float, warmup: float
) -> None:
    lat: list[float] = []
    samples: list[bytes] = []
    sent = [0]

    async def run() -> list[int]:
        start = time.perf_counter()
        warm, stop = start + warmup, start + warmup + seconds
        return await asyncio.gather(
            *[_connection(port, token, emails, known, stop, warm, lat, samples, sent) for _ in range(concurrency)]
        )

    cpu = time.process_time()
    counts = asyncio.run(run())
    cpu = time.process_time() - cpu  # the generator's own CPU for every lookup it sent (warm-up included)
    lat.sort()
    print(
        json.dumps(
            {
                "lookups": sum(counts),
                "seconds": seconds,
                "per_second": round(sum(counts) / seconds),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                "p90_ms": round(lat[int(len(lat) * 0.9)] * 1000, 2),
                "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
                "max_ms": round(lat[-1] * 1000, 2),
                "sent": sent[0],
                "generator_cpu_s": round(cpu, 3),
                "samples": [s.decode() for s in samples],
            }
        )
    )


def verify_samples(url: str, samples: list[str], emails: list[str], state: Path) -> int:
    """Check sampled answers exactly as `Client.registry.lookup` does (pinned key, inclusion)."""
    from c11.client import Client
    from c11.log.entries import email_hash

    by_hash = {email_hash(e): e for e in emails}
    with Client(url) as c:
        c.state_dir = state
        for text in samples:
            d = json.loads(text)
            email = by_hash[json.loads(d["entry"])["email_hash"]]
            c.registry._accept(d, d.get("known_size"))
            from c11.client.transparency import decode_hashes
            from c11.log.merkle import leaf_hash, verify_inclusion

            check = c.log.open(d["checkpoint"].encode())
            verify_inclusion(
                leaf_hash(d["entry"].encode()),
                d["log_index"],
                check.size,
                decode_hashes(d["inclusion_proof"]),
                check.root_hash,
            )
            assert d["email"] == email
    return len(samples)


# -- main -----------------------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used by a process and its children so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += proc_cpu(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"c11-bench-{backend}-"))
    result: dict = {"backend": backend}
    with bench_database(backend, tmp) as url:
        ctx = make_ctx(tmp, url)
        t = time.perf_counter()
        emails, token = seed_users(ctx, args.users)
        result["seed_users"] = {"users": args.users, "seconds": round(time.perf_counter() - t, 2)}
        result["appends"] = bench_appends(ctx, args.append_seconds, args.append_threads)
        from c11.server.logsrv.service import log_service

        with ctx.db.session() as s:
            size, _ = log_service(ctx).state(s)
        ctx.db.dispose()
        port = free_port()
        server = start_server(tmp, url, port, args.workers)
        try:
            cpu0, db0, wall = proc_cpu(server.pid), database_cpu(url), time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    json.dumps(
                        {
                            "port": port,
                            "token": token,
                            "emails": emails,
                            "known": max(0, size - 1000),
                            "concurrency": args.concurrency,
                            "seconds": args.duration,
                            "warmup": args.warmup,
                        }
                    ),
                ],
                capture_output=True,
                text=True,
                timeout=args.duration + args.warmup + 120,
            )
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr)
            server_cpu, wall = proc_cpu(server.pid) - cpu0, time.monotonic() - wall
            db_cpu = cpu_between(db0, database_cpu(url))
            load = json.loads(proc.stdout)
            # CPU per lookup: every lookup sent, warm-up included, as the CPU times
            load["server_cpu_ms_per_lookup"] = round(server_cpu * 1000 / load["sent"], 3)
            load["database_cpu_ms_per_lookup"] = round(db_cpu * 1000 / load["sent"], 3)
            load["generator_cpu_ms_per_lookup"] = round(load["generator_cpu_s"] * 1000 / load["sent"], 3)
            machine = (os.cpu_count() or 1) * wall  # the share of the machine's CPU each part used
            load["machine_share"] = {
                "server": round(server_cpu / machine, 3),
                "database": round(db_cpu / machine, 3),
                "generator": round(load["generator_cpu_s"] / machine, 3),
            }
            samples = load.pop("samples")
            load["verified_samples"] = verify_samples(f"http://127.0.0.1:{port}", samples, emails, tmp / "client")
            result["lookups"] = {**load, "concurrency": args.concurrency, "workers": args.workers, "log_size": size}
        finally:
            stop_servers(server)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    p.add_argument("--users", type=int, default=1000, help="users with published keys (default 1000)")
    p.add_argument("--append-seconds", type=float, default=5.0)
    p.add_argument("--append-threads", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--load", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.load:
        a = json.loads(args.load)
        load_main(a["port"], a["token"], a["emails"], a["known"], a["concurrency"], a["seconds"], a["warmup"])
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"c11 registry benchmark: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    for backend in backends:
        r = run_backend(backend, args)
        a, lk = r["appends"], r["lookups"]
        print(
            f"\n[{backend}] seeded {r['seed_users']['users']} users with published keys in "
            f"{r['seed_users']['seconds']} s"
        )
        print(
            f"[{backend}] log appends (append service, {a['threads']} threads, {a['seconds']} s): "
            f"{a['per_second']}/s sustained, p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms; log size {a['log_size']}"
        )
        print(
            f"[{backend}] registry lookups with proofs ({lk['concurrency']} connections, {lk['workers']} "
            f"worker(s), log of {lk['log_size']}): {lk['per_second']}/s, p50 {lk['p50_ms']} ms, "
            f"p90 {lk['p90_ms']} ms, p99 {lk['p99_ms']} ms, max {lk['max_ms']} ms; "
            f"{lk['verified_samples']} sampled answers verified; server CPU {lk['server_cpu_ms_per_lookup']} ms "
            f"per lookup, PostgreSQL backends {lk['database_cpu_ms_per_lookup']} ms, load generator "
            f"{lk['generator_cpu_ms_per_lookup']} ms; share of the machine's CPU: {lk['machine_share']}"
        )
        met = "met" if lk["per_second"] >= 1000 and lk["p99_ms"] < 50 else "NOT met"
        print(
            f"[{backend}] target lookups with proofs >= 1000/s, p99 < 50 ms at {lk['concurrency']} clients: {met} "
            f"({lk['per_second']}/s, p99 {lk['p99_ms']} ms; server CPU {lk['server_cpu_ms_per_lookup']} ms per lookup)"
        )
        print(json.dumps(r))


if __name__ == "__main__":
    main()
