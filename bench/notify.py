#!/usr/bin/env python3
"""Benchmarks of notifications (issue 5): worker throughput to a local SMTP server, and the cost of queuing.

    python bench/notify.py [--messages 2000] [--database-url URL]

1. Queuing: inside one open database transaction, time each `render(...)` + `enqueue_rendered(...)` call
   (what a request that causes a notification pays), and the INSERT alone; median and p99 in ms.
   Target: under 2 ms.
2. Delivery: N queued messages, one worker, SMTP (plain, one reused connection) to an aiosmtpd server on
   loopback; messages per second from the first claim to the last `sent`. Target: at least 200/s.

Default database: SQLite in a temporary folder; `--database-url postgresql+psycopg://...` for PostgreSQL
(use a fresh schema: `?options=-csearch_path%3Dmyschema`).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _schema(url: str):  # type: ignore[no-untyped-def]
    from c11.server import migrate
    from c11.server.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    from aiosmtpd.controller import Controller
    from sqlalchemy import func, select

    from c11.notify.branding import Branding
    from c11.notify.outbox import enqueue_rendered, outbox
    from c11.notify.render import render
    from c11.notify.transports.smtp import SmtpTransport
    from c11.notify.worker import Worker

    tmp = Path(tempfile.mkdtemp(prefix="c11-bench-notify-"))
    url = args.database_url or f"sqlite:///{tmp / 'c11.db'}"
    engine = _schema(url)
    brand = Branding(base_url="https://c11.example.com")
    n = args.messages

    # -- 1. queuing inside a transaction ----------------------------------------------------------------
    full: list[float] = []
    insert_only: list[float] = []
    pre = render("document_shared", to="warm@example.org", brand=brand, sender="Alice", link=brand.link("/d/w"))
    with engine.begin() as c:  # warm-up: templates compiled, statement cached
        enqueue_rendered(c, pre)
    for i in range(n):
        with engine.begin() as c:
            t0 = time.perf_counter()
            r = render(
                "document_shared", to=f"user{i}@example.org", brand=brand, sender="Alice", link=brand.link(f"/d/{i}")
            )
            t1 = time.perf_counter()
            enqueue_rendered(c, r)
            t2 = time.perf_counter()
        full.append((t2 - t0) * 1000)
        insert_only.append((t2 - t1) * 1000)

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]

    print(f"database: {engine.dialect.name}")
    print(
        f"queue (render + INSERT in the caller's transaction): median {statistics.median(full):.3f} ms, "
        f"p99 {p(full, 0.99):.3f} ms  (target < 2 ms)"
    )
    print(
        f"queue (INSERT only):                                 median {statistics.median(insert_only):.3f} ms, "
        f"p99 {p(insert_only, 0.99):.3f} ms"
    )

    # -- 2. delivery to a local SMTP server --------------------------------------------------------------
    received = [0]
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                received[0] += 1
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    total = n + 1
    try:
        transport = SmtpTransport("127.0.0.1", port, security="none")
        worker = Worker(engine, transport, sender="c11 <no-reply@c11.example.com>", batch=100)
        t0 = time.perf_counter()
        while worker.run_once():
            pass
        elapsed = time.perf_counter() - t0
        transport.close()
    finally:
        controller.stop()
    with engine.connect() as c:
        sent = c.execute(select(func.count()).select_from(outbox).where(outbox.c.status == "sent")).scalar()
    rate = total / elapsed
    print(
        f"delivery: {sent}/{total} sent, {received[0]} received by SMTP, {elapsed:.2f} s, "
        f"{rate:.0f} messages/s  (target >= 200/s)"
    )
    ok = statistics.median(full) < 2.0 and rate >= 200 and sent == total == received[0]
    print("PASS" if ok else "FAIL")
    engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
