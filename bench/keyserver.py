"""Benchmark of the key server: online-policy key releases over HTTP, on PostgreSQL (default) or SQLite.

The real server runs as `--workers` `c11 serve` processes on their own ports, sharing one data folder and
database (as behind a load balancer: a single uvicorn with several workers hands nearly all keep-alive
connections of a burst to one worker). A load generator with `--concurrency` keep-alive connections (one
user each, each with its own recipient key, spread over the processes) runs in another process on loopback
and asks for releases of random documents as fast as it can. Every release is checked by the server (recipient,
revocation, expiry, policy digest), opens the HPKE share, seals B to the caller's key, and is appended to the
transparency log together with its access row (group commit). Afterwards:

* releases per second, latency p50/p90/p99/max;
* a sample of answers is opened with the recipients' keys and combined into the right file key;
* the number of `release` log entries with result "allowed" equals the number of 200 answers.

    .venv/bin/python bench/keyserver.py                          # PostgreSQL, 32 connections, 2 workers
    .venv/bin/python bench/keyserver.py --backend sqlite --duration 10

PostgreSQL: C11_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); a schema
c11_bench_<random> is created there and dropped at the end. The per-user release limit is switched off
(C11_KEYSERVER_RELEASE_LIMIT=0): each connection asks far more often than a person would. The per-address
rate limits (docs/server.md, Limits) do not apply: the load comes from loopback.
The figure that survives a busy machine is the server's CPU per release (printed): compare it before and
after a change. Also printed: the CPU per release of the PostgreSQL backends serving the run and of the load
generator itself, and the share of the machine (all CPUs over the run's wall time) each of the three used:
on 2 cores they compete, so the server never has the whole machine. `--slow-clients 50` also checks the slow-client and head limits hold under the load.
`c11 serve` raises the garbage collector's thresholds: with Python's defaults the p99 here is ~200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _bench import ROOT, bench_database, cpu_between, database_cpu, free_port, read_answer, stop_servers, wait_until_up


def seed(data_dir: Path, url: str, n: int) -> list[dict]:
    """Migrate, create the key server key, and n verified users with a bearer token and an identity each."""
    from datetime import timedelta

    from c11.keys.identity import Identity
    from c11.server import migrate
    from c11.server.accounts.models import LoginSession, User
    from c11.server.auth import SESSION_PREFIX
    from c11.server.credentials import digest, new_secret
    from c11.server.db import Database, utcnow

    migrate.upgrade(url)
    db = Database(url)
    now = utcnow()
    people = []
    with db.session() as s:
        for i in range(n):
            email = f"bench-{uuid.uuid4().hex[:8]}-{i}@example.com"
            user = User(email=email, password_hash=None, email_verified_at=now, created_at=now)
            s.add(user)
            s.flush()
            token = new_secret(SESSION_PREFIX)
            s.add(
                LoginSession(
                    user_id=user.id,
                    token_hash=digest(token),
                    kind="bearer",
                    created_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )
            ident = Identity.generate(email)
            people.append({"email": email, "token": token, "seeds": (ident.enc_seed + ident.sig_seed).hex()})
    db.dispose()
    return people


def identity(p: dict):  # type: ignore[no-untyped-def]
    from c11.keys.identity import Identity

    seeds = bytes.fromhex(p["seeds"])
    return Identity(p["email"], "mlkem768x25519", seeds[:32], seeds[32:])


def register_documents(url: str, people: list[dict], count: int) -> list[dict]:
    """`count` documents by people[0], each for everyone (email + key), registered through the API."""
    from c11.client import Client

    docs = []
    with Client(url, people[0]["token"]) as c:
        recips = [(p["email"], identity(p).public) for p in people]
        for _ in range(count):
            seal = c.keyserver.prepare(people[0]["email"], recips)
            c.keyserver.register(seal, [p["email"] for p in people])
            docs.append(
                {
                    "doc": seal.policy.doc_uuid,
                    "stanza": base64.b64encode(seal.stanza.body).decode(),
                    "a": seal.recipient_key.hex(),
                    "file_key": seal.file_key.hex(),
                }
            )
    return docs


def start_server(data_dir: Path, url: str, port: int) -> subprocess.Popen:
    """`c11 serve` (the real server command) on `port`."""
    env = {
        **os.environ,
        "C11_DATA_DIR": str(data_dir),
        "C11_DATABASE_URL": url,
        "C11_PORT": str(port),
        "C11_HOST": "127.0.0.1",
        "PYTHONPATH": str(ROOT / "src"),
        "C11_LOG_LEVEL": "warning",
        "C11_KEYSERVER_RELEASE_LIMIT": "0",
    }
    cmd = [sys.executable, "-m", "c11.cli.main", "serve"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return wait_until_up(proc, f"http://127.0.0.1:{port}/api/v1/keyserver/key")


# -- the load generator (its own process) ----------------------------------------------------------------


async def _connection(
    port: int,
    person: dict,
    bodies: list[bytes],
    stop: float,
    warm: float,
    lat: list[float],
    samples: list[tuple[int, bytes]],
    counts: dict,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rnd = random.Random()
    auth = f"Authorization: Bearer {person['token']}\r\n".encode()
    try:
        while time.perf_counter() < stop:
            k = rnd.randrange(len(bodies))
            body = bodies[k]
            req = (
                b"POST /api/v1/keyserver/release HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + auth
                + b"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            t = time.perf_counter()
            writer.write(req)
            status, answer = await read_answer(reader)
            done = time.perf_counter()
            counts[status] = counts.get(status, 0) + 1
            if status != 200:
                raise RuntimeError(f"release answered {status}: {answer[:200]!r}")
            if t >= warm:
                lat.append(done - t)
            if len(samples) < 64 and rnd.random() < 0.01:
                samples.append((k, answer))
    finally:
        writer.close()


def load_main(spec: dict) -> None:
    people, docs = spec["people"], spec["docs"]
    lat: list[float] = []
    counts: dict[int, int] = {}
    per_person = []

    async def run() -> None:
        start = time.perf_counter()
        warm, stop = start + spec["warmup"], start + spec["warmup"] + spec["seconds"]
        tasks = []
        for i in range(spec["concurrency"]):
            p = people[i % len(people)]
            bodies = [
                json.dumps({"stanza": d["stanza"], "public_key": identity(p).public.line()}).encode() for d in docs
            ]
            samples: list[tuple[int, bytes]] = []
            per_person.append((p, samples))
            port = spec["ports"][i % len(spec["ports"])]
            tasks.append(_connection(port, p, bodies, stop, warm, lat, samples, counts))
        await asyncio.gather(*tasks)

    cpu = time.process_time()
    asyncio.run(run())
    cpu = time.process_time() - cpu  # the generator's own CPU for every request it sent (warm-up included)
    lat.sort()
    # open sampled answers with the recipient's key: B combined with A must give the document's file key
    from c11.format import online

    verified = 0
    for p, samples in per_person:
        ident = identity(p)
        for k, answer in samples:
            d = json.loads(answer)
            doc = docs[k]
            b = online.open_release(ident, uuid.UUID(doc["doc"]).bytes, base64.b64decode(d["sealed"]))
            assert online.combine(bytes.fromhex(doc["a"]), b, uuid.UUID(doc["doc"]).bytes).hex() == doc["file_key"]
            verified += 1
    measured = len(lat)
    print(
        json.dumps(
            {
                "ok": counts.get(200, 0),
                "statuses": counts,
                "measured": measured,
                "seconds": spec["seconds"],
                "per_second": round(measured / spec["seconds"]),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                "p90_ms": round(lat[int(len(lat) * 0.9)] * 1000, 2),
                "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
                "max_ms": round(lat[-1] * 1000, 2),
                "verified_samples": verified,
                "generator_cpu_s": round(cpu, 3),
            }
        )
    )


# -- main -----------------------------------------------------------------------------------------------


def count_releases(url: str) -> tuple[int, int, int]:
    """(allowed release entries in the log, denied ones, access rows)."""
    import sqlalchemy as sa

    from c11.server.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            allowed = denied = 0
            for (data,) in c.execute(sa.text("SELECT data FROM log_entries WHERE kind = 'release'")):
                if json.loads(data)["result"] == "allowed":
                    allowed += 1
                else:
                    denied += 1
            rows = c.execute(sa.text("SELECT count(*) FROM online_accesses")).scalar()
    finally:
        engine.dispose()
    return allowed, denied, rows


def cpu_seconds(*procs: subprocess.Popen) -> float:
    """User + system CPU seconds used so far by `procs` (Linux /proc): load-independent cost per release."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def slow_clients(port: int, n: int, until: float, out: dict) -> None:
    """While the load runs: `n` slowloris connections (a request head trickled a byte a second) and
    oversized heads against `port`; notes when the server closed each slow one and what it answered the
    oversized ones (the limits of c11.server._http must hold under load)."""
    import socket
    import threading

    from c11.server._http import HEAD_TIMEOUT, MAX_HEAD, MAX_URL

    closed: list[float] = []

    def slow() -> None:
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=HEAD_TIMEOUT + 30) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                while time.monotonic() - t0 < HEAD_TIMEOUT + 30:
                    s.sendall(b"a")
                    time.sleep(1.0)
        except OSError:
            closed.append(time.monotonic() - t0)

    def refused(data: bytes) -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
            got = b""
            try:
                while chunk := s.recv(65536):
                    got += chunk
            except OSError:
                pass
        return int(got.split(b" ", 2)[1]) if got else 0

    threads = [threading.Thread(target=slow, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    answers = []
    while time.monotonic() < until:
        answers.append(refused(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"b" * (MAX_HEAD + 1) + b"\r\n\r\n"))
        answers.append(refused(b"GET /" + b"a" * MAX_URL + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
        time.sleep(0.5)
    for t in threads:
        t.join(HEAD_TIMEOUT + 35)
    out.update(
        slow_clients=n,
        slow_closed=len(closed),
        slow_closed_after_max_s=round(max(closed), 2) if closed else None,
        head_timeout_s=HEAD_TIMEOUT,
        oversized_heads=len(answers),
        oversized_answers=sorted(set(answers)),
    )


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"c11-bench-ks-{backend}-"))
    result: dict = {"backend": backend}
    with bench_database(backend, tmp) as url:
        people = seed(tmp, url, args.concurrency)
        ports = [free_port() for _ in range(args.workers)]
        servers = [start_server(tmp, url, ports[0])]  # the first one makes the keys; then the others
        servers += [start_server(tmp, url, port) for port in ports[1:]]
        try:
            docs = register_documents(f"http://127.0.0.1:{ports[0]}", people, args.documents)
            spec = {
                "ports": ports,
                "people": people,
                "docs": docs,
                "concurrency": args.concurrency,
                "seconds": args.duration,
                "warmup": args.warmup,
            }
            spec_file = tmp / "load.json"
            spec_file.write_text(json.dumps(spec))
            cpu_before, db_before, wall = cpu_seconds(*servers), database_cpu(url), time.monotonic()
            slow: dict = {}
            if args.slow_clients:
                import threading

                until = time.monotonic() + args.warmup + args.duration
                slow_thread = threading.Thread(target=slow_clients, args=(ports[0], args.slow_clients, until, slow))
                slow_thread.start()
            proc = subprocess.run(
                [sys.executable, __file__, "--load", str(spec_file)],
                capture_output=True,
                text=True,
                timeout=args.duration + args.warmup + 180,
            )
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr)
            load = json.loads(proc.stdout)
            server_cpu, wall = cpu_seconds(*servers) - cpu_before, time.monotonic() - wall
            db_cpu = cpu_between(db_before, database_cpu(url))
            load["server_cpu_ms_per_release"] = round(server_cpu * 1000 / load["ok"], 3)
            load["database_cpu_ms_per_release"] = round(db_cpu * 1000 / load["ok"], 3)
            load["generator_cpu_ms_per_release"] = round(load["generator_cpu_s"] * 1000 / load["ok"], 3)
            # the share of the machine (all its CPUs, over the load's wall time) each part used
            machine = (os.cpu_count() or 1) * wall
            load["machine_share"] = {
                "server": round(server_cpu / machine, 3),
                "database": round(db_cpu / machine, 3),
                "generator": round(load["generator_cpu_s"] / machine, 3),
            }
            if args.slow_clients:
                slow_thread.join()
                load.update(slow)
        finally:
            stop_servers(*servers)
        allowed, denied, rows = count_releases(url)
        result["releases"] = {
            **load,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "documents": args.documents,
            "log_release_entries_allowed": allowed,
            "log_release_entries_denied": denied,
            "access_rows": rows,
        }
        assert allowed == load["ok"], f"log has {allowed} allowed release entries, {load['ok']} releases answered"
        assert rows == allowed + denied
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    p.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    p.add_argument("--concurrency", type=int, default=32, help="concurrent clients, one user each (default 32)")
    p.add_argument("--documents", type=int, default=16)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="also open N slowloris connections and send oversized heads during the load (the head limits "
        "must hold: each slow one closed at the 15 s deadline, 431/414 answers); needs --duration >= 15",
    )
    p.add_argument("--load", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.load:
        load_main(json.loads(Path(args.load).read_text()))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"c11 key server benchmark: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    for backend in backends:
        r = run_backend(backend, args)["releases"]
        ok = "met" if r["per_second"] >= 500 and r["p99_ms"] < 100 else "NOT met"
        print(
            f"\n[{backend}] key releases ({r['concurrency']} concurrent clients, {r['workers']} server process(es), "
            f"{r['documents']} documents, {r['seconds']} s after {args.warmup} s warm-up): {r['per_second']}/s, "
            f"p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms "
            f"[target >= 500/s, p99 < 100 ms: {ok}]"
        )
        print(
            f"[{backend}] releases answered 200: {r['ok']}; allowed release entries in the log: "
            f"{r['log_release_entries_allowed']} (equal: {r['ok'] == r['log_release_entries_allowed']}); "
            f"server CPU per release {r['server_cpu_ms_per_release']} ms; "
            f"PostgreSQL backends {r['database_cpu_ms_per_release']} ms, load generator "
            f"{r['generator_cpu_ms_per_release']} ms; share of the machine's CPU: {r['machine_share']}; "
            f"access rows: {r['access_rows']}; {r['verified_samples']} sampled answers opened and checked"
        )
        if "slow_clients" in r:
            held = (
                r["slow_closed"] == r["slow_clients"]
                and (r["slow_closed_after_max_s"] or 0) <= r["head_timeout_s"] + 5
                and r["oversized_answers"] == [414, 431]
            )
            print(
                f"[{backend}] under load: {r['slow_closed']}/{r['slow_clients']} slowloris connections closed by "
                f"the server (the last after {r['slow_closed_after_max_s']} s; deadline {r['head_timeout_s']} s); "
                f"{r['oversized_heads']} oversized heads answered {r['oversized_answers']} "
                f"[limits hold under load: {'yes' if held else 'NO'}]"
            )
        print(json.dumps(r))


if __name__ == "__main__":
    main()
