#!/usr/bin/env python3
"""Benchmark of resumable uploads (issue 15): N concurrent uploads of SIZE MiB through the c11 server into
SeaweedFS (S3), side by side with the same uploads straight to SeaweedFS, in one run.

    python bench/sharing.py [--uploads 20] [--mib 100] [--part-mib 5]

1. SeaweedFS alone: N threads, each an S3 multipart upload (boto3, parts of --part-mib) of the file.
2. Through c11: N threads, each the SDK's tus uploader (`c11.client.sharing.SharingAPI.upload`: SHA-256 of the
   file, POST, PATCH chunks of 20 MiB, completion) into a `c11 serve` process storing to the same SeaweedFS.
The server's RSS is sampled every 50 ms (/proc); its growth over idle is reported.
Targets: RSS growth <= 150 MiB (at most one part per upload in memory); throughput >= 50 % of SeaweedFS alone.

    python bench/sharing.py --browser 1024     # 1 GiB through the browser end to end (instead of the above)

--browser MIB: a `c11 serve` (SQLite, folder storage, loopback) and two people; in Debian's Chromium, the sender's
context encrypts and uploads a MIB file on the Send page (streamed tus upload), the recipient's context opens the
link and saves the decrypted file through the streamed download; the saved file's SHA-256 is checked. Side by side
in the same run, the same file through the CLI (`c11 send`, `c11 receive`: the SDK). Reported: seconds and MiB/s
of each step, the peak RSS of all the browser's processes (sampled every 100 ms) and of the server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import _bench

ROOT = _bench.ROOT
sys.path.insert(0, str(ROOT / "tests" / "sharing"))
MiB = 1 << 20


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.05)

    def __enter__(self) -> Sampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def make_user(database_url: str) -> str:
    """A verified account with a CLI session token, straight in the database (set-up, not measured)."""
    from c11.server import migrate, models  # noqa: F401  (every table)
    from c11.server.accounts.models import LoginSession, User
    from c11.server.credentials import digest
    from c11.server.db import Database, utcnow

    migrate.upgrade(database_url)
    token = f"c11s_{secrets.token_urlsafe(32)}"
    db = Database(database_url)
    with db.session() as s:
        user = User(email=f"bench-{secrets.token_hex(4)}@example.com", email_verified_at=utcnow())
        s.add(user)
        s.flush()
        s.add(
            LoginSession(
                user_id=user.id, token_hash=digest(token), kind="bearer", expires_at=utcnow() + timedelta(days=1)
            )
        )
    db.dispose()
    return token


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--part-mib", type=int, default=5)
    ap.add_argument("--browser", type=int, metavar="MIB", help="MIB through the browser end to end instead")
    args = ap.parse_args()
    if args.browser:
        import _sharing_browser

        return _sharing_browser.run(args.browser)
    from weedkit import start_weed

    from c11.client import Client
    from c11.client.sharing import SharingAPI

    with tempfile.TemporaryDirectory(prefix="c11-bench-sharing-") as t:
        tmp = Path(t)
        src = tmp / "payload.bin"
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(MiB))
        total = args.uploads * args.mib
        weed = start_weed(tmp / "weed")
        server = None
        try:
            # 1. SeaweedFS alone
            from boto3.s3.transfer import TransferConfig

            s3 = weed.client()
            cfg = TransferConfig(
                multipart_threshold=args.part_mib * MiB, multipart_chunksize=args.part_mib * MiB, max_concurrency=1
            )

            def direct(i: int) -> None:
                s3.upload_file(str(src), weed.bucket, f"direct/{i}", Config=cfg)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.uploads) as pool:
                list(pool.map(direct, range(args.uploads)))
            direct_s = time.perf_counter() - t0

            # 2. through c11
            data = tmp / "data"
            url = f"sqlite:///{tmp / 'c11.db'}"
            token = make_user(url)
            port = _bench.free_port()
            env = {
                **os.environ,
                **weed.env(),
                "C11_DATA_DIR": str(data),
                "C11_DATABASE_URL": url,
                "C11_UPLOAD_PART_MIB": str(args.part_mib),
                "PYTHONPATH": str(ROOT / "src"),
            }
            server = subprocess.Popen(
                [sys.executable, "-m", "c11.cli.main", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            _bench.wait_until_up(server, f"http://127.0.0.1:{port}/healthz", timeout=300)
            base = f"http://127.0.0.1:{port}"
            small = tmp / "small.bin"
            small.write_bytes(os.urandom(6 * MiB))
            with Client(base, token, timeout=120) as c:
                SharingAPI(c).upload(small)  # warm: imports, boto3 client, pools
            time.sleep(0.5)
            idle = rss_mib(server.pid)

            def through(i: int) -> None:
                with Client(base, token, timeout=120) as c:
                    SharingAPI(c).upload(src)

            with Sampler(server.pid) as sampler:
                t0 = time.perf_counter()
                with ThreadPoolExecutor(args.uploads) as pool:
                    list(pool.map(through, range(args.uploads)))
                c11_s = time.perf_counter() - t0
            growth = sampler.peak - idle
            ratio = direct_s / c11_s
            print(f"uploads: {args.uploads} x {args.mib} MiB = {total} MiB, part size {args.part_mib} MiB")
            print(f"SeaweedFS alone (boto3 multipart): {direct_s:6.1f} s  {total / direct_s:7.1f} MiB/s")
            print(
                f"through c11 (tus, SDK uploader):   {c11_s:6.1f} s  {total / c11_s:7.1f} MiB/s  ({ratio:.0%} of alone; target >= 50%)"
            )
            print(
                f"server RSS: idle {idle:.0f} MiB, peak {sampler.peak:.0f} MiB, growth {growth:.0f} MiB (target <= 150)"
            )
            ok = growth <= 150 and ratio >= 0.5
            print("PASS" if ok else "FAIL")
            return 0 if ok else 1
        finally:
            if server is not None:
                _bench.stop_servers(server)
            weed.stop()


if __name__ == "__main__":
    raise SystemExit(main())
