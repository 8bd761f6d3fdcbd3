"""Request and response bodies of the machine tokens API.

The secret appears only in `TokenCreated`, once.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

MAX_DAYS = 3650


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["ci-deploy"])
    scopes: list[str] = Field(min_length=1, examples=[["keys:read"]])
    expires_in_days: int = Field(90, ge=1, le=MAX_DAYS)


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only in this answer.")
