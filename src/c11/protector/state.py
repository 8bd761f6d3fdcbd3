"""The protector's own database: the state of every object of every connection, and each connection's cursor.

One row per (connection, key): what a run last saw (etag, mtime, size), what it did (`status`), why (`reason`), and
for a protected object the key and etag of the verified protected object. Runs resume from it and never protect an
object twice. SQLite (a file in the protector's data folder) by default; PostgreSQL for many workers. The schema is
migrated by Alembic scripts of its own (`c11/protector/migrations`, version table `c11_protector_alembic_version`),
apart from the key server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

#: every status an object can have (docs/protector.md "State")
SEEN, PROTECTING, VERIFIED, PROTECTED, SKIPPED, REPORTED, FAILED = (
    "seen",
    "protecting",
    "verified",
    "protected",
    "skipped",
    "reported",
    "failed",
)
STATUSES = (SEEN, PROTECTING, VERIFIED, PROTECTED, SKIPPED, REPORTED, FAILED)
#: statuses after which the same content (same etag) is not looked at again
FINAL = (PROTECTED, SKIPPED, REPORTED)
VERSION_TABLE = "c11_protector_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    pass


class ObjectRow(Base):
    """One object of one connection, as the protector last left it."""

    __tablename__ = "protector_objects"

    connection: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(200))
    mtime: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    size: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(32))
    detectors: Mapped[str | None] = mapped_column(Text)  # comma-separated detector names, never a matched value
    target: Mapped[str | None] = mapped_column(String(1024))  # key of the protected object
    target_etag: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the original plaintext, compared on verification
    doc_id: Mapped[str | None] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CursorRow(Base):
    """The change-feed cursor `watch` resumes from (backends with a delta API)."""

    __tablename__ = "protector_cursors"

    connection: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class ObjectState:
    """A read-only copy of a row."""

    connection: str
    key: str
    status: str
    reason: str | None
    etag: str | None
    action: str | None
    detectors: tuple[str, ...]
    target: str | None
    target_etag: str | None
    sha256: str | None
    doc_id: str | None
    attempts: int

    @classmethod
    def of(cls, r: Any) -> ObjectState:
        """From an `ObjectRow` or a result row of its table."""
        return cls(
            r.connection,
            r.key,
            r.status,
            r.reason,
            r.etag,
            r.action,
            tuple(d for d in (r.detectors or "").split(",") if d),
            r.target,
            r.target_etag,
            r.sha256,
            r.doc_id,
            r.attempts,
        )


_OBJECTS: Table = ObjectRow.__table__  # type: ignore[assignment]


def _now() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for `url` (SQLite: WAL and a busy timeout, so several processes share the file)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Apply the protector's migrations up to head."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class StateDB:
    """The protector's state database (`open_state(url)` migrates it first)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def get(self, connection: str, key: str) -> ObjectState | None:
        t = _OBJECTS
        with self.engine.connect() as c:
            r = c.execute(select(t).where(t.c.connection == connection, t.c.key == key)).first()
        return None if r is None else ObjectState.of(r)

    def set(self, connection: str, key: str, status: str, *, new: bool = False, **fields: object) -> None:
        """Create or update the row of (connection, key): `status` and the given columns (one UPDATE, or an
        INSERT for a new object; `new`: try the INSERT first. Plain SQL: the hot path of a scan)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if "detectors" in fields and not isinstance(fields["detectors"], str | None):
            fields["detectors"] = ",".join(fields["detectors"])  # type: ignore[arg-type]
        t = _OBJECTS
        values = {"status": status, "updated_at": _now(), **fields}
        for _ in range(3):
            try:
                with self.engine.begin() as c:
                    if new:
                        c.execute(insert(t).values(connection=connection, key=key, attempts=0, **values))
                        return
                    done = c.execute(update(t).where(t.c.connection == connection, t.c.key == key).values(**values))
                    if done.rowcount == 0:
                        c.execute(insert(t).values(connection=connection, key=key, attempts=0, **values))
                return
            except IntegrityError:  # inserted meanwhile: update it
                new = False
                continue
        raise RuntimeError(f"{key}: could not record its state")

    def begin_attempt(self, connection: str, key: str, etag: str | None) -> int:
        """Count one more attempt at the object (returns the count)."""
        with Session(self.engine) as s, s.begin():
            r = s.get(ObjectRow, (connection, key), with_for_update=True)
            if r is None:
                r = ObjectRow(connection=connection, key=key, status=SEEN, etag=etag, attempts=0, updated_at=_now())
                s.add(r)
            r.attempts += 1
            return r.attempts

    def counts(self, connection: str) -> dict[str, int]:
        """Objects per status."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(ObjectRow.status, func.count())
                .where(ObjectRow.connection == connection)
                .group_by(ObjectRow.status)
            )
            return {status: n for status, n in rows}

    def objects(self, connection: str, status: str | None = None) -> Iterator[ObjectState]:
        """Every row of a connection (by key), optionally of one status."""
        q = select(ObjectRow).where(ObjectRow.connection == connection).order_by(ObjectRow.key)
        if status is not None:
            q = q.where(ObjectRow.status == status)
        with Session(self.engine) as s:
            for r in s.scalars(q.execution_options(yield_per=500)):
                yield ObjectState.of(r)

    def forget(self, connection: str) -> None:
        """Mark every row of a connection as seen again (`run --rescan`): statuses are kept as reasons."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(ObjectRow).where(ObjectRow.connection == connection).values(etag=None))

    def cursor(self, connection: str) -> str | None:
        with Session(self.engine) as s:
            r = s.get(CursorRow, connection)
            return None if r is None else r.cursor

    def set_cursor(self, connection: str, cursor: str) -> None:
        with Session(self.engine) as s, s.begin():
            r = s.get(CursorRow, connection)
            if r is None:
                s.add(CursorRow(connection=connection, cursor=cursor, updated_at=_now()))
            else:
                r.cursor, r.updated_at = cursor, _now()


def open_state(url: str) -> StateDB:
    """The state database at `url` (sqlite:///PATH or postgresql://...), migrated to the newest schema."""
    engine = make_engine(url)
    upgrade(engine)
    return StateDB(engine)
