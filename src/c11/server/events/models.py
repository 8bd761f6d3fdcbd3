"""Tables of usage monitoring: the events of each organization, derived from the log, and the indexer's place.

`usage_events` holds metadata only (email hashes, member IDs, document IDs, log indexes), never content
or file names. Indexes are built for the admin queries: one organization, optionally one user or action,
a time range, newest first (see bench/events.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, utcnow


class UsageEvent(Base):
    """One event of one organization, read from log entry `log_index` (an entry may concern two orgs).

    `actor` and `target` are what the entry names (an email hash, or an ID for some admin targets);
    `member_id` / `target_member_id` are the organization's members they were when indexed.
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_org_at", "org_id", "at", "log_index"),
        Index("ix_usage_events_org_actor_at", "org_id", "actor", "at", "log_index"),
        Index("ix_usage_events_org_action_at", "org_id", "action", "at", "log_index"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str | None] = mapped_column(String(64))
    member_id: Mapped[str | None] = mapped_column(String(32))
    doc_id: Mapped[str | None] = mapped_column(String(36), index=True)
    target: Mapped[str | None] = mapped_column(String(64))
    target_member_id: Mapped[str | None] = mapped_column(String(32))
    #: JSON object of metadata (e.g. {"online": true}, {"op": "member.add"}); never content or names.
    detail: Mapped[str] = mapped_column(Text, default="{}")


class UsageIndexState(Base):
    """The single row (id 1): the next log index the indexer will read."""

    __tablename__ = "usage_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_idx: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsageDaily(Base):
    """Events of one organization on one UTC day (`day`, YYYY-MM-DD) with one action: the per-day chart's rollup.

    Kept by the indexer in the transaction that inserts the events (only rows actually inserted count)."""

    __tablename__ = "usage_daily"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    action: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class UsageDailyActor(Base):
    """Events of one actor (email hash) in one organization on one UTC day with one action: the rollup of the
    "most active people" chart. `member_id` is a member the actor was (any one, as `max(member_id)` of the events)."""

    __tablename__ = "usage_daily_actors"
    __table_args__ = (Index("ix_usage_daily_actors_org_actor_day", "org_id", "actor", "day"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(24), primary_key=True)
    member_id: Mapped[str | None] = mapped_column(String(32))
    n: Mapped[int] = mapped_column(BigInteger)


class UsageDailyPerson(Base):
    """Events of one actor in one organization on one UTC day, all actions together: the "most active people"
    chart without a filter reads these (a quarter of `usage_daily_actors`' rows for the benchmark's data)."""

    __tablename__ = "usage_daily_people"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str | None] = mapped_column(String(32))
    n: Mapped[int] = mapped_column(BigInteger)
