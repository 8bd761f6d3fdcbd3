"""Login rate limiting and lockout: failed logins counted per account and per client address.

Past the limit within the sliding window, logins are refused with 429 and Retry-After, even with the right password.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from c11.server.accounts.models import LoginAttempt
from c11.server.config import Config
from c11.server.db import utcnow
from c11.server.problems import Problem


def _failures(s: Session, scope: str, key: str, since: datetime) -> list[datetime]:
    return list(s.scalars(select(LoginAttempt.at).where(
        LoginAttempt.scope == scope, LoginAttempt.key == key, LoginAttempt.at > since
    ).order_by(LoginAttempt.at)))


def check(s: Session, config: Config, email: str, ip: str) -> None:
    """Raise 429 if the account or the address has too many recent failures."""
    now = utcnow()
    window = timedelta(seconds=config.login_window_seconds)
    waits = []
    for scope, key, limit in (("account", email, config.login_max_failures_account),
                              ("ip", ip, config.login_max_failures_ip)):
        times = _failures(s, scope, key, now - window)
        if limit > 0 and len(times) >= limit:
            waits.append((times[len(times) - limit] + window - now).total_seconds())
    if waits:
        retry = max(1, math.ceil(max(waits)))
        raise Problem(429, "Too Many Requests", "Too many failed logins; try again later.",
                      "login-rate-limited", {"Retry-After": str(retry)}, retry_after=retry)


def record_failure(s: Session, config: Config, email: str, ip: str) -> None:
    """Count one failed login for the account and the address; forget failures past the window."""
    now = utcnow()
    s.execute(delete(LoginAttempt).where(
        LoginAttempt.at <= now - timedelta(seconds=config.login_window_seconds),
        LoginAttempt.key.in_([email, ip]),
    ))
    s.add_all([LoginAttempt(scope="account", key=email, at=now), LoginAttempt(scope="ip", key=ip, at=now)])


def clear_account(s: Session, email: str) -> None:
    """Forget the failures of an account after a successful login."""
    s.execute(delete(LoginAttempt).where(LoginAttempt.scope == "account", LoginAttempt.key == email))
