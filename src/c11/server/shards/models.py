"""Tables of this service (none yet)."""

from __future__ import annotations
