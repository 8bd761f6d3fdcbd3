"""The delivery worker: claims due outbox rows, sends them through the configured transport, records the outcome.

Claiming is one statement that marks a batch `sending` with a lease (`locked_until`) and a claim token
(`claimed_by`): on PostgreSQL the batch is chosen with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
workers take disjoint rows without waiting; on SQLite the single `UPDATE ... WHERE status='pending' ...`
runs under the database write lock, which makes it atomic. Outcomes are written only while the claim is
still ours (`WHERE claimed_by = :token`), so two workers never both send one message. A worker that dies
mid-batch leaves rows whose lease expires; they are claimed again then (at-least-once across crashes).

Failures: `TransientDeliveryError` -> retried with exponential backoff and jitter (at least Retry-After
when the other side gave one); `PermanentDeliveryError` about the message -> dead at once; a permanent
error about the set-up (bad credentials, consent, policy: `config=True`) -> retried with backoff like a
transient one, so fixing the set-up lets the queue drain; after `max_attempts` attempts -> dead.
When a failure concerns the whole transport (server down, throttled, set-up), the rest of the batch is
put back without counting an attempt and the worker pauses until the retry time.
"""

from __future__ import annotations

import logging
import random
import smtplib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from c11._web.db import utcnow
from c11.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from c11.notify.outbox import DEAD, QUEUED, SENDING, SENT, message_for, outbox
from c11.notify.transports import Transport

_log = logging.getLogger("c11.notify.worker")


@dataclass
class WorkerStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    claimed: int = 0


def backoff(
    attempts: int, *, base: float, cap: float, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds before the next attempt: base * 2^(attempts-1), capped, with jitter in [50%, 100%];
    never less than the server's Retry-After."""
    draw = rng.random if rng is not None else random.random
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    delay = delay * (0.5 + draw() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after + draw() * min(1.0, retry_after * 0.1))
    return float(delay)


def _transport_wide(exc: DeliveryError) -> bool:
    """Does this failure say the transport as a whole cannot deliver right now (not just this message)?"""
    if exc.config or getattr(exc, "retry_after", None) is not None:
        return True
    cause = exc.__cause__
    if isinstance(cause, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    if isinstance(cause, smtplib.SMTPException):  # a reply about this message (4xx greylisting, ...)
        return False
    if isinstance(cause, OSError):  # refused, reset, timed out, unresolvable
        return True
    return cause is not None and type(cause).__module__.split(".")[0] in ("httpx", "httpcore", "requests", "urllib3")


class Worker:
    """Delivers queued notifications. `run_once()` for one batch; `start()` / `stop()` for a background thread."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        *,
        sender: str,
        max_attempts: int = 10,
        batch: int = 50,
        lease_seconds: float = 300.0,
        base_delay: float = 30.0,
        max_delay: float = 3600.0,
        poll_interval: float = 1.0,
        name: str | None = None,
        rng: random.Random | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.sender = sender
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self.rng = rng or random.Random()
        self.on_tick = on_tick
        self.stats = WorkerStats()
        self.paused_until: datetime | None = None
        self._pg = engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- claiming ------------------------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> tuple[str, list[Any]]:
        """Mark up to `limit` due rows `sending` for this worker; returns the claim token and the rows."""
        now = utcnow()
        token = uuid.uuid4().hex
        t = outbox
        due = or_(
            and_(t.c.status == QUEUED, or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)),
            and_(t.c.status == SENDING, t.c.locked_until.is_not(None), t.c.locked_until < now),  # lease expired
        )
        pick = select(t.c.id).where(due).order_by(t.c.created_at, t.c.id).limit(limit or self.batch)
        if self._pg:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(t)
            .where(t.c.id.in_(pick.scalar_subquery()))
            .values(status=SENDING, locked_until=now + self.lease, claimed_by=token, attempts=t.c.attempts + 1)
            .returning(
                t.c.id,
                t.c.created_at,
                t.c.kind,
                t.c.recipient,
                t.c.subject,
                t.c.body_text,
                t.c.body_html,
                t.c.attempts,
                t.c.secret,
            )
        )
        with self.engine.begin() as c:
            claimed = sorted(c.execute(stmt).all(), key=lambda r: (r.created_at, r.id))
        self.stats.claimed += len(claimed)
        return token, claimed

    def _finish(self, token: str, mid: str, **values: Any) -> bool:
        values.setdefault("locked_until", None)
        values.setdefault("claimed_by", None)
        with self.engine.begin() as c:
            res = c.execute(
                update(outbox)
                .where(outbox.c.id == mid, outbox.c.claimed_by == token, outbox.c.status == SENDING)
                .values(**values)
            )
        return (res.rowcount or 0) == 1

    def _release(self, token: str, ids: list[str], when: datetime) -> None:
        """Put claimed-but-untried rows back, without counting the attempt."""
        if not ids:
            return
        with self.engine.begin() as c:
            c.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids), outbox.c.claimed_by == token, outbox.c.status == SENDING)
                .values(
                    status=QUEUED,
                    attempts=outbox.c.attempts - 1,
                    next_attempt_at=when,
                    locked_until=None,
                    claimed_by=None,
                )
            )

    # -- one batch -----------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many were sent."""
        now = utcnow()
        if self.paused_until and now < self.paused_until:
            return 0
        self.paused_until = None
        token, claimed = self.claim()
        # Never send on a claim that may have expired: past half the lease, put the rest back. One send is
        # bounded by the transport's timeouts (well under half the lease), so no other worker can have it.
        deadline = now + self.lease / 2
        sent = 0
        for i, row in enumerate(claimed):
            if utcnow() > deadline:
                self._release(token, [r.id for r in claimed[i:]], utcnow())
                break
            try:
                self.transport.send(message_for(row, self.sender))
            except DeliveryError as e:
                stop = self._failed(token, row, e)
                if stop is not None:
                    self._release(token, [r.id for r in claimed[i + 1 :]], stop)
                    self.paused_until = stop
                    break
                continue
            except Exception as e:  # a bug or an unexpected library error: keep the message, try later
                _log.exception("notify: unexpected error delivering %s", row.id)
                self._failed(token, row, TransientDeliveryError(f"{type(e).__name__}: {e}"))
                continue
            if self._finish(
                token, row.id, status=SENT, sent_at=utcnow(), last_error=None, next_attempt_at=None, secret=None
            ):  # the link's secret is erased once delivered
                sent += 1
                self.stats.sent += 1
            else:
                _log.warning("notify: lost the claim on %s while sending it (lease too short?)", row.id)
        return sent

    def _failed(self, token: str, row: Any, e: DeliveryError) -> datetime | None:
        """Record a failed attempt; returns the time to pause the whole transport until, if it should."""
        text = f"{e}" + (f" -- {e.explanation}" if e.explanation else "")
        retry_after = getattr(e, "retry_after", None)
        message_level_permanent = isinstance(e, PermanentDeliveryError) and not e.config
        if message_level_permanent or row.attempts >= self.max_attempts:
            self._finish(token, row.id, status=DEAD, last_error=text[:2000], next_attempt_at=None, secret=None)
            self.stats.dead += 1
            _log.warning("notify: %s is dead after %d attempt(s): %s", row.id, row.attempts, e)
            return None
        delay = backoff(row.attempts, base=self.base_delay, cap=self.max_delay, retry_after=retry_after, rng=self.rng)
        when = utcnow() + timedelta(seconds=delay)
        self._finish(token, row.id, status=QUEUED, last_error=text[:2000], next_attempt_at=when)
        self.stats.retried += 1
        _log.info("notify: %s attempt %d failed (%s); next in %.1f s", row.id, row.attempts, e, delay)
        return when if _transport_wide(e) else None

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver until nothing is due (tests, `c11 notify worker --once`); returns how many were sent."""
        import time

        end = time.monotonic() + timeout
        total = 0
        while time.monotonic() < end:
            n_before = self.stats.claimed
            total += self.run_once()
            if self.stats.claimed == n_before and not self.paused_until:
                break
            if self.paused_until:
                break
        return total

    # -- background thread ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    def loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
                if self.on_tick:
                    self.on_tick()
            except Exception:  # the database is away, ...: keep the worker alive
                _log.exception("notify: worker iteration failed")
                sent = 0
            if sent and not self._stop.is_set():
                continue  # more may be due right away
            wait = self.poll_interval
            if self.paused_until:
                wait = min(wait * 5, max(0.05, (self.paused_until - utcnow()).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    def start(self) -> Worker:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.loop, name=f"c11-notify-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def due_certificate_alerts(engine: Engine, data_dir: Any, admins: list[str], brand: Any) -> int:
    """Queue an admin alert for a Graph certificate that expires within 30 days (once per certificate)."""
    from c11.notify.graph_certificate import CertificateStore
    from c11.notify.outbox import enqueue_rendered
    from c11.notify.render import render

    if not admins:
        return 0
    store = CertificateStore(data_dir)
    alerts = store.due_alerts()
    n = 0
    for a in alerts:
        with engine.begin() as c:
            for admin in admins:
                enqueue_rendered(
                    c, render("admin_alert", to=admin, brand=brand, title=a.title, detail=a.detail, severity="warning")
                )
                n += 1
        store.mark_alerted(a.thumbprint)
    return n


__all__ = ["DEAD", "QUEUED", "SENDING", "SENT", "Worker", "WorkerStats", "backoff", "due_certificate_alerts"]
