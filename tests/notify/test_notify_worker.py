"""The delivery worker on SQLite and PostgreSQL: claiming, retries, dead letters, outages, two workers at once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from notify_dbkit import Schemas, migrated_engine, pg_unreachable_reason, sqlite_url
from smtpkit import PASSWORD, USER, SmtpServer
from sqlalchemy import select, update

from c11.errors import PermanentDeliveryError, TransientDeliveryError
from c11.notify import outbox as ob
from c11.notify.branding import Branding
from c11.notify.outbox import enqueue_rendered
from c11.notify.render import render
from c11.notify.transports.outbox_folder import OutboxFolderTransport
from c11.notify.transports.smtp import SmtpTransport
from c11.notify.worker import Worker, backoff

BRAND = Branding(base_url="https://c11.example.com")
SENDER = "c11 <no-reply@c11.example.com>"


@pytest.fixture(scope="module")
def schemas():
    s = Schemas() if pg_unreachable_reason() is None else None
    yield s
    if s is not None:
        s.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, schemas):
    if request.param == "postgresql":
        if schemas is None:
            pytest.skip(f"PostgreSQL unreachable: {pg_unreachable_reason()}")
        url = schemas.new()
    else:
        url = sqlite_url(tmp_path)
    e = migrated_engine(url)
    yield e
    e.dispose()


def _queue(engine, n: int, kind: str = "document_shared") -> list[str]:
    ids = []
    with engine.begin() as c:
        for i in range(n):
            r = render(kind, to=f"user{i}@example.org", brand=BRAND, sender="Alice", link=BRAND.link(f"/d/{i}"))
            ids.append(enqueue_rendered(c, r))
    return ids


def _status(engine, mid: str):
    with engine.connect() as c:
        return c.execute(select(ob.outbox).where(ob.outbox.c.id == mid)).one()


class Recording:
    """A transport that records outbox IDs (thread-safe) and can be told to fail."""

    name = "recording"

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()
        self.delay = delay
        self.fail: Exception | None = None
        self.fail_times = 0

    def send(self, message) -> None:
        with self.lock:
            if self.fail is not None and self.fail_times != 0:
                self.fail_times -= 1
                raise self.fail
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.sent.append(message["X-C11-Outbox-Id"])

    def close(self) -> None:
        pass


def test_enqueue_shares_the_callers_transaction(engine):
    with pytest.raises(RuntimeError), engine.begin() as c:
        enqueue_rendered(
            c,
            render(
                "email_verification", to="a@example.org", brand=BRAND, link=BRAND.link("/verify?t=x"), expires_hours=48
            ),
        )
        raise RuntimeError("the change failed")
    assert ob.counts(engine)["queued"] == 0
    _queue(engine, 2)
    assert ob.counts(engine)["queued"] == 2


def test_outbox_folder_delivery_multipart(engine, tmp_path):
    [mid] = _queue(engine, 1)
    w = Worker(engine, OutboxFolderTransport(tmp_path / "outbox"), sender=SENDER)
    assert w.drain() == 1
    row = _status(engine, mid)
    assert row.status == "sent" and row.sent_at is not None and row.claimed_by is None
    import email
    from email.policy import default

    msg = email.message_from_bytes((tmp_path / "outbox" / f"{mid}.eml").read_bytes(), policy=default)
    assert msg.get_content_type() == "multipart/alternative"
    assert "https://c11.example.com/d/0" in msg.get_body(("html",)).get_content()
    assert w.drain() == 0  # sent once only


def test_smtp_end_to_end_starttls_login(engine, smtp_starttls_auth, pki):
    ids = _queue(engine, 5)
    t = SmtpTransport(
        "localhost",
        smtp_starttls_auth.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        ca_bundle=str(pki.ca_pem),
    )
    w = Worker(engine, t, sender=SENDER)
    assert w.drain() == 5
    t.close()
    got = [r.message["X-C11-Outbox-Id"] for r in smtp_starttls_auth.received]
    assert sorted(got) == sorted(ids)
    assert all(r.login == USER for r in smtp_starttls_auth.received)


def test_smtp_outage_every_message_delivered_exactly_once(engine):
    server = SmtpServer("none").start()
    port = server.port
    server.stop()  # the mail service is down while messages are queued
    ids = _queue(engine, 40)
    t = SmtpTransport("127.0.0.1", port, security="none", timeout=2)
    w = Worker(
        engine, t, sender=SENDER, base_delay=0.05, max_delay=0.3, poll_interval=0.02, batch=10, max_attempts=1000
    )
    w.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as c:
                tried = c.execute(select(ob.outbox.c.attempts).where(ob.outbox.c.attempts > 0)).all()
            if len(tried) >= 1 and w.stats.retried >= 3:
                break
            time.sleep(0.05)
        assert w.stats.retried >= 3 and w.stats.sent == 0
        assert ob.counts(engine)["dead"] == 0
        server = SmtpServer("none", port=port).start()  # it comes back
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ob.counts(engine)["sent"] < len(ids):
            time.sleep(0.05)
    finally:
        w.stop()
        server.stop()
    assert ob.counts(engine) == {"queued": 0, "sending": 0, "sent": 40, "dead": 0}
    got = Counter(r.message["X-C11-Outbox-Id"] for r in server.received)
    assert set(got) == set(ids) and all(n == 1 for n in got.values())


@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_workers_never_send_twice(engine, workers):
    ids = _queue(engine, 300)
    transport = Recording(delay=0.0005)
    urls = engine.url.render_as_string(hide_password=False)
    from c11.server.db import make_engine

    engines = [make_engine(urls) for _ in range(workers)]
    ws = [Worker(e, transport, sender=SENDER, batch=7, name=f"w{i}") for i, e in enumerate(engines)]
    barrier = threading.Barrier(workers)

    def run(w: Worker) -> None:
        barrier.wait()
        while w.drain(timeout=30):
            pass

    threads = [threading.Thread(target=run, args=(w,)) for w in ws]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for e in engines:
        e.dispose()
    got = Counter(transport.sent)
    assert set(got) == set(ids)
    assert max(got.values()) == 1, [k for k, v in got.items() if v > 1][:5]
    assert sum(w.stats.sent for w in ws) == 300
    assert sum(1 for w in ws if w.stats.sent) >= 2  # the work was actually shared


def test_parallel_worker_processes_never_send_twice(engine, tmp_path):
    """Two OS processes (not threads) draining the same outbox into one outbox folder."""
    import subprocess
    import sys

    ids = _queue(engine, 120)
    folder = tmp_path / "out"
    script = (
        "import sys; from c11.server.db import make_engine; from c11.notify.worker import Worker\n"
        "from c11.notify.transports.outbox_folder import OutboxFolderTransport as F\n"
        "import os\n"
        "class T(F):\n"
        "    def send(self, m):\n"
        "        p = self.folder / (m['X-C11-Outbox-Id'] + '.' + sys.argv[3])\n"
        "        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)\n"
        "        os.close(fd)\n"
        "e = make_engine(sys.argv[1]); w = Worker(e, T(__import__('pathlib').Path(sys.argv[2])), sender='a@b.c', batch=5)\n"
        "while w.drain(timeout=30): pass\n"
        "print(w.stats.sent)\n"
    )
    folder.mkdir()
    url = engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, url, str(folder), str(i)], stdout=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    outs = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert sum(outs) == 120
    names = [p.name.rsplit(".", 1)[0] for p in folder.iterdir()]
    assert sorted(names) == sorted(ids)  # each ID exactly once, across both processes


def test_permanent_message_error_is_dead_at_once_and_retry_requeues(engine):
    [mid] = _queue(engine, 1)
    t = Recording()
    t.fail, t.fail_times = PermanentDeliveryError("550 no such user"), 1
    w = Worker(engine, t, sender=SENDER)
    w.run_once()
    row = _status(engine, mid)
    assert row.status == "dead" and row.attempts == 1 and "550" in row.last_error
    assert ob.counts(engine)["dead"] == 1
    ob.retry(engine, mid[:10])
    assert _status(engine, mid).status == "pending"
    assert w.run_once() == 1 and t.sent == [mid]
    with pytest.raises(Exception, match="already sent"):
        ob.retry(engine, mid)


def test_config_error_is_retried_then_dead_after_max_attempts(engine):
    [mid] = _queue(engine, 1)
    t = Recording()
    t.fail, t.fail_times = PermanentDeliveryError("consent missing", "grant it", config=True), -1
    w = Worker(engine, t, sender=SENDER, max_attempts=3, base_delay=0.0, max_delay=0.0)
    for _ in range(3):
        w.paused_until = None
        w.run_once()
    row = _status(engine, mid)
    assert row.status == "dead" and row.attempts == 3 and "grant it" in row.last_error


def test_retry_after_is_honoured_and_batch_put_back(engine):
    ids = _queue(engine, 5)
    t = Recording()
    t.fail, t.fail_times = TransientDeliveryError("429 throttled", retry_after=5.0), 1
    w = Worker(engine, t, sender=SENDER, base_delay=0.01)
    before = ob.utcnow()
    assert w.run_once() == 0
    first = _status(engine, ids[0])
    assert first.status == "pending" and first.attempts == 1
    assert first.next_attempt_at >= before + timedelta(seconds=5)
    for mid in ids[1:]:  # not tried: no attempt counted, due at the same time
        r = _status(engine, mid)
        assert r.status == "pending" and r.attempts == 0 and r.next_attempt_at >= before + timedelta(seconds=5)
    assert w.paused_until is not None and w.run_once() == 0  # paused
    # time passes (move the schedule instead of sleeping)
    with engine.begin() as c:
        c.execute(update(ob.outbox).values(next_attempt_at=ob.utcnow() - timedelta(seconds=1)))
    w.paused_until = None
    assert w.drain() == 5 and sorted(t.sent) == sorted(ids)


def test_greylisting_4xx_does_not_stall_other_messages(engine, smtp_plain):
    ids = _queue(engine, 3)
    t = SmtpTransport("127.0.0.1", smtp_plain.port, security="none")
    calls = {"n": 0}
    real = t.send

    def flaky(message):
        calls["n"] += 1
        smtp_plain.handler.reply = "451 4.7.1 Greylisted, try again" if calls["n"] == 1 else None
        return real(message)

    t.send = flaky  # type: ignore[method-assign]
    w = Worker(engine, t, sender=SENDER, base_delay=60)
    assert w.run_once() == 2 and w.paused_until is None
    assert _status(engine, ids[0]).status == "pending"
    t.close()


def test_expired_lease_is_reclaimed_and_stale_worker_cannot_overwrite(engine):
    [mid] = _queue(engine, 1)
    a = Worker(engine, Recording(), sender=SENDER, lease_seconds=0.2)
    token, rows = a.claim()
    assert [r.id for r in rows] == [mid]
    b = Worker(engine, Recording(), sender=SENDER)
    assert b.claim()[1] == []  # still leased
    time.sleep(0.3)
    assert b.run_once() == 1
    assert a._finish(token, mid, status="pending") is False  # A lost its claim
    assert _status(engine, mid).status == "sent"


def test_background_worker_wakes_on_enqueue(engine):
    t = Recording()
    w = Worker(engine, t, sender=SENDER, poll_interval=5.0).start()
    try:
        time.sleep(0.1)
        [mid] = _queue(engine, 1)
        w.wake()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not t.sent:
            time.sleep(0.01)
        assert t.sent == [mid]
    finally:
        w.stop()
    assert not w.running


def test_backoff_grows_with_jitter_and_respects_retry_after():
    rng = random.Random(1)
    d = [backoff(n, base=30, cap=3600, rng=rng) for n in range(1, 10)]
    assert 15 <= d[0] <= 30 and 30 <= d[1] <= 60 and d[-1] <= 3600
    assert all(backoff(1, base=30, cap=3600, retry_after=120, rng=rng) >= 120 for _ in range(20))
    assert len({round(backoff(3, base=30, cap=3600, rng=rng), 6) for _ in range(20)}) > 1


def test_slow_batch_puts_back_what_it_cannot_send_within_the_lease(engine):
    ids = _queue(engine, 4)
    t = Recording(delay=0.15)
    w = Worker(engine, t, sender=SENDER, lease_seconds=0.4, batch=4)
    # half the lease (0.2 s) is over after two sends (one when the machine is busy): the rest goes back
    sent = w.run_once()
    assert 1 <= sent <= 2 and len(t.sent) == sent
    rest = [_status(engine, mid) for mid in ids if mid not in t.sent]
    assert len(rest) == 4 - sent
    assert all(r.status == "pending" and r.attempts == 0 and r.claimed_by is None for r in rest)
    assert w.drain() == 4 - sent and sorted(t.sent) == sorted(ids)
