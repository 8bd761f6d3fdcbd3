"""The one helper kit for accounts and organizations in tests: sign up, verify the email, log in, and set up an
organization on the server's database as the operator's tools do.

The folder kits (orgkit, grpkit, evkit, regkit, shardkit, scimkit) and tests/server/conftest.py keep their own
function names as thin wrappers over these. On the path through tests/conftest.py (tests/server).
"""

from __future__ import annotations

import email
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srvkit import PASSWORD, RunningServer, confirm_email, new_email, text_body, verification_link


@dataclass
class Account:
    """A signed-up account on a test server; `token` and `device` are set once logged in."""

    email: str
    password: str = PASSWORD
    token: str = ""
    device: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password, "token": self.token, "device": self.device}


def verification_email(server: RunningServer, addr: str, timeout: float = 10.0) -> email.message.Message:
    """The first email to `addr` holding a verification link, once the outbox-folder transport wrote it."""
    deadline = time.monotonic() + timeout
    folder = server.data_dir / "outbox"
    while True:
        found = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        for m in (email.message_from_bytes(p.read_bytes()) for p in found):
            if m["To"] == addr and "/verify#token=" in text_body(m):
                return m
        if time.monotonic() > deadline:
            raise AssertionError(f"no verification email to {addr} in {folder}")
        time.sleep(0.05)


def verify_email(server: RunningServer, addr: str, password: str = PASSWORD) -> None:
    """Confirm `addr` as its owner does: the emailed link's page, then its form with the sign-up password."""
    assert confirm_email(verification_link(verification_email(server, addr)), password).status_code == 200


def signup(
    server: RunningServer,
    tag: str = "user",
    *,
    addr: str | None = None,
    password: str = PASSWORD,
    verified: bool = True,
    login: bool = False,
) -> Account:
    """Sign up through the SDK (a new address unless `addr`), verify the email unless `verified=False`, and log
    in (bearer token, device token) if `login`."""
    from c11.client import Client

    account = Account(addr or new_email(tag), password)
    with Client(server.url) as c:
        c.signup(account.email, password)
        if verified:
            verify_email(server, account.email, password)
        if login:
            result = c.login(account.email, password)
            account.token, account.device = result.token, result.device_token or ""
    return account


def client(
    server: RunningServer,
    addr: str | None = None,
    *,
    token: str | None = None,
    state_dir: Path | None = None,
    password: str = PASSWORD,
) -> Any:
    """An SDK client: logged in as `addr` with the password, or with a bearer `token`; state in `state_dir`."""
    from c11.client import Client

    c = Client(server.url, token) if token is not None else Client(server.url)
    if token is None:
        assert addr is not None, "an address or a token"
        c.login(addr, password)
    if state_dir is not None:
        c.state_dir = state_dir
    return c


@contextmanager
def database(server: RunningServer) -> Iterator[Any]:
    """The server's database (a second engine on it), disposed afterwards."""
    from c11.server.db import Database

    db = Database(server.config.database_url)
    try:
        yield db
    finally:
        db.dispose()


def make_org(
    server: RunningServer,
    admin: str,
    members: Iterable[str] = (),
    *,
    name: str | None = None,
    policies: dict[str, Any] | None = None,
    domains: Iterable[str] = (),
    admin_permissions: str | None = None,
    member_status: str | None = None,
) -> str:
    """An organization set up as the operator's `c11 org create` does (service.create_organization), with root
    admin `admin`, `members` (service.add_member; `member_status` forces their status, e.g. "active" for
    addresses without an account), `policies`, operator-verified `domains`; `admin_permissions` narrows the
    admin's. Returns the organization's ID."""
    import uuid

    from c11.server.orgs import service
    from c11.server.orgs.domains import set_verified
    from c11.server.orgs.models import Organization
    from c11.server.orgs.policies import OrgPolicies, dump

    with database(server) as db, db.session() as s:
        org, root = service.create_organization(s, name or f"Org {uuid.uuid4().hex[:8]}", admin)
        if admin_permissions is not None:
            root.permissions = admin_permissions
        for domain in domains:
            set_verified(s, org, domain, by=None)
        for m in members:
            member = service.add_member(s, org, m, added_by=admin)
            if member_status is not None:
                member.status = member_status
        if policies:
            s.get(Organization, org.id).policies = dump(OrgPolicies(**policies))
        s.flush()
        return org.id


def add_member(
    server: RunningServer, org_id: str, addr: str, *, admin_permissions: str | None = None, status: str | None = None
) -> None:
    """Add `addr` to an organization as the operator does; an admin with `admin_permissions` if given."""
    from c11.server.orgs import service
    from c11.server.orgs.models import Organization

    with database(server) as db, db.session() as s:
        member = service.add_member(s, s.get(Organization, org_id), addr, added_by=None)
        if admin_permissions is not None:
            member.is_admin, member.permissions = True, admin_permissions
        if status is not None:
            member.status = status
