"""Request and response bodies of the SCIM token admin API (`/api/v1/org/scim-tokens`).

The secret appears only in `ScimTokenCreated`, once.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

MAX_DAYS = 3650


class ScimTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["entra-provisioning"])
    expires_in_days: int | None = Field(
        None, ge=1, le=MAX_DAYS, description="Days until the token expires; none: it does not expire."
    )


class ScimTokenOut(BaseModel):
    id: str
    name: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ScimTokenCreated(ScimTokenOut):
    token: str = Field(description="The secret; shown only in this answer.")
    scim_url: str = Field(description="The SCIM base URL to give the identity provider.")
