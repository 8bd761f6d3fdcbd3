"""What the server benchmarks share: a throw-away database, free ports, waiting for and stopping servers,
and reading one HTTP/1.1 answer off a keep-alive connection (the load generators speak raw HTTP: cheap).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
PG_URL = os.environ.get("C11_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def bench_database(backend: str, tmp: Path) -> Iterator[str]:
    """A database URL: SQLite in `tmp`, or a fresh schema c11_bench_<random> in PG_URL, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'c11.db'}"
        return
    import sqlalchemy as sa

    schema = f"c11_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving `url` (a `bench_database` URL: its connections
    carry the schema as application_name; PostgreSQL runs on this host, /proc). {} for SQLite. A backend that
    ends between two calls is missed (the pools keep theirs open during a run)."""
    if not url.startswith("postgresql") or "application_name=" not in url:
        return {}
    import sqlalchemy as sa

    name = url.rsplit("application_name=", 1)[1].split("&")[0]
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as c:
            pids = [
                r[0]
                for r in c.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": name})
            ]
    finally:
        engine.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends of `database_cpu` used between two readings (new backends from zero)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def wait_until_up(proc: subprocess.Popen, probe_url: str, timeout: float = 180) -> subprocess.Popen:
    """Return `proc` once GET `probe_url` answers 200; raise with the server's stderr if it exits first."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(probe_url).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
    proc.kill()
    raise RuntimeError("server did not start")


def stop_servers(*procs: subprocess.Popen) -> None:
    """Terminate servers and wait for them (kill after 20 s)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)
