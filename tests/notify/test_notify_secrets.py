"""Links with single-use secrets: kept apart from the stored body, completed at send time, erased once the
message is sent or dead (issue 12 item 11); a dead message whose secret is gone is never retried."""

from __future__ import annotations

import pytest
from notify_dbkit import migrated_engine, sqlite_url
from sqlalchemy import select

from c11.errors import NotifyError, PermanentDeliveryError
from c11.notify import outbox as ob
from c11.notify.branding import Branding
from c11.notify.outbox import SECRET_PLACEHOLDER, enqueue_rendered
from c11.notify.render import render
from c11.notify.worker import Worker

BRAND = Branding(base_url="https://c11.example.com")
SECRET = "c11v_" + "S3cr3t-Tok3n_" * 3


class _Collect:
    name = "collect"

    def __init__(self, fail: Exception | None = None) -> None:
        self.messages: list = []
        self.fail = fail

    def send(self, message) -> None:
        if self.fail is not None:
            raise self.fail
        self.messages.append(message)

    def close(self) -> None:
        pass


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("pg_schemas").new()
    e = migrated_engine(url)
    yield e
    e.dispose()


def _queue(engine) -> str:
    with engine.begin() as c:
        r = render(
            "email_verification",
            to="a@example.org",
            brand=BRAND,
            link=BRAND.link(f"/api/v1/accounts/verify?token={SECRET}"),
            expires_hours=48,
        )
        return enqueue_rendered(c, r, secret=SECRET)


def _row(engine, mid: str):
    with engine.connect() as c:
        return c.execute(select(ob.outbox).where(ob.outbox.c.id == mid)).one()


def _clean(row) -> bool:
    return all(SECRET not in (v or "") for v in (row.body_text, row.body_html, row.secret, row.last_error))


def test_secret_is_apart_until_sent_then_erased(engine):
    mid = _queue(engine)
    row = _row(engine, mid)
    assert SECRET_PLACEHOLDER in row.body_text and SECRET_PLACEHOLDER in row.body_html
    assert SECRET not in row.body_text + row.body_html and row.secret == SECRET
    sent = _Collect()
    assert Worker(engine, sent, sender="c11 <c11@example.com>").drain() == 1
    text = sent.messages[0].get_body(preferencelist=("plain",)).get_content()
    html = sent.messages[0].get_body(preferencelist=("html",)).get_content()
    assert SECRET in text and SECRET in html and SECRET_PLACEHOLDER not in text + html
    row = _row(engine, mid)
    assert row.status == "sent" and row.secret is None and _clean(row)


def test_dead_letter_keeps_no_secret_and_is_not_retried(engine):
    mid = _queue(engine)
    w = Worker(engine, _Collect(PermanentDeliveryError("mailbox does not exist")), sender="c11@example.com")
    w.drain()
    row = _row(engine, mid)
    assert row.status == "dead" and row.secret is None and _clean(row)
    with pytest.raises(NotifyError, match="single-use link"):
        ob.retry(engine, mid)
    assert ob.retry_dead(engine) == 0


def test_secret_must_be_in_the_body(engine):
    r = render("email_verification", to="a@example.org", brand=BRAND, link=BRAND.link("/verify?t=1"), expires_hours=48)
    with pytest.raises(NotifyError), engine.begin() as c:
        enqueue_rendered(c, r, secret=SECRET)
