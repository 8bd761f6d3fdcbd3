"""Request and response bodies of the accounts API (pydantic).

Passwords are `SecretStr`, so they never show in reprs or logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def normalize_email(value: str) -> str:
    return value.strip().lower()


class SignupIn(BaseModel):
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN, examples=["alice@example.com"])
    password: SecretStr

    @field_validator("email", mode="before")
    @classmethod
    def _normalize(cls, v: object) -> object:
        return normalize_email(v) if isinstance(v, str) else v


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: SecretStr = Field(max_length=4096)
    kind: Literal["cookie", "bearer"] = Field(
        "bearer", description="cookie: a web session cookie; bearer: a token for the CLI or SDK.")

    @field_validator("email", mode="before")
    @classmethod
    def _normalize(cls, v: object) -> object:
        return normalize_email(v) if isinstance(v, str) else v


class PasswordChangeIn(BaseModel):
    current_password: SecretStr
    new_password: SecretStr


class VerifyIn(BaseModel):
    token: str = Field(max_length=200)


class UserOut(BaseModel):
    id: str
    email: str
    email_verified: bool
    created_at: datetime


class AuthInfo(BaseModel):
    kind: str = Field(description="cookie (web session), bearer (CLI login) or token (machine token).")
    credential_id: str
    scopes: list[str]


class WhoAmIOut(UserOut):
    auth: AuthInfo


class SessionOut(BaseModel):
    user: UserOut
    kind: Literal["cookie", "bearer"]
    expires_at: datetime
    token: str | None = Field(None, description="The bearer token (kind bearer only); shown once.")


class VerifiedOut(BaseModel):
    email: str
    email_verified: bool
