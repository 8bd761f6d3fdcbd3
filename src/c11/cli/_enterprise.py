"""The decryption capability of a member of an organization with an enterprise key server (docs/enterprise.md).

Set C11_ENTERPRISE_KEYSERVER to its URL and C11_ENTERPRISE_TOKEN_FILE to a file holding your sign-in token from
the organization's identity provider (read at each use, so a refreshed token is picked up).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SERVER_VAR = "C11_ENTERPRISE_KEYSERVER"
TOKEN_VAR = "C11_ENTERPRISE_TOKEN_FILE"


def configured() -> bool:
    return bool(os.environ.get(SERVER_VAR))


def _token_reader(path: Path) -> Any:
    from c11.errors import UsageError

    def read() -> str:
        try:
            with path.open("rb") as f:
                raw = f.read(16385)
        except OSError as e:
            raise UsageError(f"cannot read the sign-in token file {path} ({TOKEN_VAR}): {e.strerror}") from None
        if len(raw) > 16384:
            raise UsageError(f"the sign-in token file {path} is larger than a token (16 KiB)")
        return raw.decode("ascii", "replace").strip()

    return read


def _configured_token() -> tuple[str, Any]:
    from c11.errors import UsageError

    server = os.environ.get(SERVER_VAR)
    if not server or not os.environ.get(TOKEN_VAR):
        raise UsageError(
            f"set {SERVER_VAR} to your organization's enterprise key server and {TOKEN_VAR} to a file holding "
            "your sign-in token from its identity provider"
        )
    return server, _token_reader(Path(os.environ[TOKEN_VAR]))


def publish_proof() -> dict[str, str]:
    """The proof of possession of your enterprise key, signed inside the configured enterprise key server."""
    from c11.client.enterprise import publish_proof as fetch

    server, token = _configured_token()
    return fetch(server, token())


def enterprise_fingerprint() -> tuple[str, str] | None:
    """(fingerprint of your enterprise key, key server URL) when one is configured, for `c11 inspect`."""
    if not configured():
        return None
    from c11.client.enterprise import member_key, token_email

    server, token = _configured_token()
    return member_key(server, token_email(token())).fingerprint, server


def enterprise_keys() -> list[Any]:
    """An EnterpriseKey for the configured key server and token, or [] when none is configured."""
    server = os.environ.get(SERVER_VAR)
    if not server:
        return []
    from c11.client.enterprise import EnterpriseKey, member_key, token_email

    server, token = _configured_token()
    return [EnterpriseKey(server, member_key(server, token_email(token())), token)]
