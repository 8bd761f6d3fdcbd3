"""SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2): parsed to a small tree, evaluated on resources.

Attribute names are case-insensitive; string comparisons too, except for `id` and `externalId` (caseExact).
`emails[type eq "work"].value eq "x"` (what Entra sends) reads as `emails[type eq "work" and value eq "x"]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from c11.server.scim.errors import ScimError

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
KNOWN_URNS = (CORE_USER, CORE_GROUP, ENTERPRISE_USER)
#: Attributes compared case-sensitively (RFC 7643: caseExact true).
CASE_EXACT = frozenset({"id", "externalid"})
_COMPARE = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_MAX_FILTER = 2000
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))')


@dataclass(frozen=True)
class AttrPath:
    """`[urn:]attr[.sub]`; `urn` is None for the resource's core schema."""

    urn: str | None
    attr: str
    sub: str | None = None


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`: some element of the multi-valued `attr` matches `filter` (paths relative to it)."""

    path: AttrPath
    filter: Node


Node = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH target: `attr[.sub]` or `attr[filter][.sub]`."""

    path: AttrPath
    filter: Node | None
    sub: str | None


def split_path(text: str) -> AttrPath:
    """`urn:...:attr.sub` -> AttrPath (core URNs dropped, extension URNs kept as written in KNOWN_URNS)."""
    urn = None
    low = text.lower()
    for known in KNOWN_URNS:
        if low.startswith(known.lower() + ":"):
            urn, text = (None if known in (CORE_USER, CORE_GROUP) else known), text[len(known) + 1 :]
            break
    else:
        if low.startswith("urn:"):
            head, _, text = text.rpartition(":")
            urn = head
    attr, _, sub = text.partition(".")
    if not re.fullmatch(r"\$?[A-Za-z][\w$-]*", attr) or (sub and not re.fullmatch(r"[A-Za-z$][\w$-]*", sub)):
        raise ScimError(400, f"{text!r} is not an attribute path.", "invalidPath")
    return AttrPath(urn, attr, sub or None)


class _Parser:
    def __init__(self, text: str, error: str) -> None:
        if len(text) > _MAX_FILTER:
            raise ScimError(400, "The filter is too long.", error)
        self.error = error
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ScimError(400, f"Cannot read the filter at position {pos}.", error)
            kind = m.lastgroup or "word"
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def fail(self, what: str) -> ScimError:
        return ScimError(400, f"Bad filter: {what}.", self.error)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        self.i += 1
        return tok

    def word_is(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() in words

    def expect(self, punct: str) -> None:
        tok = self.take()
        if tok != ("punct", punct):
            raise self.fail(f"expected {punct!r}, found {tok[1]!r}")

    def done(self) -> None:
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]

    # FILTER = OR-expression
    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.word_is("or"):
            self.take()
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.word_is("and"):
            self.take()
            node = And(node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.word_is("not"):
            self.take()
            self.expect("(")
            inner = self.parse_or()
            self.expect(")")
            return Not(inner)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_attr_expression()

    def parse_attr_expression(self) -> Node:
        kind, text = self.take()
        if kind != "word":
            raise self.fail(f"expected an attribute, found {text!r}")
        path = split_path(text)
        if self.peek() == ("punct", "["):
            if path.sub is not None:
                raise self.fail("a filter in brackets follows an attribute, not a sub-attribute")
            self.take()
            inner = self.parse_or()
            self.expect("]")
            # Entra: emails[type eq "work"].value eq "x"
            tok = self.peek()
            if tok is not None and tok[0] == "word" and tok[1].startswith("."):
                self.take()
                sub = split_path(tok[1][1:])
                return ValuePath(path, And(inner, self._comparison(AttrPath(None, sub.attr))))
            return ValuePath(path, inner)
        return self._comparison(path)

    def _comparison(self, path: AttrPath) -> Node:
        kind, op = self.take()
        op = op.lower()
        if kind != "word" or (op not in _COMPARE and op != "pr"):
            raise self.fail(f"unknown operator {op!r}")
        if op == "pr":
            return Present(path)
        return Compare(path, op, self._value())

    def _value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            try:
                return json.loads(text)
            except ValueError:
                raise self.fail("bad string") from None
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        try:
            return json.loads(text) if re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text) else _raise()
        except ValueError:
            raise self.fail(f"bad value {text!r}") from None


def _raise() -> Any:
    raise ValueError


def parse_filter(text: str) -> Node:
    """A `filter=` query parameter -> tree (400 invalidFilter when it is not valid)."""
    p = _Parser(text, "invalidFilter")
    if not p.tokens:
        raise p.fail("empty")
    node = p.parse_or()
    p.done()
    return node


def parse_patch_path(text: str) -> PatchPath:
    """A PATCH `path` -> PatchPath (400 invalidPath)."""
    p = _Parser(text, "invalidPath")
    kind, word = p.take()
    if kind != "word":
        raise p.fail("expected an attribute")
    path = split_path(word)
    flt, sub = None, None
    if p.peek() == ("punct", "["):
        if path.sub is not None:
            raise p.fail("a filter in brackets follows an attribute")
        p.take()
        flt = p.parse_or()
        p.expect("]")
        tok = p.peek()
        if tok is not None:
            if tok[0] != "word" or not tok[1].startswith("."):
                raise p.fail(f"unexpected {tok[1]!r}")
            p.take()
            sub = split_path(tok[1][1:]).attr
    p.done()
    return PatchPath(path, flt, sub)


# -- evaluation ---------------------------------------------------------------------------------------------


def get_ci(d: Any, name: str) -> Any:
    """`d[name]` with a case-insensitive key, or None."""
    if not isinstance(d, dict):
        return None
    if name in d:
        return d[name]
    low = name.lower()
    for k, v in d.items():
        if k.lower() == low:
            return v
    return None


def _scope(resource: dict, path: AttrPath) -> Any:
    return resource if path.urn is None else get_ci(resource, path.urn)


def values_at(resource: dict, path: AttrPath) -> list[Any]:
    """Every value at `path` in `resource` (multi-valued attributes flattened)."""
    value = get_ci(_scope(resource, path), path.attr)
    items = value if isinstance(value, list) else [value]
    if path.sub is not None:
        items = [get_ci(x, path.sub) for x in items]
        items = [y for x in items for y in (x if isinstance(x, list) else [x])]
    return [x for x in items if x is not None]


def _norm(value: Any, exact: bool) -> Any:
    return value if exact or not isinstance(value, str) else value.lower()


def _compare(actual: Any, op: str, expected: Any, exact: bool) -> bool:
    if op == "eq":
        if isinstance(expected, bool) or isinstance(actual, bool):
            return _as_bool(actual) == expected if isinstance(expected, bool) else False
        return _norm(actual, exact) == _norm(expected, exact)
    if op == "ne":
        return not _compare(actual, "eq", expected, exact)
    if isinstance(actual, bool) or isinstance(expected, bool) or expected is None:
        return False
    if isinstance(actual, str) != isinstance(expected, str):
        return False
    a, e = _norm(actual, exact), _norm(expected, exact)
    if op in ("co", "sw", "ew"):
        if not isinstance(a, str):
            return False
        return e in a if op == "co" else a.startswith(e) if op == "sw" else a.endswith(e)
    try:
        return {"gt": a > e, "ge": a >= e, "lt": a < e, "le": a <= e}[op]
    except TypeError:
        return False


def _as_bool(v: Any) -> Any:
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return v


def matches(node: Node, resource: dict) -> bool:
    """Whether `resource` (a SCIM JSON object) satisfies the filter `node`."""
    if isinstance(node, And):
        return matches(node.left, resource) and matches(node.right, resource)
    if isinstance(node, Or):
        return matches(node.left, resource) or matches(node.right, resource)
    if isinstance(node, Not):
        return not matches(node.inner, resource)
    if isinstance(node, ValuePath):
        value = get_ci(_scope(resource, node.path), node.path.attr)
        items = value if isinstance(value, list) else [value] if value is not None else []
        return any(isinstance(x, dict) and matches(node.filter, x) for x in items)
    if isinstance(node, Present):
        return any(v not in ("", [], {}) for v in values_at(resource, node.path))
    exact = node.path.sub is None and node.path.attr.lower() in CASE_EXACT
    found = values_at(resource, node.path)
    if node.op == "ne":
        return not any(_compare(v, "eq", node.value, exact) for v in found)
    return any(_compare(v, node.op, node.value, exact) for v in found)
