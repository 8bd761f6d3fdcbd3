"""SCIM discovery (RFC 7644 §4, RFC 7643 §5-7): ServiceProviderConfig, ResourceTypes and Schemas documents.

They say what this service provider supports: PATCH, filters (maxResults), ETags; no bulk, sort, or password
change; authentication by a bearer SCIM token.
"""

from __future__ import annotations

from typing import Any

from c11.server.scim.filter import CORE_GROUP, CORE_USER, ENTERPRISE_USER
from c11.server.scim.service import BASE_PATH, MAX_COUNT

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RT_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "primary": True,
                "description": "A SCIM token made by an organization admin (c11 org scim-tokens create), sent as "
                "Authorization: Bearer <token>.",
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}{BASE_PATH}/ServiceProviderConfig"},
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RT_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organization (userName: their email)",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}{BASE_PATH}/ResourceTypes/User"},
        },
        {
            "schemas": [RT_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of members, usable as a recipient",
            "schema": CORE_GROUP,
            "meta": {"resourceType": "ResourceType", "location": f"{base}{BASE_PATH}/ResourceTypes/Group"},
        },
    ]


def _attr(
    name: str,
    type_: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: list[dict[str, Any]] | None = None,
    desc: str = "",
) -> dict[str, Any]:
    a: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": desc or name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        a["subAttributes"] = sub
    return a


def _multi(name: str, desc: str) -> dict[str, Any]:
    return _attr(
        name,
        "complex",
        multi=True,
        desc=desc,
        sub=[_attr("value"), _attr("display"), _attr("type"), _attr("primary", "boolean")],
    )


def schemas(base: str) -> list[dict[str, Any]]:
    def meta(urn: str) -> dict[str, str]:
        return {"resourceType": "Schema", "location": f"{base}{BASE_PATH}/Schemas/{urn}"}

    user = [
        _attr("userName", required=True, uniqueness="server", desc="The member's email address."),
        _attr(
            "name",
            "complex",
            sub=[
                _attr(n)
                for n in ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
            ],
        ),
        _attr("displayName"),
        _attr("nickName"),
        _attr("title"),
        _attr("userType"),
        _attr("preferredLanguage"),
        _attr("locale"),
        _attr("timezone"),
        _attr("active", "boolean", desc="false: deactivated (keys no longer served)."),
        _attr("externalId", case_exact=True),
        _multi("emails", "Email addresses (kept as sent; userName is the one that counts)."),
        _multi("phoneNumbers", "Phone numbers."),
        _attr(
            "addresses",
            "complex",
            multi=True,
            sub=[
                _attr(n) for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country", "type")
            ],
        ),
        _multi("roles", "Roles (kept as sent, not used for permissions)."),
        _attr(
            "groups",
            "complex",
            multi=True,
            mutability="readOnly",
            sub=[
                _attr("value", mutability="readOnly"),
                _attr("display", mutability="readOnly"),
                _attr("$ref", "reference", mutability="readOnly"),
            ],
            desc="Groups the member belongs to.",
        ),
    ]
    group = [
        _attr("displayName", required=True, uniqueness="server", desc="The group name, unique in the organization."),
        _attr("externalId", case_exact=True),
        _attr(
            "members",
            "complex",
            multi=True,
            sub=[
                _attr("value", mutability="immutable", case_exact=True),
                _attr("display", mutability="readOnly"),
                _attr("type", mutability="immutable"),
                _attr("$ref", "reference", mutability="immutable"),
            ],
            desc="Members of the group (User ids).",
        ),
    ]
    enterprise = [_attr(n) for n in ("employeeNumber", "costCenter", "organization", "division", "department")]
    enterprise.append(_attr("manager", "complex", sub=[_attr("value"), _attr("displayName", mutability="readOnly")]))
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": CORE_USER,
            "name": "User",
            "description": "Organization member",
            "attributes": user,
            "meta": meta(CORE_USER),
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": CORE_GROUP,
            "name": "Group",
            "description": "Group of members",
            "attributes": group,
            "meta": meta(CORE_GROUP),
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_USER,
            "name": "EnterpriseUser",
            "description": "Enterprise User (kept as sent)",
            "attributes": enterprise,
            "meta": meta(ENTERPRISE_USER),
        },
    ]
