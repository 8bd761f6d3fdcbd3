"""SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: add, replace and remove, with or without a path.

Operation names are case-insensitive ("Replace", as Entra sends); a path may carry a value filter
(`emails[type eq "work"].value`, `members[value eq "id"]`); without a path, each key of the value object is a
path (Okta: `{"op": "replace", "value": {"active": false}}`). The caller validates and stores the result.
"""

from __future__ import annotations

import copy
from typing import Any

from c11.server.scim.errors import ScimError
from c11.server.scim.filter import (
    CORE_GROUP,
    CORE_USER,
    KNOWN_URNS,
    And,
    AttrPath,
    Compare,
    Node,
    PatchPath,
    get_ci,
    matches,
    parse_patch_path,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Multi-valued attributes of User and Group (RFC 7643), lower case.
MULTI_VALUED = frozenset(
    {
        "emails",
        "phonenumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509certificates",
        "members",
    }
)
MAX_OPERATIONS = 1000


def apply_patch(resource: dict, body: Any) -> dict:
    """A copy of `resource` with the PatchOp request `body` applied (400 on a malformed request)."""
    if not isinstance(body, dict):
        raise ScimError(400, "A PATCH request is a JSON object.", "invalidSyntax")
    schemas = get_ci(body, "schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_OP not in schemas):
        raise ScimError(400, f"A PATCH request has the schema {PATCH_OP}.", "invalidSyntax")
    ops = get_ci(body, "Operations")
    if not isinstance(ops, list) or not ops or len(ops) > MAX_OPERATIONS:
        raise ScimError(400, f"A PATCH request has 1 to {MAX_OPERATIONS} Operations.", "invalidSyntax")
    doc = copy.deepcopy(resource)
    for op in ops:
        if not isinstance(op, dict):
            raise ScimError(400, "Each operation is a JSON object.", "invalidSyntax")
        name = get_ci(op, "op")
        name = name.lower() if isinstance(name, str) else None
        if name not in ("add", "replace", "remove"):
            raise ScimError(400, "An operation's op is add, replace or remove.", "invalidSyntax")
        path, value = get_ci(op, "path"), get_ci(op, "value")
        if path not in (None, ""):
            if not isinstance(path, str):
                raise ScimError(400, "An operation's path is a string.", "invalidPath")
            _apply(doc, name, parse_patch_path(path), value)
            continue
        if name == "remove":
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        if not isinstance(value, dict):
            raise ScimError(400, "An operation without a path has an object as value.", "invalidValue")
        for key, v in value.items():
            urn = next((u for u in KNOWN_URNS if u.lower() == key.lower()), None)
            if urn is not None and isinstance(v, dict):
                for sub_key, sv in v.items():
                    target = AttrPath(None if urn in (CORE_USER, CORE_GROUP) else urn, sub_key)
                    _apply(doc, name, PatchPath(target, None, None), sv)
            else:
                _apply(doc, name, parse_patch_path(key), v)
    return doc


def _key(d: dict, name: str) -> str:
    """The key of `d` naming `name` case-insensitively (or `name` itself)."""
    low = name.lower()
    return next((k for k in d if k.lower() == low), name)


def _container(doc: dict, urn: str | None, create: bool) -> dict | None:
    if urn is None:
        return doc
    key = _key(doc, urn)
    found = doc.get(key)
    if isinstance(found, dict):
        return found
    if not create:
        return None
    doc[key] = {}
    return doc[key]


def _merge(target: dict, value: dict) -> None:
    for k, v in value.items():
        key = _key(target, k)
        if isinstance(v, dict) and isinstance(target.get(key), dict):
            _merge(target[key], v)
        else:
            target[key] = v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict) and get_ci(a, "value") is not None:
        return get_ci(a, "value") == get_ci(b, "value")
    return a == b


def _apply(doc: dict, op: str, pp: PatchPath, value: Any) -> None:
    container = _container(doc, pp.path.urn, create=op != "remove")
    if container is None:
        return
    key = _key(container, pp.path.attr)
    multi = pp.path.attr.lower() in MULTI_VALUED or isinstance(container.get(key), list)
    if pp.filter is not None:
        _apply_filtered(container, key, op, pp.filter, pp.sub, value)
    elif pp.path.sub is not None:
        _apply_sub(container, key, op, pp.path.sub, value, multi)
    elif op == "remove":
        if multi and isinstance(value, list) and isinstance(container.get(key), list):
            container[key] = [x for x in container[key] if not any(_same(x, v) for v in value)]
        else:
            container.pop(key, None)
    elif multi:
        new = value if isinstance(value, list) else [value]
        if op == "replace" or not isinstance(container.get(key), list):
            container[key] = list(new)
        else:
            container[key].extend(v for v in new if not any(_same(x, v) for x in container[key]))
    elif isinstance(value, dict) and isinstance(container.get(key), dict):
        _merge(container[key], value)
    else:
        container[key] = value


def _apply_sub(container: dict, key: str, op: str, sub: str, value: Any, multi: bool) -> None:
    parent = container.get(key)
    if multi:
        items = parent if isinstance(parent, list) else []
        if op != "remove" and not items:
            items.append({})
        for x in items:
            if isinstance(x, dict):
                _set_or_pop(x, sub, op, value)
        container[key] = items
        return
    if not isinstance(parent, dict):
        if op == "remove":
            return
        parent = container[key] = {}
    _set_or_pop(parent, sub, op, value)


def _set_or_pop(d: dict, name: str, op: str, value: Any) -> None:
    key = _key(d, name)
    if op == "remove":
        d.pop(key, None)
    elif isinstance(value, dict) and isinstance(d.get(key), dict):
        _merge(d[key], value)
    else:
        d[key] = value


def _equalities(node: Node) -> dict[str, Any] | None:
    """`a eq x and b eq y` -> {a: x, b: y}; None for any other filter."""
    if isinstance(node, Compare) and node.op == "eq" and node.path.urn is None and node.path.sub is None:
        return {node.path.attr: node.value}
    if isinstance(node, And):
        left, right = _equalities(node.left), _equalities(node.right)
        return None if left is None or right is None else {**left, **right}
    return None


def _apply_filtered(container: dict, key: str, op: str, flt: Node, sub: str | None, value: Any) -> None:
    items = container.get(key)
    items = items if isinstance(items, list) else []
    hit = [x for x in items if isinstance(x, dict) and matches(flt, x)]
    if op == "remove":
        if sub is None:
            container[key] = [x for x in items if not any(x is h for h in hit)]
        else:
            for x in hit:
                x.pop(_key(x, sub), None)
        return
    if not hit:
        # Entra replaces emails[type eq "work"].value on a user without a work email: create the element.
        seed = _equalities(flt)
        if seed is None:
            raise ScimError(400, "No value matches the operation's filter.", "noTarget")
        items.append(dict(seed))
        hit = [items[-1]]
        container[key] = items
    for x in hit:
        if sub is not None:
            _set_or_pop(x, sub, op, value)
        elif isinstance(value, dict):
            if op == "replace":
                x.clear()
            _merge(x, value)
        else:
            raise ScimError(400, "A value for a filtered multi-valued attribute is an object.", "invalidValue")
