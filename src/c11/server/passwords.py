"""Password hashing with Argon2id (argon2-cffi) and the password rules.

`verify_dummy` spends the same time as a real check, so unknown emails are not revealed by timing.
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from c11.server.config import PasswordHashing
from c11.server.problems import Problem

MIN_LENGTH = 10
MAX_LENGTH = 1024
_log = logging.getLogger(__name__)


class Passwords:
    """Argon2id hashing with `PasswordHashing` parameters (default: RFC 9106 low-memory profile)."""

    def __init__(self, params: PasswordHashing | None = None) -> None:
        params = params or PasswordHashing()
        if not params.is_production:
            _log.warning(
                "TEST-ONLY Argon2id parameters (t=%d, m=%d KiB, p=%d): password hashes are cheap to "
                "guess; never run a real server like this",
                params.time_cost,
                params.memory_kib,
                params.parallelism,
            )
        self._hasher = PasswordHasher(
            time_cost=params.time_cost, memory_cost=params.memory_kib, parallelism=params.parallelism
        )
        self._dummy = self._hasher.hash("c11 dummy password for timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        if not stored:
            self.verify_dummy(password)
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        try:
            self._hasher.verify(self._dummy, password + "x")
        except VerificationError:
            pass


def check_rules(password: str) -> None:
    """Refuse passwords that are too short or too long (without ever echoing them)."""
    if len(password) < MIN_LENGTH:
        raise Problem(422, "Weak password", f"Passwords need at least {MIN_LENGTH} characters.", "weak-password")
    if len(password) > MAX_LENGTH:
        raise Problem(422, "Password too long", f"Passwords have at most {MAX_LENGTH} characters.", "weak-password")
