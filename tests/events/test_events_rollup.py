"""The per-day rollups of usage events (c11.server.events.rollup) on SQLite and PostgreSQL: kept by the indexer
(entries read again after a reset count nothing twice), recounted by `rebuild` (the SQL of migration 0150's
backfill) to the same numbers, and the chart queries (per day, most active people) answer exactly what a
GROUP BY over the events answers, for whole days, partial-day edges and every filter."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from evkit import append_admin, database, make_org, server_ctx
from srvkit import BACKENDS, RunningServer, backend_server

from c11.log.entries import email_hash
from c11.server.events import rollup, service
from c11.server.events.indexer import Indexer
from c11.server.events.models import UsageDaily, UsageDailyActor, UsageDailyPerson, UsageEvent, UsageIndexState


@pytest.fixture(scope="module", params=BACKENDS)
def rollup_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "rollup") as running:
        yield running


def _rollups(server: RunningServer, org: str) -> tuple[list, list, list]:
    from sqlalchemy import select

    with database(server) as db, db.session() as s:
        days = sorted(
            tuple(r)
            for r in s.execute(
                select(UsageDaily)
                .where(UsageDaily.org_id == org)
                .with_only_columns(UsageDaily.day, UsageDaily.action, UsageDaily.n)
            )
        )
        actors = sorted(
            tuple(r)
            for r in s.execute(
                select(
                    UsageDailyActor.day,
                    UsageDailyActor.actor,
                    UsageDailyActor.action,
                    UsageDailyActor.member_id,
                    UsageDailyActor.n,
                ).where(UsageDailyActor.org_id == org)
            )
        )
        people = sorted(
            tuple(r)
            for r in s.execute(
                select(
                    UsageDailyPerson.day, UsageDailyPerson.actor, UsageDailyPerson.member_id, UsageDailyPerson.n
                ).where(UsageDailyPerson.org_id == org)
            )
        )
    # the people rollup is the actor rollup summed over actions
    summed: dict = {}
    for d, who, _, mid, n in actors:
        n0, m0 = summed.get((d, who), (0, None))
        summed[(d, who)] = (n0 + n, mid if m0 is None or (mid is not None and mid > m0) else m0)
    assert people == sorted((d, who, m, n) for (d, who), (n, m) in summed.items())
    return days, actors, people


def test_indexer_keeps_the_rollups_and_a_reset_counts_nothing_twice(rollup_server, monkeypatch):
    from sqlalchemy import update

    from c11.server.events import indexer as indexer_module

    admin = f"root-{uuid.uuid4().hex[:8]}@example.com"
    org = make_org(rollup_server, f"Rollup {uuid.uuid4().hex[:6]}", admin)
    ix = Indexer(server_ctx(rollup_server))
    ix.run()
    days0, actors0, _ = _rollups(rollup_server, org)
    for _ in range(5):
        append_admin(rollup_server, org, "policies.update", email_hash(admin), org)
    append_admin(rollup_server, org, "member.add", "operator", email_hash("x@example.com"))
    assert ix.run() == 6
    days, actors, people = _rollups(rollup_server, org)
    today = rollup.day_of(datetime.now(UTC))
    n0 = sum(n for d, a, n in days0 if d == today and a == "admin")
    assert sum(n for d, a, n in days if d == today and a == "admin") == n0 + 6
    mine = [r for r in actors if r[1] == email_hash(admin)]
    assert sum(r[4] for r in mine) >= 5 and all(r[3] is not None for r in mine)  # the member, by ID
    # the whole log read again (state reset), in big and small batches: no event inserted, nothing counted twice
    for batch in (5000, 2):
        monkeypatch.setattr(indexer_module, "BATCH", batch)
        with database(rollup_server) as db, db.session() as s:
            s.execute(update(UsageIndexState).values(next_idx=0))
        assert ix.run() > 0
        assert _rollups(rollup_server, org) == (days, actors, people)
    # rebuild (migration 0150's backfill) recounts the same numbers from the events
    with database(rollup_server) as db, db.engine.begin() as c:
        rollup.rebuild(c)
    assert _rollups(rollup_server, org) == (days, actors, people)


ACTIONS = ("open", "protect", "share", "admin", "expiry")


@pytest.fixture(scope="module")
def spread(rollup_server) -> dict:
    """An organization with 600 events over 20 days at random times (some without an actor), loaded as the
    benchmark loads them and counted into the rollups by `rebuild`."""
    admin = f"root-{uuid.uuid4().hex[:8]}@example.com"
    org = make_org(rollup_server, f"Spread {uuid.uuid4().hex[:6]}", admin)
    rnd = random.Random(16)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    people = [email_hash(f"p{i}@example.com") for i in range(6)]
    docs = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(4)]
    rows = []
    for i in range(600):
        action = rnd.choice(ACTIONS)
        rows.append(
            {
                "org_id": org,
                "log_index": 10_000_000 + i,
                "at": start + timedelta(seconds=rnd.randrange(20 * 86400)),
                "action": action,
                "actor": None if action == "expiry" else rnd.choice(people),
                "member_id": rnd.choice([None, "m1", "m2"]),
                "doc_id": rnd.choice(docs) if action in ("open", "share") else None,
                "target": None,
                "target_member_id": None,
                "detail": json.dumps({}),
            }
        )
    with database(rollup_server) as db:
        with db.session() as s:
            s.execute(UsageEvent.__table__.insert(), rows)
        with db.engine.begin() as c:
            rollup.rebuild(c)
    return {"org": org, "start": start, "people": people, "docs": docs, "rnd": rnd}


def _raw(f: service.EventFilter):  # what a GROUP BY over the events answers
    def daily(s):
        out: dict = {}
        for d, a, n in service._daily_events(s, f):
            item = out.setdefault(d, {"day": d, "total": 0, "counts": {}})
            item["counts"][a] = n
            item["total"] += n
        return [out[d] for d in sorted(out)]

    def top(s):
        totals = {a: n for a, _, n in service._top_events(s, f)}
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    return daily, top


def test_chart_queries_equal_a_group_by_over_the_events(rollup_server, spread):
    org, start, rnd = spread["org"], spread["start"], spread["rnd"]
    ranges = [
        (start, start + timedelta(days=20)),  # whole days only
        (start - timedelta(days=3), start + timedelta(days=30)),  # beyond the data
        (start + timedelta(hours=7, minutes=13), start + timedelta(days=12, hours=5)),  # partial days at both edges
        (start + timedelta(days=4, hours=2), start + timedelta(days=4, hours=20)),  # inside one day
        (start + timedelta(days=4, hours=20), start + timedelta(days=5, hours=3)),  # across one midnight
    ] + [tuple(sorted(start + timedelta(seconds=rnd.randrange(21 * 86400)) for _ in range(2))) for _ in range(6)]
    filters = [
        {},
        {"actions": ("open",)},
        {"actions": ("open", "admin")},
        {"actor": spread["people"][0]},
        {"actor": spread["people"][1], "actions": ("share",)},
        {"doc_id": spread["docs"][0]},
    ]
    with database(rollup_server) as db, db.session() as s:
        for since, until in ranges:
            if since == until:
                continue
            for kw in filters:
                f = service.EventFilter(org, since=since, until=until, **kw)
                daily, top = _raw(f)
                assert service.daily(s, f) == daily(s), (since, until, kw)
                got = [(a["actor_hash"], a["total"]) for a in service.top_actors(s, f, limit=100)]
                assert got == top(s), (since, until, kw)
        # the whole-day part of a range is read from the rollups: change them and the answer follows
        f = service.EventFilter(org, since=start, until=start + timedelta(days=20))
        before = sum(d["total"] for d in service.daily(s, f))
        from sqlalchemy import update

        s.execute(
            update(UsageDaily)
            .where(UsageDaily.org_id == org, UsageDaily.day == "2026-03-02")
            .values(n=UsageDaily.n + 1000)
        )
        assert sum(d["total"] for d in service.daily(s, f)) > before + 999
        s.rollback()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0150_fills_the_rollups_from_existing_events(backend, empty_db):
    """An upgrade over a database with events (at 0140) counts them into both rollups (the backfill)."""
    import sqlalchemy as sa

    from c11.server import migrate
    from c11.server.db import make_engine

    url = empty_db(backend)
    migrate.upgrade(url, "0140")
    engine = make_engine(url)
    rows = [
        ("o1", 1, datetime(2026, 5, 1, 23, 59, 59, tzinfo=UTC), "open", "a", "m1"),
        ("o1", 2, datetime(2026, 5, 1, 0, 0, 0, tzinfo=UTC), "open", "a", None),
        ("o1", 3, datetime(2026, 5, 2, 0, 0, 0, tzinfo=UTC), "open", "a", "m2"),
        ("o1", 4, datetime(2026, 5, 2, 8, 0, 0, tzinfo=UTC), "expiry", None, None),
        ("o1", 5, datetime(2026, 5, 2, 9, 0, 0, tzinfo=UTC), "share", "b", None),
    ]
    try:
        with engine.begin() as c:
            c.execute(
                sa.text("INSERT INTO organizations (id, name, policies, created_at) VALUES ('o1', 'O', '{}', :t)"),
                {"t": rows[0][2]},
            )
            c.execute(
                UsageEvent.__table__.insert(),
                [
                    {"org_id": o, "log_index": i, "at": at, "action": a, "actor": who, "member_id": m, "detail": "{}"}
                    for o, i, at, a, who, m in rows
                ],
            )
        migrate.upgrade(engine)
        with engine.connect() as c:
            days = sorted(tuple(r) for r in c.execute(sa.text("SELECT day, action, n FROM usage_daily")))
            actors = sorted(
                tuple(r) for r in c.execute(sa.text("SELECT day, actor, action, member_id, n FROM usage_daily_actors"))
            )
            people = sorted(
                tuple(r) for r in c.execute(sa.text("SELECT day, actor, member_id, n FROM usage_daily_people"))
            )
    finally:
        engine.dispose()
    assert days == [("2026-05-01", "open", 2), ("2026-05-02", "expiry", 1), ("2026-05-02", "open", 1),
                    ("2026-05-02", "share", 1)]  # fmt: skip
    assert actors == [("2026-05-01", "a", "open", "m1", 2), ("2026-05-02", "a", "open", "m2", 1),
                      ("2026-05-02", "b", "share", None, 1)]  # fmt: skip
    assert people == [("2026-05-01", "a", "m1", 2), ("2026-05-02", "a", "m2", 1), ("2026-05-02", "b", None, 1)]
