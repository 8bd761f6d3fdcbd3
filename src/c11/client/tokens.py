"""Machine token calls: create (the secret is returned once), list, revoke.

Reached as `Client.tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable

from c11.client._http import HttpCore
from c11.client.types import CreatedToken, MachineToken


class TokensAPI:
    """The /api/v1/tokens routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def create(self, name: str, scopes: Iterable[str], expires_in_days: int = 90) -> CreatedToken:
        d = self._core.request(
            "POST", "/api/v1/tokens", {"name": name, "scopes": list(scopes), "expires_in_days": expires_in_days}
        )
        return CreatedToken(MachineToken.from_json(d), d["token"])

    def list(self) -> list[MachineToken]:
        return [MachineToken.from_json(d) for d in self._core.request("GET", "/api/v1/tokens")]

    def revoke(self, token_id: str) -> None:
        self._core.request("DELETE", f"/api/v1/tokens/{token_id}")
