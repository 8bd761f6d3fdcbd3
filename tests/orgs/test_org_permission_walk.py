"""THE PERMISSION WALK: every route of the running app whose dependencies (recursively) include an
organization permission check (`ROUTE_PERMISSION`) is called, for every permission it needs, by an admin
holding every permission but that one (403 missing-permission), by an admin holding exactly the route's
permissions (never 403), by a verified non-member (403) and with a machine token without org:admin (403).

Routes are discovered from the app, not listed: routes other services add are walked too."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi.routing import APIRoute
from orgkit import client, create_org, signup
from srvkit import authed

from c11.server.orgs.permissions import ADMIN_SCOPE, MEMBER_SCOPE, PERMISSIONS, READ_SCOPE, ROUTE_PERMISSION

#: Routes of the organization core that the walk must find (others add theirs).
KNOWN = {
    ("PUT", "/api/v1/org/policies"),
    ("GET", "/api/v1/org/members"),
    ("POST", "/api/v1/org/members"),
    ("POST", "/api/v1/org/members/preload"),
    ("POST", "/api/v1/org/members/deactivate"),
    ("POST", "/api/v1/org/members/reactivate"),
    ("GET", "/api/v1/org/admins"),
    ("PUT", "/api/v1/org/admins"),
    ("DELETE", "/api/v1/org/admins"),
    ("GET", "/api/v1/org/invitations"),
    ("POST", "/api/v1/org/invitations/resend"),
}
_PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")


def _calls(dependant) -> set:  # type: ignore[no-untyped-def]
    found = set()
    for d in dependant.dependencies:
        found.add(d.call)
        found |= _calls(d)
    return found


def api_routes(app):  # type: ignore[no-untyped-def]
    """(path, methods, dependant) of every API route of `app`, with the dependencies of the routers that
    include it (FastAPI >= 0.16x includes routers lazily: `iter_route_contexts`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are flattened into app.routes
        return [(r.path, r.methods, r.dependant) for r in app.routes if isinstance(r, APIRoute)]
    out = []
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.original_route, APIRoute):
            out.append((rc.path, rc.methods, getattr(rc, "dependant", None) or rc.original_route.dependant))
    return out


def permission_routes(app) -> list[tuple[str, str, frozenset[str]]]:  # type: ignore[no-untyped-def]
    """(method, path, permissions) of every route depending on an organization permission check."""
    out = []
    for path, methods, dependant in api_routes(app):
        perms = frozenset(ROUTE_PERMISSION[c] for c in _calls(dependant) if c in ROUTE_PERMISSION)
        if perms:
            out += [(m, path, perms) for m in sorted(set(methods) - {"HEAD", "OPTIONS"})]
    return sorted(out)


def _url(path: str) -> str:
    return _PARAM.sub(lambda m: uuid.uuid4().hex, path)  # any value: the permission is checked first


def _call(h: httpx.Client, method: str, path: str) -> httpx.Response:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return h.request(method, _url(path), json=body)


def _app(server):  # type: ignore[no-untyped-def]
    return server._server.config.app


class _Admins:
    """Admins of one organization with given permission sets, made (and logged in) on first use."""

    def __init__(self, server, root_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
        self.server, self.root, self.tmp = server, root_client, tmp_path
        self.tokens: dict[frozenset[str], str] = {}

    def token(self, perms: frozenset[str]) -> str:
        if perms not in self.tokens:
            addr = signup(self.server, "admin")
            self.root.org.add_members([addr])
            self.root.org.set_admin(addr, sorted(perms))
            c = client(self.server, addr)
            self.tokens[perms] = c.token
        return self.tokens[perms]


def test_every_admin_route_checks_its_permission(org_server, tmp_path):
    server = org_server
    routes = permission_routes(_app(server))
    found = {(m, p) for m, p, _ in routes}
    assert routes and KNOWN <= found, sorted(KNOWN - found)
    assert all(perms <= set(PERMISSIONS) for _, _, perms in routes)

    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as r:
        admins = _Admins(server, r, tmp_path)
        no_scope = r.tokens.create("walk", ["keys:read", "documents:read"], 1).token
        outsider = client(server, signup(server, "outsider")).token
        checked = 0
        for method, path, perms in routes:
            for p in sorted(perms):
                with authed(server, admins.token(frozenset(PERMISSIONS) - {p})) as h:
                    res = _call(h, method, path)
                    assert res.status_code == 403, (method, path, p, res.status_code, res.text)
                    assert res.json()["type"].endswith("missing-permission"), (method, path, res.text)
                    assert res.json()["permission"] in perms
                    checked += 1
            with authed(server, admins.token(perms)) as h:
                res = _call(h, method, path)
                assert res.status_code != 403, (method, path, sorted(perms), res.text)
                assert res.status_code != 401
            with authed(server, outsider) as h:
                res = _call(h, method, path)
                assert res.status_code == 403 and res.json()["type"].endswith("missing-permission"), (method, path)
            with authed(server, no_scope) as h:  # the root admin's own token, without org:admin
                res = _call(h, method, path)
                assert res.status_code == 403 and res.json()["type"].endswith("insufficient-scope"), (method, path)
            with httpx.Client(base_url=server.url) as h:
                assert _call(h, method, path).status_code == 401
        assert checked >= len(KNOWN)
        print(f"permission walk: {len(routes)} routes, {checked} refusals checked, {len(admins.tokens)} admins")


def test_org_routes_are_all_guarded(org_server):
    """Every route under /api/v1/org needs at least membership (a permission check, or require_member)."""
    paths = [(p, d) for p, _, d in api_routes(_app(org_server)) if p.startswith("/api/v1/org")]
    assert len(paths) > 10
    for path, dependant in paths:
        calls = _calls(dependant)
        assert any(c in MEMBER_SCOPE or c in ROUTE_PERMISSION for c in calls), path


def _scope_routes(app) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """(method, path, scope) of every organization route (also /api/v1/memberships); scope: the token scope
    its organization dependency checks (org:read or org:admin), None for the invitation routes."""
    out = []
    for path, methods, dependant in api_routes(app):
        if not path.startswith(("/api/v1/org", "/api/v1/memberships")):
            continue
        calls = _calls(dependant)
        scope = (
            ADMIN_SCOPE
            if any(c in ROUTE_PERMISSION for c in calls)
            else next((MEMBER_SCOPE[c] for c in calls if c in MEMBER_SCOPE), None)
        )
        out += [(m, path, scope) for m in sorted(set(methods) - {"HEAD", "OPTIONS"})]
    return sorted(out)


def test_every_org_route_checks_token_scopes(org_server, tmp_path):
    """Issue 12 item 8: the root admin's own machine token without org scopes is refused on every organization
    route (member routes too); with org:read only, refused wherever org:admin is needed."""
    server = org_server
    routes = _scope_routes(_app(server))
    assert len(routes) > 30 and {s for _, _, s in routes} == {ADMIN_SCOPE, READ_SCOPE, None}
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as r:
        none = r.tokens.create("none", ["keys:read", "keys:write", "documents:read", "documents:write"], 1).token
        reader = r.tokens.create("reader", [READ_SCOPE], 1).token
    with authed(server, none) as h0, authed(server, reader) as h1:
        for method, path, scope in routes:
            res = _call(h0, method, path)
            assert res.status_code == 403 and res.json()["type"].endswith("insufficient-scope"), (method, path)
            res = _call(h1, method, path)
            refused = res.status_code == 403 and res.json()["type"].endswith("insufficient-scope")
            if scope == ADMIN_SCOPE:
                assert refused and res.json()["scope"] == ADMIN_SCOPE, (method, path, res.text)
            elif scope == READ_SCOPE:
                assert not refused, (method, path, res.text)


@pytest.mark.parametrize("perm", ["crud:config-org"])
def test_deactivated_admin_loses_permissions(org_server, tmp_path, perm):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as r:
        addr = signup(server, "admin")
        r.org.add_members([addr])
        r.org.set_admin(addr, [perm])
        with client(server, addr) as a:
            assert a.org.set_policies(require_online=True).policies["require_online"] is True
            r.org.deactivate(addr)
            with authed(server, a.token) as h:
                res = h.put("/api/v1/org/policies", json={"require_online": False})
                assert res.status_code == 403 and res.json()["type"].endswith("missing-permission")
                assert h.get("/api/v1/org").status_code == 403


def test_admin_cannot_change_a_more_privileged_admin(org_server, tmp_path):
    """Review finding 4: an admin holding only crud:members-org cannot strip, demote or deactivate an admin who
    holds permissions they lack (403 cannot-change-admin), but may change admins within their own permissions;
    the last admin holding crud:members-org is never removed (409 last-admin)."""
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as r:
        weak, peer, plain = signup(server, "weak"), signup(server, "peer"), signup(server, "plain")
        r.org.add_members([weak, peer, plain])
        r.org.set_admin(weak, ["crud:members-org"])
        r.org.set_admin(peer, ["crud:members-org"])
        with client(server, weak) as w, authed(server, w.token) as h:
            for res in (
                h.put("/api/v1/org/admins", json={"email": root, "permissions": ["crud:members-org"]}),
                h.delete("/api/v1/org/admins", params={"email": root}),
                h.post("/api/v1/org/members/deactivate", json={"email": root}),
            ):
                assert res.status_code == 403 and res.json()["type"].endswith("cannot-change-admin"), res.text
                assert "crud:config-org" in res.json()["permissions"]
            admins = {a["email"]: a for a in h.get("/api/v1/org/admins").json()}
            assert set(admins[root]["permissions"]) == set(PERMISSIONS)  # untouched
            # within their own permissions: allowed
            assert h.put("/api/v1/org/admins", json={"email": plain, "permissions": ["crud:members-org"]}).is_success
            assert h.delete("/api/v1/org/admins", params={"email": plain}).is_success
            assert h.delete("/api/v1/org/admins", params={"email": peer}).is_success
        # the root admin may demote the weak admin; the last admin holding crud:members-org stays
        with authed(server, r.token) as h:
            assert h.delete("/api/v1/org/admins", params={"email": weak}).is_success
            res = h.delete("/api/v1/org/admins", params={"email": root})
            assert res.status_code == 409 and res.json()["type"].endswith("last-admin"), res.text
