"""Protection jobs on a distributed task queue: procrastinate on PostgreSQL (docs/protector.md "Workers").

`c11 protector run NAME --queue URL` lists the connection and defers one job per batch of keys; any number of
`c11 protector worker --queue URL` processes (on any machines reaching the database) run them. A worker that dies
(SIGKILL, power loss) stops sending heartbeats: the other workers find its job stalled and retry it, and the key
being protected is finished or undone from the state database (`c11.protector.protection`). An object is
protected (or a crashed attempt finished) only under a PostgreSQL advisory lock, so two workers never work on the
same object at once; a killed worker's lock goes with its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import procrastinate

from c11.protector.storage import ObjectInfo

T = TypeVar("T")

#: the queue the protector's jobs go to
QUEUE = "c11-protector"
TASK = "c11.protector.protect"
#: keys per job (a retried job re-checks its done keys cheaply: they are unchanged in the state database)
DEFAULT_BATCH = 20
#: a worker without a heartbeat for this long is dead: its jobs are retried
DEFAULT_STALLED_AFTER = 10.0

#: handler(connection, objects, rules): what a worker does with one job; `objects`: [key, etag, size] as listed,
#: `rules`: the rules file's TOML text
Handler = Callable[[str, list[list[Any]], str], None]

log = logging.getLogger("c11.protector.queue")


def _conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy-style one (postgresql+psycopg:// -> postgresql://)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith(("postgresql", "postgres")):
        from c11.errors import UsageError

        raise UsageError(f"the queue needs a PostgreSQL URL (postgresql://...), not {scheme or url!r}")
    return "postgresql://" + rest


def make_app(url: str, handler: Handler | None = None) -> procrastinate.App:
    """A procrastinate app on the PostgreSQL database at `url`; `handler` runs the jobs (None: defer only)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(url)))

    def protect(connection: str, objects: list[list[Any]], rules: str) -> None:
        if handler is None:
            raise RuntimeError("this queue app only defers jobs")
        handler(connection, objects, rules)

    app.task(
        name=TASK,
        queue=QUEUE,
        retry=procrastinate.RetryStrategy(max_attempts=5, wait=2),
    )(protect)
    return app


def ensure_schema(app: procrastinate.App) -> None:
    """Create procrastinate's tables in the database the first time (`schema --apply`)."""
    with app.open():
        if not app.check_connection():
            app.schema_manager.apply_schema()


def batches(keys: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for k in keys:
        batch.append(k)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def defer(
    app: procrastinate.App,
    connection: str,
    objects: Iterable[ObjectInfo],
    rules: str,
    *,
    batch: int = DEFAULT_BATCH,
    per_call: int = 500,
) -> int:
    """Defer jobs of `batch` listed objects each, carrying the rules' TOML text (`per_call` jobs per database round trip); returns the number of keys."""
    task = app.tasks[TASK]
    n = 0
    with app.open():
        pending: list[dict[str, Any]] = []
        for b in batches(objects, batch):
            pending.append({"connection": connection, "objects": [[o.key, o.etag, o.size] for o in b], "rules": rules})
            n += len(b)
            if len(pending) >= per_call:
                task.batch_defer(*pending)
                pending = []
        if pending:
            task.batch_defer(*pending)
    return n


def pending(app: procrastinate.App) -> int:
    """Jobs of the protector's queue not finished yet (todo or doing)."""
    with app.open():
        rows = app.job_manager.list_jobs(queue=QUEUE)
        return sum(1 for j in rows if j.status in ("todo", "doing"))


async def _retry_stalled(app: procrastinate.App, after: float) -> int:
    jobs = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=after)
    n = 0
    for job in jobs:
        with contextlib.suppress(Exception):  # another worker retried it first
            await app.job_manager.retry_job(job)
            n += 1
            log.warning("retrying job %s of a worker that stopped sending heartbeats", job.id)
    return n


async def _work(app: procrastinate.App, concurrency: int, stalled_after: float, wait: bool, name: str | None) -> None:
    async with app.open_async():
        options: dict[str, Any] = {"name": name} if name else {}
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                wait=wait,
                update_heartbeat_interval=max(stalled_after / 4, 0.5),
                stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=1.0,
                **options,
            )
        )
        while not worker.done():
            await _retry_stalled(app, stalled_after)
            await asyncio.wait([worker], timeout=max(stalled_after / 2, 0.5))
        await worker


def work(
    app: procrastinate.App,
    *,
    concurrency: int = 1,
    stalled_after: float = DEFAULT_STALLED_AFTER,
    wait: bool = True,
    name: str | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM (or, `wait=False`, until the queue is empty), retrying stalled jobs."""
    asyncio.run(_work(app, concurrency, stalled_after, wait, name))


class KeyLocks:
    """Per-object locks for workers sharing a PostgreSQL state database (advisory locks on one connection of the
    worker: a killed worker's locks are released with its connection). On SQLite (one process): no-op."""

    def __init__(self, engine: Any) -> None:
        self._conn = engine.connect() if engine.dialect.name == "postgresql" else None

    def for_connection(self, connection: str) -> Callable[[str], contextlib.AbstractContextManager[bool]]:
        """`lock(key)` for `Protector.lock`."""
        return lambda key: self.hold(connection, key)

    @contextlib.contextmanager
    def hold(self, connection: str, key: str) -> Iterator[bool]:
        """Yields whether the lock was taken (False: another worker is on this key)."""
        if self._conn is None:
            yield True
            return
        from sqlalchemy import text

        n = int.from_bytes(hashlib.sha256(f"{connection}\0{key}".encode()).digest()[:8], "big", signed=True)
        got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:n)"), {"n": n}).scalar())
        self._conn.commit()
        try:
            yield got
        finally:
            if got:
                self._conn.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": n})
                self._conn.commit()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def run_objects(process: Callable[[str, ObjectInfo | None], Any], objects: Sequence[Sequence[Any]]) -> list[Any]:
    """Process each job object ([key, etag, size] as listed)."""
    return [process(key, ObjectInfo(key, size, etag=etag) if etag else None) for key, etag, size in objects]
