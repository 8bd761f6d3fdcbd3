"""Recovery keys of an organization (SPEC F11): only public halves, uploaded by admins (stub until built)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def recovery_public_keys(s: Session, org_id: str) -> list[str]:
    """The public key lines of `org_id`'s current recovery keys (clients add them as recipients)."""
    return []
