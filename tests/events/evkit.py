"""Helpers of the usage-events tests: verified users with clients, organizations made on the database (as
the operator's `c11 org create` does), and direct access to the server's indexer and log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from srvkit import PASSWORD, RunningServer, new_email, outbox_message, confirm_email, verification_link

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
    addr = new_email(tag)
    with Client(server.url) as c:
        c.signup(addr, PASSWORD)
        assert confirm_email(verification_link(outbox_message(server.data_dir, addr))).status_code == 200
        token = c.login(addr, PASSWORD).token
    client = Client(server.url, token)
    client.state_dir = state_dir / f"state-{tag}-{addr[:16]}"
    return Person(addr, token, client, Identity.generate(addr))


@contextmanager
def database(server: RunningServer) -> Iterator[Database]:
    db = Database(server.config.database_url)
    try:
        yield db
    finally:
        db.dispose()


def _consented() -> dict[str, str]:
    """Members made by the operator have consented (when the model records consent)."""
    from c11.server.orgs.models import OrgMember

    return {"consent": "operator"} if hasattr(OrgMember, "consent") else {}


def make_org(server: RunningServer, name: str, admin: str, members: list[str] = (),  # type: ignore[assignment]
             admin_permissions: str | None = None) -> str:
    """An organization with `admin` (every permission unless `admin_permissions`) and active `members`."""
    from c11.server.orgs.models import Organization, OrgMember
    from c11.server.orgs.permissions import PERMISSIONS

    perms = " ".join(sorted(PERMISSIONS)) if admin_permissions is None else admin_permissions
    with database(server) as db, db.session() as s:
        org = Organization(name=name, policies="{}")
        s.add(org)
        s.flush()
        s.add(OrgMember(org_id=org.id, email=admin.lower(), status="active", is_admin=True, permissions=perms,
                        **_consented()))
        for m in members:
            s.add(OrgMember(org_id=org.id, email=m.lower(), status="active", is_admin=False, permissions="",
                            **_consented()))
        return org.id


def add_member(server: RunningServer, org_id: str, email: str, *, admin_permissions: str | None = None) -> None:
    from c11.server.orgs.models import OrgMember

    with database(server) as db, db.session() as s:
        s.add(OrgMember(org_id=org_id, email=email.lower(), status="active", is_admin=admin_permissions is not None,
                        permissions=admin_permissions or "", **_consented()))


def server_ctx(server: RunningServer) -> Any:
    """The running app's context (the server runs in this process): its log service and indexer."""
    return server._server.config.app.state.ctx


def append_admin(server: RunningServer, org_id: str, action: str, actor_hash: str, target: str) -> int:
    """Append an `admin` entry as the admin routes do (their code may not exist yet): its log index."""
    from c11.server.logsrv.service import append

    return append(server_ctx(server), "admin", {"action": action, "actor": actor_hash, "org": org_id,
                                                "target": target}, subject=org_id)
