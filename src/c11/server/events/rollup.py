"""Per-day rollups of usage events: what the admin console's charts read instead of a million events.

`usage_daily` counts an organization's events per UTC day and action; `usage_daily_actors` per UTC day,
actor and action; `usage_daily_people` per UTC day and actor (the unfiltered "most active people"). The indexer adds the events it inserts (`add`, same transaction, only rows actually
inserted), so the rollups never drift from `usage_events`. A chart query reads the whole UTC days of its
range from the rollups and only the partial days at its edges (at most two days) from the events; a document
filter, which the rollups do not keep, reads that document's events (the `doc_id` index bounds it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from c11.server.events.models import UsageDaily, UsageDailyActor, UsageDailyPerson


def day_of(at: datetime) -> str:
    """The UTC day of `at` as YYYY-MM-DD (the rollups' `day`)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def add(s: Session, rows: Iterable[Mapping[str, Any]], postgres: bool) -> None:
    """Count inserted events (dicts with org_id, at, action, actor, member_id) into both rollups."""
    days: Counter[tuple[str, str, str]] = Counter()
    actors: Counter[tuple[str, str, str, str]] = Counter()
    members: dict[tuple[str, str, str, str], str | None] = {}
    people: Counter[tuple[str, str, str]] = Counter()
    people_members: dict[tuple[str, str, str], str | None] = {}
    for r in rows:
        day = day_of(r["at"])
        days[(r["org_id"], day, r["action"])] += 1
        if r["actor"] is not None:
            key = (r["org_id"], day, r["actor"], r["action"])
            actors[key] += 1
            mid, old = r["member_id"], members.get(key)
            members[key] = mid if old is None or (mid is not None and mid > old) else old
            pkey = key[:3]
            people[pkey] += 1
            old = people_members.get(pkey)
            people_members[pkey] = mid if old is None or (mid is not None and mid > old) else old
    ins = postgresql.insert if postgres else sqlite.insert
    if days:
        q = ins(UsageDaily)
        s.execute(
            q.on_conflict_do_update(
                index_elements=["org_id", "day", "action"], set_={"n": UsageDaily.n + q.excluded.n}
            ),
            [{"org_id": o, "day": d, "action": a, "n": n} for (o, d, a), n in sorted(days.items())],
        )
    if actors:
        qa = ins(UsageDailyActor)
        new_id, old_id = qa.excluded.member_id, UsageDailyActor.member_id
        s.execute(
            qa.on_conflict_do_update(
                index_elements=["org_id", "day", "actor", "action"],
                set_={
                    "n": UsageDailyActor.n + qa.excluded.n,
                    "member_id": case(
                        (old_id.is_(None), new_id), (new_id.is_(None), old_id), (new_id > old_id, new_id), else_=old_id
                    ),
                },
            ),
            [
                {"org_id": o, "day": d, "actor": who, "action": a, "member_id": members[(o, d, who, a)], "n": n}
                for (o, d, who, a), n in sorted(actors.items())
            ],
        )
        qp = ins(UsageDailyPerson)
        new_id, old_id = qp.excluded.member_id, UsageDailyPerson.member_id
        s.execute(
            qp.on_conflict_do_update(
                index_elements=["org_id", "day", "actor"],
                set_={
                    "n": UsageDailyPerson.n + qp.excluded.n,
                    "member_id": case(
                        (old_id.is_(None), new_id), (new_id.is_(None), old_id), (new_id > old_id, new_id), else_=old_id
                    ),
                },
            ),
            [
                {"org_id": o, "day": d, "actor": who, "member_id": people_members[(o, d, who)], "n": n}
                for (o, d, who), n in sorted(people.items())
            ],
        )


def rebuild(conn: Connection) -> None:
    """Recount both rollups from `usage_events` (events loaded without the indexer, e.g. by bench/events.py)."""
    day = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" if conn.dialect.name == "postgresql" else "substr(at, 1, 10)"
    conn.execute(delete(UsageDailyPerson))
    conn.execute(delete(UsageDailyActor))
    conn.execute(delete(UsageDaily))
    conn.execute(
        text(
            f"INSERT INTO usage_daily (org_id, day, action, n) "
            f"SELECT org_id, {day}, action, count(*) FROM usage_events GROUP BY org_id, {day}, action"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO usage_daily_actors (org_id, day, actor, action, member_id, n) "
            f"SELECT org_id, {day}, actor, action, max(member_id), count(*) FROM usage_events "
            f"WHERE actor IS NOT NULL GROUP BY org_id, {day}, actor, action"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO usage_daily_people (org_id, day, actor, member_id, n) "
            f"SELECT org_id, {day}, actor, max(member_id), count(*) FROM usage_events "
            f"WHERE actor IS NOT NULL GROUP BY org_id, {day}, actor"
        )
    )
    if conn.dialect.name == "postgresql":  # statistics now: a plan for 4 rows over 400,000 sorts on disk
        for table in ("usage_daily", "usage_daily_actors", "usage_daily_people"):
            conn.execute(text(f"ANALYZE {table}"))


def split(since: datetime, until: datetime) -> tuple[tuple[str, str] | None, list[tuple[datetime, datetime]]]:
    """[since, until) as whole UTC days [first, last) for the rollups, and the partial-day edges (each under a
    day) for the events; no whole days: the range itself is the one edge."""
    first = _midnight(since)
    if first < since:
        first += timedelta(days=1)
    last = _midnight(until)
    if last <= first:
        return None, [(since, until)]
    edges = [(a, b) for a, b in ((since, first), (last, until)) if a < b]
    return (day_of(first), day_of(last)), edges


def _midnight(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC)


__all__ = ["add", "day_of", "rebuild", "split"]
