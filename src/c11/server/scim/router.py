"""HTTP routes of this service (none yet)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
