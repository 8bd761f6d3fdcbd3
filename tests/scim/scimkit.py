"""Helpers of the SCIM tests: an organization with an admin and a SCIM token, and a replayer of recorded
identity-provider request sequences (tests/scim/fixtures/*.json).

Fixture format: {"source": ..., "headers": {...}, "steps": [{"name", "method", "path", "body"?, "expect":
{"status", "json"?: subset, "absent"?: [keys], "count"?: {"dotted.path": n}}, "save"?: {"var": "dotted.path"}}]}.
`{{var}}` in paths, bodies and expectations is replaced by saved or given values.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import accountkit
import httpx
from srvkit import RunningServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCIM_JSON = "application/scim+json"


@dataclass
class Org:
    """An organization on a test server: its admin (logged in) and one SCIM token."""

    server: RunningServer
    id: str
    name: str
    admin: str
    admin_token: str
    scim_token: str
    scim_token_id: str

    def admin_http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, timeout=30, headers={"authorization": f"Bearer {self.admin_token}"}
        )

    def scim(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url + "/scim/v2",
            timeout=30,
            headers={"authorization": f"Bearer {token or self.scim_token}", "content-type": SCIM_JSON},
        )


def verified_account(server: RunningServer, tag: str = "admin") -> tuple[str, str]:
    """Sign up, verify the email and log in: (email, bearer token)."""
    account = accountkit.signup(server, tag, login=True)
    return account.email, account.token


#: The email domains the tests' identity provider sends, verified for every test organization.
DOMAINS = (
    "example.com",
    "okta.local",
    "testuser.com",
    "microsoft.com",
    "home.example",
    "x.example",
    "x.com",
    "paging.example",
    "a.example",
    "b.example",
)


def create_org(server: RunningServer, admin: str) -> tuple[str, str]:
    """Create an organization with root admin `admin` as the operator does (on the server's database), with
    DOMAINS verified (what the operator's `c11 org create --domain D --verified` does)."""
    name = f"org-{uuid.uuid4().hex[:10]}"
    return accountkit.make_org(server, admin, name=name, domains=DOMAINS), name


def new_org(server: RunningServer) -> Org:
    admin, token = verified_account(server)
    org_id, name = create_org(server, admin)
    r = httpx.post(
        f"{server.url}/api/v1/org/scim-tokens", json={"name": "idp"}, headers={"authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text
    return Org(server, org_id, name, admin, token, r.json()["token"], r.json()["id"])


def uniq() -> str:
    return uuid.uuid4().hex[:12]


# -- replaying recorded sequences ---------------------------------------------------------------------------


def _subst(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{\{(\w+)\}\}", value)
        if whole and whole.group(1) in env and not isinstance(env[whole.group(1)], str):
            return env[whole.group(1)]
        return re.sub(r"\{\{(\w+)\}\}", lambda m: str(env[m.group(1)]), value)
    if isinstance(value, list):
        return [_subst(v, env) for v in value]
    if isinstance(value, dict):
        return {_subst(k, env): _subst(v, env) for k, v in value.items()}
    return value


def dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """`actual` contains `expected`: dicts by key (recursively), lists element by element, scalars equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{where}.{k} missing in {actual!r}"
            assert_subset(v, actual[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected {len(expected)} items, got {actual!r}"
        )
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{i}]")
    else:
        assert expected == actual, f"{where}: expected {expected!r}, got {actual!r}"


def replay(org: Org, fixture: str, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send every step of `fixture` to the org's SCIM endpoint and check the answers; returns saved values."""
    spec = json.loads((FIXTURES / fixture).read_text())
    env = {"uniq": uniq(), **(env or {})}
    headers = {**spec.get("headers", {}), "authorization": f"Bearer {org.scim_token}"}
    with httpx.Client(base_url=org.server.url + "/scim/v2", timeout=30) as http:
        for step in spec["steps"]:
            name = step["name"]
            body = _subst(step.get("body"), env) if "body" in step else None
            content = json.dumps(body).encode() if body is not None else None
            r = http.request(step["method"], _subst(step["path"], env), content=content, headers=headers)
            want = step["expect"]
            assert r.status_code == want["status"], f"{fixture} / {name}: {r.status_code} {r.text}"
            if r.status_code == 204:
                assert r.content == b"", f"{fixture} / {name}: 204 with a body"
                continue
            assert r.headers["content-type"].startswith(SCIM_JSON), f"{fixture} / {name}: {r.headers}"
            doc = r.json()
            if "json" in want:
                assert_subset(_subst(want["json"], env), doc, f"{fixture} / {name}")
            for key in want.get("absent", []):
                assert key not in doc, f"{fixture} / {name}: {key} should be absent: {doc}"
            for dotted, n in want.get("count", {}).items():
                assert len(dig(doc, dotted)) == n, f"{fixture} / {name}: {dotted} has not {n} items: {doc}"
            for var, dotted in step.get("save", {}).items():
                env[var] = dig(doc, dotted)
    return env


# -- reading the server's database (what SCIM changed for the rest of the product) -------------------------


def db_query(server: RunningServer, fn: Any) -> Any:
    """Run `fn(session)` on the server's database and return its result."""
    from c11.server.db import Database

    db = Database(server.config.database_url)
    try:
        with db.session() as s:
            return fn(s)
    finally:
        db.dispose()


def member_row(server: RunningServer, email: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from c11.server.orgs.models import OrgMember

    def read(s: Any) -> dict[str, Any] | None:
        m = s.scalar(select(OrgMember).where(OrgMember.email == email.lower()))
        return (
            None
            if m is None
            else {
                "id": m.id,
                "org_id": m.org_id,
                "status": m.status,
                "external_id": m.external_id,
                "display_name": m.display_name,
            }
        )

    return db_query(server, read)


def admin_entries(server: RunningServer, org_id: str) -> list[dict[str, Any]]:
    """The `admin` log entries about `org_id`, oldest first, as their admins read them: each v2 entry with
    its opening's private fields merged in (`by` back as `actor`; docs/log.md section 7)."""
    from sqlalchemy import select

    from c11.server.logsrv.models import LogEntry, LogOpening

    rows = db_query(
        server,
        lambda s: list(
            s.execute(
                select(LogEntry.data, LogOpening.private)
                .outerjoin(LogOpening, LogOpening.log_index == LogEntry.idx)
                .where(LogEntry.kind == "admin", LogEntry.subject == org_id)
                .order_by(LogEntry.idx)
            )
        ),
    )
    return [opened_admin_entry(d, p) for d, p in rows]


def opened_admin_entry(data: str, private: str | None) -> dict[str, Any]:
    """A public `admin` entry with its opening (if any) merged in, as in the v1 form."""
    e = json.loads(data)
    if private is not None:
        hidden = json.loads(private)
        hidden.pop("person", None)
        e = {**{k: v for k, v in e.items() if k not in ("actor", "v")}, **hidden}
        e["actor"] = e.pop("by")
    return e


def add_admin(org: Org, permissions: set[str]) -> tuple[str, str]:
    """Another verified member of `org`, made an admin holding `permissions` (empty: a plain member)."""
    from sqlalchemy import select

    from c11.server.orgs import service
    from c11.server.orgs.models import Organization

    email, token = verified_account(org.server, "second")

    def add(s: Any) -> None:
        m = service.add_member(s, s.scalar(select(Organization).where(Organization.id == org.id)), email, None)
        if permissions:
            service.set_admin(s, m, frozenset(permissions))

    db_query(org.server, add)
    return email, token
