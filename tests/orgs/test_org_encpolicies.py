"""Organization encryption policies (F21) on the real server, on SQLite and PostgreSQL: admins holding
crud:config-org add, edit and remove named recipient sets; every member lists them; a member without the
permission and an admin of another organization are refused; each change is an `admin` log entry."""

from __future__ import annotations

import httpx
import pytest
from orgkit import client, create_org, signup
from srvkit import BACKENDS, backend_server

from c11.errors import AuthError, RecipientError, ServerError


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    with backend_server(request, tmp_path_factory, "encpolicies") as running:
        yield running


def _raw(server, c, method, path, body=None):
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {c.token}"}) as h:
        return h.request(method, path, json=body)


def test_admin_keeps_policies_members_list_them(server, tmp_path):
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    alice, bob, partner = signup(server, "alice"), signup(server, "bob"), "Partner@Elsewhere.test"
    with client(server, root) as a:
        a.org.add_members([alice, bob])
        a.groups.create("Legal", [alice])
        p = a.org.encryption_policies.add(
            "Board", [bob, partner, bob], ["legal"], description="Board papers"
        )  # groups by name, case-insensitive; emails normalised and de-duplicated
        assert p.emails == tuple(sorted([bob, "partner@elsewhere.test"]))
        assert [n for _, n in p.groups] == ["Legal"]
        assert p.recipients == (*p.emails, "group:Legal") and p.created_by == root
        with pytest.raises(ServerError) as e:  # unknown group: 422 naming it
            a.org.encryption_policies.add("X", groups=["nope"])
        assert e.value.status == 422 and "'nope'" in str(e.value)
        with pytest.raises(ServerError) as e:  # nothing to encrypt for
            a.org.encryption_policies.add("Empty")
        assert e.value.status == 422
        with pytest.raises(ServerError) as e:  # names are unique in the organization
            a.org.encryption_policies.add("Board", [alice])
        assert e.value.status == 409
        r = _raw(server, a, "POST", "/api/v1/org/encryption-policies", {"name": "bad", "emails": ["not an email"]})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        # a member (no permission) lists and reads them, and cannot change them
        with client(server, alice) as m:
            assert [x.name for x in m.org.encryption_policies.list()] == ["Board"]
            assert m.org.encryption_policies.find("board").id == p.id
            with pytest.raises(RecipientError, match="no encryption policy 'Nope'.*Board"):
                m.org.encryption_policies.find("Nope")
            for method, path, body in [
                ("POST", "/api/v1/org/encryption-policies", {"name": "Mine", "emails": [alice]}),
                ("PUT", f"/api/v1/org/encryption-policies/{p.id}", {"name": "Board", "emails": [alice]}),
                ("DELETE", f"/api/v1/org/encryption-policies/{p.id}", None),
            ]:
                r = _raw(server, m, method, path, body)
                assert r.status_code == 403 and r.json()["type"].endswith("missing-permission"), (method, r.text)
            with pytest.raises(AuthError):
                m.org.encryption_policies.remove("Board")
        # edit: fields given change, others stay; a deleted group is shown without a name and not offered
        e2 = a.org.encryption_policies.edit("Board", emails=[alice])
        assert e2.id == p.id and e2.emails == (alice,) and [n for _, n in e2.groups] == ["Legal"]
        assert e2.description == "Board papers" and e2.updated_by == root
        a.groups.delete("Legal")
        e3 = a.org.encryption_policies.get(p.id)
        assert e3.groups[0][1] is None and e3.recipients == (alice,)
        a.org.encryption_policies.remove(p.id)
        assert a.org.encryption_policies.list() == []
        with pytest.raises(ServerError) as e:
            a.org.encryption_policies.get(p.id)
        assert e.value.status == 404


def test_other_organization_and_outsiders_are_refused(server, tmp_path):
    a_admin, b_admin, outsider = signup(server, "a"), signup(server, "b"), signup(server, "out")
    create_org(server, a_admin, tmp_path / "a")
    create_org(server, b_admin, tmp_path / "b", domain=None)
    with client(server, a_admin) as a:
        p = a.org.encryption_policies.add("Finance", [a_admin])
    with client(server, b_admin) as b:
        assert b.org.encryption_policies.list() == []  # A's policies are not B's
        for method, body in [("GET", None), ("PUT", {"name": "Mine", "emails": [b_admin]}), ("DELETE", None)]:
            r = _raw(server, b, method, f"/api/v1/org/encryption-policies/{p.id}", body)
            assert r.status_code == 404, (method, r.text)  # as if absent: B learns nothing of A's ids
        with pytest.raises(ServerError) as e:  # B cannot name A's groups either
            b.org.encryption_policies.add("X", groups=["Finance"])
        assert e.value.status == 422
    with client(server, outsider) as o:
        r = _raw(server, o, "GET", "/api/v1/org/encryption-policies")
        assert r.status_code == 403 and r.json()["type"].endswith("not-a-member")
    with client(server, a_admin) as a:
        assert [x.name for x in a.org.encryption_policies.list()] == ["Finance"]
