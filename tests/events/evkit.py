"""Helpers of the usage-events tests: verified users with clients, organizations made on the database (as
the operator's `c11 org create` does), and direct access to the server's indexer and log."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import accountkit
from srvkit import RunningServer

from c11.client import Client
from c11.keys.identity import Identity
from c11.server.db import Database


@dataclass
class Person:
    email: str
    token: str
    client: Client
    identity: Identity


def verified(server: RunningServer, tag: str, state_dir: Any) -> Person:
    """A signed-up account with a verified email, logged in (bearer token: every scope)."""
    account = accountkit.signup(server, tag, login=True)
    client = accountkit.client(server, token=account.token, state_dir=state_dir / f"state-{tag}-{account.email[:16]}")
    return Person(account.email, account.token, client, Identity.generate(account.email))


def database(server: RunningServer) -> AbstractContextManager[Database]:
    return accountkit.database(server)


def make_org(
    server: RunningServer,
    name: str,
    admin: str,
    members: list[str] = (),  # type: ignore[assignment]
    admin_permissions: str | None = None,
) -> str:
    """An organization with `admin` (every permission unless `admin_permissions`) and active `members`."""
    return accountkit.make_org(
        server, admin, members, name=name, admin_permissions=admin_permissions, member_status="active"
    )


def add_member(server: RunningServer, org_id: str, email: str, *, admin_permissions: str | None = None) -> None:
    accountkit.add_member(server, org_id, email, admin_permissions=admin_permissions, status="active")


def server_ctx(server: RunningServer) -> Any:
    """The running app's context (the server runs in this process): its log service and indexer."""
    return server._server.config.app.state.ctx


def append_admin(server: RunningServer, org_id: str, action: str, actor_hash: str, target: str) -> int:
    """Append an `admin` entry as the admin routes do (their code may not exist yet): its log index."""
    from c11.server.logsrv.service import append

    return append(
        server_ctx(server),
        "admin",
        {"action": action, "actor": actor_hash, "org": org_id, "target": target},
        subject=org_id,
    )
