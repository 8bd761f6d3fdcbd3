"""Migration 0100 maps the outbox statuses older servers wrote (`failed`, `sending` without a lease) to the one
vocabulary (docs/notifications.md, "The outbox"), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from srvkit import BACKENDS

from c11.notify.outbox import DEAD, LABELS, QUEUED, SENDING, SENT, utcnow
from c11.server import migrate
from c11.server.db import make_engine


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0100_maps_old_statuses_to_the_one_vocabulary(backend, empty_db):
    url = empty_db(backend)
    migrate.upgrade(url, "0110")
    engine = make_engine(url)
    now, later = utcnow(), utcnow() + timedelta(minutes=5)
    old = {  # id: (status, locked_until, claimed_by) as servers before 0100 wrote them
        "failed": ("failed", None, None),  # the server's delivery step gave up
        "unleased": ("sending", None, None),  # the server's delivery step stopped mid-send
        "leased": ("sending", later, "w1"),  # a notify worker holds it
        "pending": ("pending", None, None),
        "sent": ("sent", None, None),
        "dead": ("dead", None, None),
    }
    insert = sa.text(
        "INSERT INTO outbox_messages (id, created_at, kind, recipient, subject, body_text, status, "
        "attempts, locked_until, claimed_by) VALUES (:id, :now, 'test', 'a@example.com', 's', 'b', "
        ":status, 1, :locked, :claimed)"
    )
    try:
        with engine.begin() as c:
            for mid, (status, locked, claimed) in old.items():
                c.execute(insert, {"id": mid, "now": now, "status": status, "locked": locked, "claimed": claimed})
        migrate.upgrade(engine)
        with engine.connect() as c:
            got = {mid: status for mid, status in c.execute(sa.text("SELECT id, status FROM outbox_messages"))}
    finally:
        engine.dispose()
    assert got == {"failed": DEAD, "unleased": QUEUED, "leased": SENDING, "pending": QUEUED, "sent": SENT, "dead": DEAD}
    assert set(got.values()) <= set(LABELS)
    assert migrate.current(url) == migrate.head()
