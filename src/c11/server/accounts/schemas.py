"""Request and response bodies of the accounts API (pydantic).

Passwords are `SecretStr`, so they never show in reprs or logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr

from c11._internal.emails import normalize_email
from c11.server.problems import Problem

__all__ = ["EmailAddress", "canonical_email", "normalize_email"]


def canonical_email(value: str) -> str:
    """`normalize_email` for route code: 422 `bad-email` (a one-line reason) when the address is refused."""
    try:
        return normalize_email(value)
    except ValueError as e:
        raise Problem(422, "Bad email", str(e), "bad-email") from None


def _email(value: object) -> object:
    return normalize_email(value) if isinstance(value, str) else value


#: A request field holding an email address: normalised (c11._internal.emails), 422 when refused.
EmailAddress = Annotated[str, BeforeValidator(_email), Field(max_length=320, examples=["alice@example.com"])]


class SignupStartIn(BaseModel):
    email: EmailAddress
    request: str = Field(max_length=6_000, description="OPAQUE registration request (base64url)")


class SignupIn(BaseModel):
    email: EmailAddress
    signup_id: str = Field(max_length=1_000, description="From /accounts/signup/start (valid 10 minutes)")
    registration: str = Field(max_length=6_000, description="OPAQUE registration upload (base64url)")


class LoginIn(BaseModel):
    email: EmailAddress
    password: SecretStr = Field(max_length=4096)
    kind: Literal["cookie", "bearer"] = Field(
        "bearer", description="cookie: a web session cookie; bearer: a token for the CLI or SDK."
    )
    device_token: SecretStr | None = Field(
        None,
        max_length=200,
        description="The known-device token a previous login on this device received: "
        "with the right password it passes the login backoff.",
    )


class ResetRequestIn(BaseModel):
    email: EmailAddress


class ResetRequestedOut(BaseModel):
    sent: str = Field("A reset link was emailed if this address has a verified account.")
    not_restored: str


class ResetStartIn(BaseModel):
    token: str = Field(min_length=16, max_length=200, description="The token of the emailed reset link.")
    request: str = Field(max_length=6_000, description="OPAQUE registration request of the new password")


class ResetCompleteIn(BaseModel):
    token: str = Field(min_length=16, max_length=200, description="The token of the emailed reset link.")
    registration: str = Field(max_length=6_000, description="OPAQUE registration upload of the new password")


class ResetDoneOut(BaseModel):
    email: str
    sessions_ended: bool
    not_restored: str = Field(description="What a reset does not give back (the cloud-stored key).")


class VerifyIn(BaseModel):
    token: str = Field(max_length=200, description="The token of the emailed verification link")


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
    device_token: str | None = Field(
        None,
        description="A new known-device token (bearer logins from a device "
        "not known yet): send it with later logins; shown once.",
    )


class VerifiedOut(BaseModel):
    email: str
    email_verified: bool
