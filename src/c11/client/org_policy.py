"""Your organization's policy on this device: read from the server when it answers, else the cached copy.

The copy (`<config>/orgs/<server>/policy.json`, 0600) is written after every successful read and bound to
the server and the account it was read for; with the server unreachable it is applied as it is. No copy and
no server: `OrgPolicyUnavailableError` (a caller that accepts encrypting without it says so explicitly).

    from c11.client.org_policy import OrgPolicyStore, own_policy
    got = own_policy(client, OrgPolicyStore(config_dir()), account="bob@example.com")
    got.policy, got.source     # OrgPolicy or None (not a member), "server" | "cache" | "none"
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c11.client.recovery import OrgInfo
from c11.client.transparency import server_slug
from c11.errors import C11Error, FormatError, OrgPolicyUnavailableError, ServerError
from c11.orgrules import OrgPolicy

if TYPE_CHECKING:
    from c11.client.client import Client

SERVER = "server"
CACHE = "cache"
NONE = "none"  # no organization to apply: not logged in, or the caller skipped a missing policy
_VERSION = 1


@dataclass(frozen=True)
class OwnPolicy:
    """Your organization's policy (None: not a member), where it came from, and when it was read."""

    policy: OrgPolicy | None
    source: str
    fetched_at: int | None = None


def from_info(info: OrgInfo) -> OrgPolicy:
    """An `OrgInfo` (server answer or registry lookup) as the rules' input."""
    return OrgPolicy(info.name, tuple(info.recovery_keys), info.require_online, info.default_expiry_days)


class OrgPolicyStore:
    """The cached policies under `folder` (normally the config folder), one file per server."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / "orgs"

    def path(self, server: str) -> Path:
        return self.folder / server_slug(server) / "policy.json"

    def save(self, server: str, account: str | None, policy: OrgPolicy | None, now: int | None = None) -> None:
        """Remember what the server said for `account` (`policy` None: not a member), atomically, 0600."""
        doc = {
            "version": _VERSION,
            "server": server.rstrip("/"),
            "account": account,
            "fetched_at": int(time.time()) if now is None else now,
            "policy": policy.to_json() if policy is not None else None,
        }
        path = self.path(server)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=2)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load(self, server: str, account: str | None) -> OwnPolicy | None:
        """The cached policy for this server and account, or None when there is none for them; a file that
        does not parse raises FormatError (it is not silently ignored)."""
        path = self.path(server)
        try:
            doc = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise FormatError(
                f"{path}: the cached organization policy is unreadable; delete it and connect to the server once"
            ) from None
        if not isinstance(doc, dict) or doc.get("version") != _VERSION or not isinstance(doc.get("fetched_at"), int):
            raise FormatError(f"{path}: not a cached organization policy; delete it and connect to the server once")
        if doc.get("server") != server.rstrip("/") or (account is not None and doc.get("account") != account):
            return None  # another server or account: not ours to apply
        try:
            policy = None if doc.get("policy") is None else OrgPolicy.from_json(doc["policy"])
        except C11Error as e:
            raise FormatError(
                f"{path}: the cached organization policy is malformed ({e}); delete it and connect to the server once"
            ) from None
        return OwnPolicy(policy, CACHE, doc["fetched_at"])


def own_policy(
    client: Client | None, store: OrgPolicyStore | None, account: str | None = None, *, allow_missing: bool = False
) -> OwnPolicy:
    """Your organization's policy: from the server (then cached), else the cached copy when the server is
    unreachable; neither: OrgPolicyUnavailableError, unless `allow_missing` (then source "none")."""
    if client is None:
        return OwnPolicy(None, NONE)
    try:
        info = client.groups.recovery.org_context()
    except ServerError as e:
        if e.status != 0:
            raise
        cached = store.load(client.server, account) if store is not None else None
        if cached is not None:
            return cached
        if allow_missing:
            return OwnPolicy(None, NONE)
        raise OrgPolicyUnavailableError(
            f"your organization's policy could not be read ({e}) and none is cached on this device, so its "
            "recovery keys and online policy cannot be applied: connect to the server once, or encrypt "
            "explicitly without the organization policy"
        ) from None
    policy = from_info(info) if info is not None else None
    now = int(time.time())
    if store is not None:
        store.save(client.server, account, policy, now)
    return OwnPolicy(policy, SERVER, now)


def policy_json(got: OwnPolicy) -> dict[str, Any]:
    """For `--json` summaries."""
    return {"source": got.source, "fetched_at": got.fetched_at, "organization": got.policy.name if got.policy else None}
