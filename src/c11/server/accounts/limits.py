"""Login throttling: per-account exponential backoff and a per-address limit; a known device passes both.

Failed logins are counted per account and per client address (see `client_address`) over a sliding window.
Past `login_max_failures_account` failures an account's next attempt must wait `login_backoff_seconds`,
doubling with each further failure up to the window; past `login_max_failures_ip` an address is refused
until its failures leave the window. A login that sends the token of a device that logged in to this
account before (`known_devices`) is never throttled, so an attacker's wrong passwords cannot lock the owner
out; its wrong passwords still count.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from c11.server.accounts.models import KnownDevice, LoginAttempt
from c11.server.config import Config
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.problems import Problem

DEVICE_PREFIX = "c11d"
DEVICE_COOKIE = "c11_device"
MAX_DEVICES = 20


def _failures(s: Session, scope: str, key: str, since: datetime) -> list[datetime]:
    return list(
        s.scalars(
            select(LoginAttempt.at)
            .where(LoginAttempt.scope == scope, LoginAttempt.key == key, LoginAttempt.at > since)
            .order_by(LoginAttempt.at)
        )
    )


def account_wait(config: Config, failures: list[datetime], now: datetime) -> float:
    """Seconds the account must still wait: 0 up to the limit, then base * 2^(extra failures), capped."""
    extra = len(failures) - config.login_max_failures_account
    if config.login_max_failures_account <= 0 or extra < 0 or not failures:
        return 0.0
    wait = min(float(config.login_window_seconds), config.login_backoff_seconds * 2.0 ** min(extra, 30))
    return max(0.0, (failures[-1] + timedelta(seconds=wait) - now).total_seconds())


def check(s: Session, config: Config, email: str, ip: str) -> None:
    """Raise 429 (with Retry-After) while the account backs off or the address has too many failures."""
    now = utcnow()
    window = timedelta(seconds=config.login_window_seconds)
    waits = [account_wait(config, _failures(s, "account", email, now - window), now)]
    times = _failures(s, "ip", ip, now - window)
    limit = config.login_max_failures_ip
    if limit > 0 and len(times) >= limit:
        waits.append((times[len(times) - limit] + window - now).total_seconds())
    if max(waits) > 0:
        retry = max(1, math.ceil(max(waits)))
        raise Problem(
            429,
            "Too Many Requests",
            "Too many failed logins; try again later (a device you logged in with before is not held back).",
            "login-rate-limited",
            {"Retry-After": str(retry)},
            retry_after=retry,
        )


def record_failure(s: Session, config: Config, email: str, ip: str) -> None:
    """Count one failed login for the account and the address; forget failures past the window."""
    now = utcnow()
    s.execute(
        delete(LoginAttempt).where(
            LoginAttempt.at <= now - timedelta(seconds=config.login_window_seconds),
            LoginAttempt.key.in_([email, ip]),
        )
    )
    s.add_all([LoginAttempt(scope="account", key=email, at=now), LoginAttempt(scope="ip", key=ip, at=now)])


def clear_account(s: Session, email: str) -> None:
    """Forget the failures of an account after a successful login."""
    s.execute(delete(LoginAttempt).where(LoginAttempt.scope == "account", LoginAttempt.key == email))


def known_device(s: Session, config: Config, user_id: str, token: str | None) -> KnownDevice | None:
    """The device row of `token` if it belongs to this account and was used within `known_device_days`."""
    if not token or len(token) > 200:
        return None
    row = s.scalar(select(KnownDevice).where(KnownDevice.token_hash == digest(token)))
    if row is None or row.user_id != user_id:
        return None
    if row.last_used_at <= utcnow() - timedelta(days=config.known_device_days):
        return None
    return row


def remember_device(s: Session, user_id: str, device: KnownDevice | None) -> str | None:
    """After a successful password login: refresh a known device, or make a new one and return its token
    (the newest `MAX_DEVICES` devices of an account are kept)."""
    now = utcnow()
    if device is not None:
        device.last_used_at = now
        return None
    token = new_secret(DEVICE_PREFIX)
    s.add(KnownDevice(user_id=user_id, token_hash=digest(token), created_at=now, last_used_at=now))
    s.flush()
    old = s.scalars(
        select(KnownDevice.id)
        .where(KnownDevice.user_id == user_id)
        .order_by(KnownDevice.last_used_at.desc(), KnownDevice.created_at.desc())
        .offset(MAX_DEVICES)
    ).all()
    if old:
        s.execute(delete(KnownDevice).where(KnownDevice.id.in_(old)))
    return token
