"""A SCIM token acts on its own organization only: org A's token can neither see nor change org B's Users and
Groups, nor put B's members in A's groups, nor take B's members' emails."""

from __future__ import annotations

from scimkit import member_row, new_org, uniq

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_tokens_of_org_a_cannot_touch_org_b(scim_server):
    a, b = new_org(scim_server), new_org(scim_server)
    b_email = f"bob-{uniq()}@b.example"
    with b.scim() as sb:
        b_user = sb.post("/Users", json={"schemas": [USER], "userName": b_email}).json()["id"]
        b_group = sb.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "Staff", "members": [{"value": b_user}]}
        ).json()["id"]
    with a.scim() as sa:
        a_user = sa.post("/Users", json={"schemas": [USER], "userName": f"ann-{uniq()}@a.example"}).json()["id"]
        a_group = sa.post("/Groups", json={"schemas": [GROUP], "displayName": "Staff"}).json()["id"]  # same name: ok
        for method, path, body in [
            ("GET", f"/Users/{b_user}", None),
            ("PUT", f"/Users/{b_user}", {"schemas": [USER], "userName": b_email, "active": False}),
            (
                "PATCH",
                f"/Users/{b_user}",
                {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]},
            ),
            ("DELETE", f"/Users/{b_user}", None),
            ("GET", f"/Groups/{b_group}", None),
            ("PUT", f"/Groups/{b_group}", {"schemas": [GROUP], "displayName": "Mine", "members": []}),
            (
                "PATCH",
                f"/Groups/{b_group}",
                {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{b_user}"]'}]},
            ),
            ("DELETE", f"/Groups/{b_group}", None),
        ]:
            r = sa.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        # listing and filters see only A
        listed = sa.get("/Users", params={"count": 1000}).json()
        assert b_user not in [u["id"] for u in listed["Resources"]]
        assert sa.get("/Users", params={"filter": f'userName eq "{b_email}"'}).json()["totalResults"] == 0
        assert sa.get("/Users", params={"filter": f'id eq "{b_user}"'}).json()["totalResults"] == 0
        groups = sa.get("/Groups").json()
        assert [g["id"] for g in groups["Resources"]] == [a_group]
        # B's member cannot join A's group, nor be taken by A
        r = sa.patch(
            f"/Groups/{a_group}",
            json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": b_user}]}]},
        )
        assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
        r = sa.post("/Users", json={"schemas": [USER], "userName": b_email.upper()})
        assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
        r = sa.patch(
            f"/Users/{a_user}",
            json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": b_email}]},
        )
        assert r.status_code == 409
    # nothing of B changed
    row = member_row(scim_server, b_email)
    assert row is not None and row["org_id"] == b.id and row["status"] != "deactivated"
    with b.scim() as sb:
        g = sb.get(f"/Groups/{b_group}").json()
        assert g["displayName"] == "Staff" and [m["value"] for m in g["members"]] == [b_user]
