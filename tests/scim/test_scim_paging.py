"""Paging of list requests (RFC 7644 §3.4.2.4): totalResults, itemsPerPage and startIndex with more Users and
Groups than `count`, in a stable order, as Okta imports them (startIndex += count until totalResults)."""

from __future__ import annotations

from scimkit import uniq

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _import_all(scim, path, count, extra=None):
    seen, start = [], 1
    while True:
        page = scim.get(path, params={"startIndex": start, "count": count, **(extra or {})}).json()
        assert page["startIndex"] == start and page["itemsPerPage"] == len(page["Resources"]) <= count
        seen += [r["id"] for r in page["Resources"]]
        if start + count > page["totalResults"]:
            return page["totalResults"], seen
        start += count


def test_users_and_groups_pages(org):
    tag = uniq()
    with org.scim() as scim:
        created = [
            scim.post(
                "/Users",
                json={"schemas": [USER], "userName": f"p{i}-{tag}@paging.example", "displayName": f"Pager {tag}"},
            ).json()["id"]
            for i in range(11)
        ]
        groups = [
            scim.post("/Groups", json={"schemas": [GROUP], "displayName": f"g{i}-{tag}"}).json()["id"] for i in range(5)
        ]
        everyone = scim.get("/Users").json()
        assert everyone["totalResults"] == 12 and everyone["itemsPerPage"] == 12  # the root admin too
        total, seen = _import_all(scim, "/Users", 4)
        assert total == 12 and len(seen) == 12 and len(set(seen)) == 12 and seen[1:] == created
        assert seen == [r["id"] for r in everyone["Resources"]]  # the same order whatever the page size

        page = scim.get("/Users", params={"startIndex": 10, "count": 4}).json()
        assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (12, 3, 10)
        page = scim.get("/Users", params={"startIndex": 50, "count": 4}).json()
        assert (page["totalResults"], page["itemsPerPage"], page["Resources"]) == (12, 0, [])
        page = scim.get("/Users", params={"count": 0}).json()
        assert (page["totalResults"], page["itemsPerPage"]) == (12, 0)
        page = scim.get("/Users", params={"startIndex": 0, "count": 2}).json()  # below 1 reads as 1
        assert page["startIndex"] == 1 and [r["id"] for r in page["Resources"]] == seen[:2]
        r = scim.get("/Users", params={"count": "many"})
        assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"

        # filtered and paged
        flt = {"filter": f'displayName eq "pager {tag}"'}
        total, filtered = _import_all(scim, "/Users", 5, flt)
        assert total == 11 and filtered == created

        total, seen_groups = _import_all(scim, "/Groups", 2, {"excludedAttributes": "members"})
        assert total == 5 and seen_groups == groups
