"""Cloud Protector throughput on SeaweedFS (S3) with `c11 protector worker` processes on the real queue
(procrastinate on PostgreSQL), in one run:

1. scan and classify --objects small objects (4 KiB of words; 1 % with a planted US SSN and a planted card
   number) with 1 worker, then again with 2 (a `report` rule: each object read, classified, its state recorded);
   every planted item must be found and nothing else reported;
2. protect --protect files of --protect-mib MiB in place (a `protect-file` rule: KEY.c11 written, read back,
   verified with the file key, original deleted) with 1 worker, then 2, on separate prefixes.

Targets (issue 19): scan >= 500 objects/s with 2 workers on 100,000 objects, no planted item missed, no false
positive. Figures are objects per second of wall time from the workers' start to an empty queue, with the
workers' CPU seconds; the machine's load average is printed next to them (other work shares the cores).

    .venv/bin/python bench/protector.py                          # 100,000 objects, 1,000 x 1 MiB
    .venv/bin/python bench/protector.py --objects 2000 --protect 50 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _bench

sys.path.insert(0, str(_bench.ROOT / "tests" / "sharing"))

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
    "romeo sierra tango uniform victor whiskey xray yankee zulu report budget meeting project quarter review "
    "customer order invoice team plan design draft final summary notes minutes agenda schedule status update "
    "market sales growth region office travel policy contract supplier product service support ticket release"
).split()


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def planted_card(rng: random.Random) -> str:
    body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
    n = body + _luhn_digit(body)
    return " ".join(n[i : i + 4] for i in range(0, 16, 4))


def planted_ssn(rng: random.Random) -> str:
    return f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"


def filler(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return " ".join(out).encode()[:size]


def make_object(rng: random.Random, size: int, planted: bool) -> bytes:
    body = filler(rng, size)
    if not planted:
        return body
    secret = f"\nemployee ssn {planted_ssn(rng)} paid with card {planted_card(rng)}\n".encode()
    at = rng.randint(0, size - len(secret))
    return body[:at] + secret + body[at + len(secret) :]


def upload(weed, prefix: str, n: int, size: int, every: int, seed: int) -> set[str]:  # noqa: ANN001
    """Put n objects under prefix; returns the keys (relative to prefix) with planted items."""
    client = weed.client()
    planted: set[str] = set()

    def put(i: int) -> None:
        rng = random.Random(seed * 1_000_003 + i)
        key = f"d{i % 100:02d}/obj{i:06d}.txt"
        is_planted = every > 0 and i % every == every // 2
        client.put_object(Bucket=weed.bucket, Key=prefix + key, Body=make_object(rng, size, is_planted))
        if is_planted:
            planted.add(key)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))
    return planted


def c11(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", *args], env=env, capture_output=True, text=True, timeout=3600
    )
    if r.returncode != 0:
        raise SystemExit(f"c11 {' '.join(args[:3])} failed: {r.stderr.strip()[-400:]}")
    return r


def run_workers(n: int, env: dict[str, str]) -> tuple[float, float]:
    """n `c11 protector worker --burst` processes until the queue is empty: (wall seconds, their CPU seconds)."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "c11.cli.main", "protector", "worker", "--burst"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(n)
    ]
    cpu = 0.0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if p.returncode != 0:
            raise SystemExit(f"a worker failed: {p.stderr.read().decode()[-400:] if p.stderr else ''}")
    return time.perf_counter() - start, cpu


def _connect(name: str, url: str, weed, env: dict[str, str]) -> None:  # noqa: ANN001
    c11(
        [
            "protector", "connect", name, url, "--endpoint", weed.endpoint, "-o", f"access_key_id={weed.access_key}",
            "--secrets-from", "env", "--no-test",
        ],
        env,
    )  # fmt: skip


def scan(weed, env: dict[str, str], tmp: Path, n: int, workers: int, planted: set[str], prefix: str, db: str):  # noqa: ANN001, ANN201
    from c11.protector.state import open_state

    name = f"scan{workers}w"
    _connect(name, f"s3://{weed.bucket}/{prefix}", weed, env)
    rules = tmp / "report.toml"
    rules.write_text('[[rules]]\nname = "find"\naction = "report"\n')
    t0 = time.perf_counter()
    c11(["protector", "run", name, "--rules", str(rules), "--batch", "50"], env)
    queued = time.perf_counter() - t0
    wall, cpu = run_workers(workers, env)
    state = open_state(db)
    try:
        reported = {r.key: r.detectors for r in state.objects(name, "reported")}
        counts = state.counts(name)
    finally:
        state.close()
    missed = sorted(k for k in planted if set(reported.get(k, ())) != {"us_ssn", "payment_card"})
    false_pos = sorted(k for k in reported if k not in planted)
    return {
        "phase": "scan",
        "workers": workers,
        "objects": n,
        "queue_s": round(queued, 2),
        "wall_s": round(wall, 2),
        "objects_per_s": round(n / wall, 1),
        "worker_cpu_s": round(cpu, 1),
        "planted": len(planted),
        "missed": len(missed),
        "false_positives": len(false_pos),
        "states": counts,
        "load": os.getloadavg()[0],
    }


def protect(weed, env: dict[str, str], tmp: Path, n: int, mib: int, workers: int, recipient, db: str):  # noqa: ANN001, ANN201
    from c11 import files
    from c11.protector.state import open_state

    prefix = f"protect-{workers}w/"
    rng = random.Random(workers)
    client = weed.client()
    body = filler(rng, mib << 20)
    originals = {}

    def put(i: int) -> None:
        data = body[:-40] + f"\nssn {planted_ssn(random.Random(i))} #{i:06d}\n".encode()[:40].ljust(40, b" ")
        originals[f"f{i:05d}.txt"] = data
        client.put_object(Bucket=weed.bucket, Key=f"{prefix}f{i:05d}.txt", Body=data)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(n)))
    name = f"prot{workers}w"
    _connect(name, f"s3://{weed.bucket}/{prefix}", weed, env)
    rules = tmp / "protect.toml"
    rules.write_text(f'[[rules]]\nname = "all"\naction = "protect-file"\nrecipients = ["{recipient.public.line()}"]\n')
    c11(["protector", "run", name, "--rules", str(rules), "--batch", "5"], env)
    wall, cpu = run_workers(workers, env)
    state = open_state(db)
    try:
        counts = state.counts(name)
    finally:
        state.close()
    keys = sorted(o["Key"][len(prefix) :] for p in client.get_paginator("list_objects_v2").paginate(
        Bucket=weed.bucket, Prefix=prefix) for o in p.get("Contents", ()))  # fmt: skip
    assert keys == sorted(k + ".c11" for k in originals), "not every object was replaced by its .c11"
    for k in sorted(originals)[:: max(1, n // 5)]:  # a sample opens to the original
        blob = client.get_object(Bucket=weed.bucket, Key=f"{prefix}{k}.c11")["Body"].read()
        assert files.decrypt_bytes(blob, [recipient]).plaintext == originals[k]
    return {
        "phase": "protect",
        "workers": workers,
        "files": n,
        "mib_each": mib,
        "wall_s": round(wall, 2),
        "files_per_s": round(n / wall, 2),
        "mib_per_s": round(n * mib / wall, 1),
        "worker_cpu_s": round(cpu, 1),
        "states": counts,
        "load": os.getloadavg()[0],
    }


def run(objects: int, protect_files: int, mib: int, workers: list[int], tmp: Path) -> list[dict]:
    """The whole benchmark in `tmp`; returns one result per phase and worker count."""
    from weedkit import start_weed

    from c11.keys import keyfile
    from c11.keys.identity import Identity

    me, bob = Identity.generate("protector@example.com"), Identity.generate("bob@example.com")
    keyfile.write(tmp / "p.key", me, None)
    weed = start_weed(tmp / "weed")
    results: list[dict] = []
    try:
        with _bench.bench_database("postgresql", tmp) as db:
            env = {
                **os.environ,
                "PYTHONPATH": str(_bench.ROOT / "src"),
                "C11_PROTECTOR_DIR": str(tmp / "pd"),
                "C11_IDENTITY": str(tmp / "p.key"),
                "C11_PROTECTOR_QUEUE": db,
                "C11_PROTECTOR_STATE": db,
                "C11_CONFIG_DIR": str(tmp / "cfg"),
            }
            for w in workers:
                env[f"C11_PROTECTOR_SCAN{w}W_SECRET_ACCESS_KEY"] = weed.secret_key
                env[f"C11_PROTECTOR_PROT{w}W_SECRET_ACCESS_KEY"] = weed.secret_key
            if objects:
                t = time.perf_counter()
                planted = upload(weed, "scan/", objects, 4096, 100, seed=1)
                print(f"uploaded {objects} objects in {time.perf_counter() - t:.1f} s", file=sys.stderr)
                for w in workers:
                    results.append(scan(weed, env, tmp, objects, w, planted, "scan/", db))
                    print(json.dumps(results[-1]), file=sys.stderr)
            if protect_files:
                for w in workers:
                    results.append(protect(weed, env, tmp, protect_files, mib, w, bob, db))
                    print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        weed.stop()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000, help="small objects to scan (0: skip)")
    ap.add_argument("--protect", type=int, default=1000, help="files to protect in place (0: skip)")
    ap.add_argument("--protect-mib", type=int, default=1, help="size of each file to protect (MiB)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (comma-separated)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="c11-bench-protector-") as tmp:
        results = run(a.objects, a.protect, a.protect_mib, [int(w) for w in a.workers.split(",")], Path(tmp))
    if a.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if r["phase"] == "scan":
                print(
                    f"scan    {r['workers']} worker(s): {r['objects']} objects in {r['wall_s']} s = "
                    f"{r['objects_per_s']} objects/s (workers' CPU {r['worker_cpu_s']} s); planted {r['planted']}, "
                    f"missed {r['missed']}, false positives {r['false_positives']}; load {r['load']:.1f}"
                )
            else:
                print(
                    f"protect {r['workers']} worker(s): {r['files']} x {r['mib_each']} MiB in {r['wall_s']} s = "
                    f"{r['files_per_s']} files/s, {r['mib_per_s']} MiB/s (workers' CPU {r['worker_cpu_s']} s); "
                    f"load {r['load']:.1f}"
                )
    bad = [r for r in results if r["phase"] == "scan" and (r["missed"] or r["false_positives"])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
