"""Password hashing with Argon2id (argon2-cffi) and the password rules.

`verify_dummy` spends the same time as a real check, so unknown emails are not revealed by timing.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from c11.server.problems import Problem

MIN_LENGTH = 10
MAX_LENGTH = 1024


class Passwords:
    """Argon2id hashing (argon2-cffi's RFC 9106 low-memory profile)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
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
        raise Problem(422, "Weak password", f"Passwords need at least {MIN_LENGTH} characters.",
                      "weak-password")
    if len(password) > MAX_LENGTH:
        raise Problem(422, "Password too long", f"Passwords have at most {MAX_LENGTH} characters.",
                      "weak-password")
