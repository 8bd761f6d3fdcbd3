"""Issue 12 item 3 through SCIM: an identity provider provisions only addresses of the organization's verified
domains (a SCIM error body otherwise, on create and on rename), never takes a member of another organization,
and does not see people merely invited to join."""

from __future__ import annotations

from scimkit import uniq

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def test_scim_only_in_verified_domains(shared_org, org):
    with shared_org.scim() as scim:
        r = scim.post("/Users", json={"schemas": [USER], "userName": f"o-{uniq()}@outsider.test"})
        assert r.status_code == 403 and r.json()["schemas"] == [ERROR]
        assert "outsider.test is not a verified domain" in r.json()["detail"]
        inside = scim.post("/Users", json={"schemas": [USER], "userName": f"i-{uniq()}@example.com"}).json()
        r = scim.put(f"/Users/{inside['id']}", json={"schemas": [USER], "userName": f"r-{uniq()}@outsider.test"})
        assert r.status_code == 403 and r.json()["schemas"] == [ERROR]
        # the other organization's member (its admin, same verified domain) is not taken
        r = scim.post("/Users", json={"schemas": [USER], "userName": org.admin})
        assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    # someone the other organization's admin invited (outside its domains) is not visible there through SCIM
    import httpx

    invitee = f"v-{uniq()}@outsider.test"
    r = httpx.post(
        f"{org.server.url}/api/v1/org/members",
        json={"emails": [invitee]},
        headers={"authorization": f"Bearer {org.admin_token}"},
    )
    assert r.json()[0]["result"] == "invited-to-join"
    with org.scim() as scim:
        found = scim.get("/Users", params={"filter": f'userName eq "{invitee}"'}).json()
        assert found["totalResults"] == 0
