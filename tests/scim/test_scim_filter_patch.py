"""The SCIM filter parser and PATCH engine on plain resources (no server): RFC 7644 §3.4.2.2 and §3.5.2."""

from __future__ import annotations

import pytest

from c11.server.scim.errors import ScimError
from c11.server.scim.filter import ENTERPRISE_USER, matches, parse_filter, parse_patch_path
from c11.server.scim.patch import apply_patch

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "abc",
    "userName": "ann@example.com",
    "externalId": "Ext-1",
    "active": True,
    "name": {"givenName": "Ann", "familyName": "Lee"},
    "emails": [
        {"value": "ann@example.com", "type": "work", "primary": True},
        {"value": "ann@home.example", "type": "home"},
    ],
    ENTERPRISE_USER: {"department": "Finance"},
    "meta": {"created": "2026-01-02T00:00:00Z"},
}


@pytest.mark.parametrize(
    "text,expected",
    [
        ('userName eq "ann@example.com"', True),
        ('UserName EQ "ANN@EXAMPLE.COM"', True),  # names and string values are case-insensitive
        ('externalId eq "ext-1"', False),  # externalId is caseExact
        ('externalId eq "Ext-1"', True),
        ('emails[type eq "work"].value eq "ann@example.com"', True),
        ('emails[type eq "home"].value eq "ann@example.com"', False),
        ('emails[type eq "work" and value co "@example"]', True),
        ('emails.value eq "ann@home.example"', True),
        ('name.familyName sw "L" and not (active eq false)', True),
        ('active eq true or userName eq "x"', True),
        ('(userName eq "x" or userName eq "y") and active eq true', False),
        ("title pr", False),
        ("name pr", True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ann@example.com"', True),
        (f'{ENTERPRISE_USER}:department eq "finance"', True),
        ('meta.created gt "2026-01-01T00:00:00Z"', True),
        ('userName ne "ann@example.com"', False),
        ('userName ew ".com"', True),
    ],
)
def test_filter_matches(text, expected):
    assert matches(parse_filter(text), USER) is expected


@pytest.mark.parametrize(
    "text",
    [
        "userName eq",
        'userName xx "a"',
        'userName eq "a" and',
        '(userName eq "a"',
        'emails[type eq "work"',
        "userName eq unquoted",
        "",
        '"a" eq userName',
        'userName eq "a" extra',
    ],
)
def test_bad_filters_are_invalid_filter(text):
    with pytest.raises(ScimError) as e:
        parse_filter(text)
    assert e.value.status == 400 and e.value.scim_type == "invalidFilter"


def test_patch_paths():
    p = parse_patch_path('members[value eq "2819c223"]')
    assert p.path.attr == "members" and p.filter is not None and p.sub is None
    p = parse_patch_path('emails[type eq "work"].value')
    assert p.sub == "value"
    p = parse_patch_path(f"{ENTERPRISE_USER}:manager.value")
    assert p.path.urn == ENTERPRISE_USER and p.path.attr == "manager" and p.path.sub == "value"
    with pytest.raises(ScimError) as e:
        parse_patch_path("members[value eq")
    assert e.value.scim_type == "invalidPath"


def _ops(*ops):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(ops)}


def test_patch_entra_multi_and_single_valued():
    out = apply_patch(
        USER,
        _ops(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@x.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Kim"},
        ),
    )
    assert out["emails"][0] == {"value": "new@x.com", "type": "work", "primary": True}
    assert out["emails"][1]["value"] == "ann@home.example"
    assert out["name"] == {"givenName": "Ann", "familyName": "Kim"}
    assert USER["name"]["familyName"] == "Lee"  # the input is not changed


def test_patch_creates_missing_filtered_element():
    out = apply_patch(
        {"id": "a", "emails": []},
        _ops({"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"}),
    )
    assert out["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]


def test_patch_without_path_and_extension():
    out = apply_patch(
        USER,
        _ops(
            {"op": "replace", "value": {"active": False, "name": {"givenName": "Anna"}}},
            {"op": "add", "value": {f"{ENTERPRISE_USER}:employeeNumber": "42", ENTERPRISE_USER: {"costCenter": "CC"}}},
        ),
    )
    assert out["active"] is False and out["name"] == {"givenName": "Anna", "familyName": "Lee"}
    assert out[ENTERPRISE_USER] == {"department": "Finance", "employeeNumber": "42", "costCenter": "CC"}


def test_patch_remove_forms():
    group = {"id": "g", "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}
    out = apply_patch(group, _ops({"op": "remove", "path": 'members[value eq "a"]'}))
    assert [m["value"] for m in out["members"]] == ["b", "c"]
    out = apply_patch(group, _ops({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "b"}]}))
    assert [m["value"] for m in out["members"]] == ["a", "c"]
    out = apply_patch(group, _ops({"op": "remove", "path": "members"}))
    assert "members" not in out
    out = apply_patch(group, _ops({"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "d"}]}))
    assert [m["value"] for m in out["members"]] == ["a", "b", "c", "d"]
    out = apply_patch(group, _ops({"op": "replace", "path": "members", "value": [{"value": "z"}]}))
    assert out["members"] == [{"value": "z"}]
    out = apply_patch(USER, _ops({"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "title"}))
    assert out["name"] == {"familyName": "Lee"}


@pytest.mark.parametrize(
    "body,scim_type",
    [
        ({"Operations": [{"op": "move", "path": "x", "value": 1}]}, "invalidSyntax"),
        ({"Operations": []}, "invalidSyntax"),
        ({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "value": {}}]}, "invalidSyntax"),
        ({"Operations": [{"op": "remove"}]}, "noTarget"),
        ({"Operations": [{"op": "add", "value": 3}]}, "invalidValue"),
        ({"Operations": [{"op": "replace", "path": 'emails[type co "w"].value', "value": "x"}]}, None),
        ({"Operations": [{"op": "replace", "path": 'addresses[type co "w"].value', "value": "x"}]}, "noTarget"),
        ({"Operations": [{"op": "add", "path": "bad path!", "value": 1}]}, "invalidPath"),
    ],
)
def test_bad_patches(body, scim_type):
    if scim_type is None:  # matches the work email (type co "w"): fine
        assert apply_patch(USER, body)["emails"][0]["value"] == "x"
        return
    with pytest.raises(ScimError) as e:
        apply_patch(USER, body)
    assert e.value.status == 400 and e.value.scim_type == scim_type
