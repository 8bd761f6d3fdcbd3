"""The SCIM service provider beyond the recorded sequences: discovery, errors (scimType), ETags, attribute
selection, and what provisioning does to the organization: member status, keys no longer served after
active=false, DELETE then POST again, the last admin kept, `admin` log entries without emails."""

from __future__ import annotations

import json

import pytest
from scimkit import SCIM_JSON, admin_entries, db_query, member_row, uniq, verified_account
from sqlalchemy import select

from c11.client import Client
from c11.errors import C11Error
from c11.keys.identity import Identity
from c11.log.entries import email_hash
from c11.server.scim.models import ScimUser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _patch(*ops):
    return {"schemas": [PATCH], "Operations": list(ops)}


def test_discovery(shared_org):
    org = shared_org
    with org.scim() as scim:
        spc = scim.get("/ServiceProviderConfig")
        assert spc.status_code == 200 and spc.headers["content-type"].startswith(SCIM_JSON)
        d = spc.json()
        assert d["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
        assert d["patch"]["supported"] and d["filter"]["supported"] and d["filter"]["maxResults"] == 1000
        assert not d["bulk"]["supported"] and not d["sort"]["supported"] and d["etag"]["supported"]
        assert d["authenticationSchemes"][0]["type"] == "oauthbearertoken"
        types = scim.get("/ResourceTypes").json()
        assert types["totalResults"] == 2 and {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
        assert scim.get("/ResourceTypes/Group").json()["schema"] == GROUP
        schemas = scim.get("/Schemas").json()
        assert {s["id"] for s in schemas["Resources"]} == {
            USER,
            GROUP,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        }
        user_schema = scim.get(f"/Schemas/{USER}").json()
        assert "userName" in [a["name"] for a in user_schema["attributes"]]
        assert scim.get("/Schemas/urn:nope").status_code == 404
        slash = scim.get("/Users/?count=1", follow_redirects=True)  # a trailing slash is redirected away
        assert slash.status_code == 200 and slash.json()["itemsPerPage"] == 1


@pytest.mark.parametrize(
    "method,path,body,status,scim_type",
    [
        ("GET", "/Bulk", None, 404, None),
        ("POST", "/Bulk", {}, 404, None),
        ("GET", "/Users/a/b", None, 404, None),
        ("PUT", "/Users", {}, 405, None),
        ("DELETE", "/Groups", None, 405, None),
        ("GET", "/Users?filter=userName%20eq", None, 400, "invalidFilter"),
        ("GET", "/Users?filter=userName%20like%20%22x%22", None, 400, "invalidFilter"),
        ("GET", "/Groups?filter=(displayName%20eq%20%22x%22", None, 400, "invalidFilter"),
        ("POST", "/Users", "not json", 400, "invalidSyntax"),
        ("POST", "/Users", {"schemas": [USER]}, 400, "invalidValue"),
        ("POST", "/Users", {"schemas": [USER], "userName": "not-an-email"}, 400, "invalidValue"),
        ("POST", "/Users", {"schemas": [GROUP], "userName": "x@example.com"}, 400, "invalidSyntax"),
        ("POST", "/Users", {"schemas": [USER], "userName": "y@example.com", "active": "maybe"}, 400, "invalidValue"),
        (
            "POST",
            "/Users",
            {"schemas": [USER], "userName": "y@example.com", "externalId": "x" * 256},
            400,
            "invalidValue",
        ),
        ("POST", "/Groups", {"schemas": [GROUP]}, 400, "invalidValue"),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": "a/b"}, 400, "invalidValue"),
        (
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "x", "members": [{"value": "nobody"}]},
            400,
            "invalidValue",
        ),
        ("GET", "/Groups/nope", None, 404, None),
        ("PATCH", "/Users/nope", _patch({"op": "replace", "path": "active", "value": False}), 404, None),
    ],
)
def test_errors_are_scim_errors(shared_org, method, path, body, status, scim_type):
    org = shared_org
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else None
    with org.scim() as scim:
        r = scim.request(method, path, content=content)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(SCIM_JSON)
    doc = r.json()
    assert doc["schemas"] == [ERROR] and doc["status"] == str(status) and doc["detail"]
    assert doc.get("scimType") == scim_type


def test_patch_errors(shared_org):
    org = shared_org
    with org.scim() as scim:
        uid = scim.post("/Users", json={"schemas": [USER], "userName": f"p-{uniq()}@x.example"}).json()["id"]
        for body, scim_type in [
            (_patch({"op": "jump", "path": "active", "value": False}), "invalidSyntax"),
            ({"Operations": "no"}, "invalidSyntax"),
            (_patch({"op": "remove"}), "noTarget"),
            (_patch({"op": "replace", "path": "emails[type eq", "value": "x"}), "invalidPath"),
            (_patch({"op": "replace", "path": "id", "value": "other"}), "mutability"),
            (_patch({"op": "replace", "path": "userName", "value": "nope"}), "invalidValue"),
            (_patch({"op": "replace", "path": "active", "value": "perhaps"}), "invalidValue"),
        ]:
            r = scim.patch(f"/Users/{uid}", json=body)
            assert r.status_code == 400 and r.json()["scimType"] == scim_type, (body, r.text)
        assert scim.get(f"/Users/{uid}").json()["active"] is True  # nothing applied


def test_etags_and_attribute_selection(shared_org):
    org = shared_org
    with org.scim() as scim:
        created = scim.post(
            "/Users", json={"schemas": [USER], "userName": f"e-{uniq()}@x.example", "name": {"givenName": "E"}}
        )
        assert created.status_code == 201 and created.headers["location"] == created.json()["meta"]["location"]
        user = created.json()
        assert user["meta"]["location"] == f"{org.server.url}/scim/v2/Users/{user['id']}"
        got = scim.get(f"/Users/{user['id']}")
        etag = got.headers["etag"]
        assert etag == got.json()["meta"]["version"] == user["meta"]["version"] and etag.startswith('W/"')
        r = scim.patch(
            f"/Users/{user['id']}",
            json=_patch({"op": "add", "path": "title", "value": "Boss"}),
            headers={"if-match": etag},
        )
        assert r.status_code == 200 and r.headers["etag"] != etag
        r = scim.put(
            f"/Users/{user['id']}", json={"schemas": [USER], "userName": user["userName"]}, headers={"if-match": etag}
        )
        assert r.status_code == 412 and r.json()["schemas"] == [ERROR]
        assert scim.get(f"/Users/{user['id']}").json()["title"] == "Boss"

        slim = scim.get(f"/Users/{user['id']}", params={"attributes": "userName,name.givenName"}).json()
        assert set(slim) == {"schemas", "id", "meta", "userName", "name"}
        lean = scim.get(
            "/Users", params={"filter": f'id eq "{user["id"]}"', "excludedAttributes": "emails,groups,name"}
        ).json()["Resources"][0]
        assert "emails" not in lean and "groups" not in lean and "name" not in lean and lean["userName"]


def test_provisioning_changes_the_organization(org, tmp_path):
    # bob has an account with a published key, before the identity provider provisions him
    bob, bob_token = verified_account(org.server, "bob")
    with Client(org.server.url, bob_token) as c:
        c.state_dir = tmp_path / "bob"
        c.registry.publish(Identity.generate(bob))
    seer, seer_token = verified_account(org.server, "seer")

    def lookup() -> bool:
        with Client(org.server.url, seer_token) as c:
            c.state_dir = tmp_path / "seer"
            try:
                c.lookup(bob)
                return True
            except C11Error:
                return False

    assert lookup()
    with org.scim() as scim:
        r = scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": bob.upper(),
                "externalId": "e-bob",
                "displayName": "Bob",
                "password": "Secret-1234",
                "active": True,
            },
        )
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
        row = member_row(org.server, bob)
        assert row == {
            "id": uid,
            "org_id": org.id,
            "status": row["status"],
            "external_id": "e-bob",
            "display_name": "Bob",
        }
        assert row["status"] in ("invited", "active")  # ORG turns members with a verified account active
        stored = db_query(org.server, lambda s: s.scalar(select(ScimUser.attributes).where(ScimUser.member_id == uid)))
        assert "Secret-1234" not in stored and "password" not in stored

        r = scim.patch(f"/Users/{uid}", json=_patch({"op": "Replace", "path": "active", "value": "False"}))
        assert r.status_code == 200 and r.json()["active"] is False
        assert member_row(org.server, bob)["status"] == "deactivated"
        assert not lookup()  # keys of a deactivated member are no longer served

        r = scim.patch(f"/Users/{uid}", json=_patch({"op": "replace", "value": {"active": True}}))
        assert r.json()["active"] is True
        assert member_row(org.server, bob)["status"] == "active"  # verified account: active again
        assert lookup()

        # DELETE deactivates, keeps the row, and the User is gone for SCIM; POSTing it again revives it
        gid = scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": f"g-{uniq()}", "members": [{"value": uid}]}
        ).json()["id"]
        assert scim.delete(f"/Users/{uid}").status_code == 204
        assert member_row(org.server, bob)["status"] == "deactivated" and not lookup()
        assert scim.get(f"/Users/{uid}").status_code == 404
        assert scim.patch(f"/Users/{uid}", json=_patch({"op": "replace", "value": {"active": True}})).status_code == 404
        assert scim.delete(f"/Users/{uid}").status_code == 404
        assert scim.get(f"/Groups/{gid}").json()["members"] == []
        again = scim.post("/Users", json={"schemas": [USER], "userName": bob})
        assert again.status_code == 201 and again.json()["id"] == uid and again.json()["active"] is True
        assert "externalId" not in again.json()
        assert member_row(org.server, bob)["status"] == "active" and lookup()

    actions = [(e["action"], e["target"]) for e in admin_entries(org.server, org.id) if e.get("via") == "scim"]
    h = email_hash(bob)
    assert actions[:3] == [("member.add", h), ("member.deactivate", h), ("member.reactivate", h)]
    assert ("member.delete", h) in actions and ("group.create", gid) in actions
    assert ("group.member.add", gid) in actions
    for e in admin_entries(org.server, org.id):
        assert "@" not in json.dumps(e)
        if e.get("via") == "scim":
            assert e["actor"] == f"scim-token:{org.scim_token_id}"


def test_members_added_by_admins_are_scim_users_and_the_last_admin_stays(org):
    with org.scim() as scim:
        found = scim.get("/Users", params={"filter": f'userName eq "{org.admin}"'}).json()
        assert found["totalResults"] == 1  # the identity provider links the existing member instead of failing
        admin = found["Resources"][0]
        assert admin["active"] is True and admin["emails"] == [{"value": org.admin, "type": "work", "primary": True}]
        r = scim.patch(f"/Users/{admin['id']}", json=_patch({"op": "replace", "path": "active", "value": False}))
        assert r.status_code == 409 and r.json()["schemas"] == [ERROR]  # would leave nobody to manage members
        assert scim.delete(f"/Users/{admin['id']}").status_code == 409
        assert member_row(org.server, org.admin)["status"] != "deactivated"
        r = scim.patch(f"/Users/{admin['id']}", json=_patch({"op": "add", "path": "displayName", "value": "Root"}))
        assert r.status_code == 200 and r.json()["displayName"] == "Root"


def test_group_names_are_unique_in_the_organization(shared_org):
    org = shared_org
    with org.scim() as scim:
        name = f"team-{uniq()}"
        first = scim.post("/Groups", json={"schemas": [GROUP], "displayName": name})
        assert first.status_code == 201
        r = scim.post("/Groups", json={"schemas": [GROUP], "displayName": name})
        assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
        other = scim.post("/Groups", json={"schemas": [GROUP], "displayName": name + "-2"}).json()["id"]
        r = scim.patch(f"/Groups/{other}", json=_patch({"op": "replace", "path": "displayName", "value": name}))
        assert r.status_code == 409
        found = scim.get("/Groups", params={"filter": f'displayName eq "{name.upper()}"'}).json()
        assert found["totalResults"] == 1 and found["Resources"][0]["id"] == first.json()["id"]
