"""JSON: values chosen by path:, key: or match:, each replaced by a placeholder string; the note and
the envelope are the last two keys of the top-level object (`_c11_note`, `_c11`).

The text is parsed by a small scanner that keeps every value's exact span (after `json.loads` has
checked it is valid JSON), so nothing is re-serialised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]  # in json.decoder, missing from typeshed
from typing import NamedTuple

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc._handler import Handler
from c11.indoc._mediacommon import PLACEHOLDER_RE, placeholder
from c11.indoc.selectors import Selector
from c11.indoc.structured._text import Found, Target, TextHandler, TreeNode, notice, pointer, tree_targets

_WS = re.compile(r"[ \t\n\r\ufeff]*")
_NUM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class Member(NamedTuple):
    """One key of an object: the key, its span (quotes included) and its value."""

    key: str
    key_start: int
    key_end: int
    value: JNode


@dataclass
class JNode:
    """A JSON value and its exact span."""

    kind: str  # object, array, string, scalar
    start: int
    end: int
    members: list[Member] = field(default_factory=list)  # object
    items: list[JNode] = field(default_factory=list)  # array
    value: str | None = None  # string: its value; scalar: its text


def _skip(s: str, i: int) -> int:
    m = _WS.match(s, i)
    return m.end() if m else i


def _jparse(s: str, i: int) -> JNode:
    i = _skip(s, i)
    c = s[i : i + 1]
    if c == "{":
        members: list[Member] = []
        j = _skip(s, i + 1)
        if s[j : j + 1] == "}":
            return JNode("object", i, j + 1, members=members)
        while True:
            if s[j : j + 1] != '"':
                raise ValueError(f"expected a key at {j}")
            key, kend = scanstring(s, j + 1)
            k = _skip(s, kend)
            if s[k : k + 1] != ":":
                raise ValueError(f"expected : at {k}")
            v = _jparse(s, k + 1)
            members.append(Member(key, j, kend, v))
            j = _skip(s, v.end)
            if s[j : j + 1] == ",":
                j = _skip(s, j + 1)
                continue
            if s[j : j + 1] == "}":
                return JNode("object", i, j + 1, members=members)
            raise ValueError(f"expected , or }} at {j}")
    if c == "[":
        items: list[JNode] = []
        j = _skip(s, i + 1)
        if s[j : j + 1] == "]":
            return JNode("array", i, j + 1, items=items)
        while True:
            v = _jparse(s, j)
            items.append(v)
            j = _skip(s, v.end)
            if s[j : j + 1] == ",":
                j += 1
                continue
            if s[j : j + 1] == "]":
                return JNode("array", i, j + 1, items=items)
            raise ValueError(f"expected , or ] at {j}")
    if c == '"':
        val, j = scanstring(s, i + 1)
        return JNode("string", i, j, value=val)
    for lit in ("true", "false", "null"):
        if s.startswith(lit, i):
            return JNode("scalar", i, i + len(lit), value=lit)
    m = _NUM.match(s, i)
    if m and m.end() > i:
        return JNode("scalar", i, m.end(), value=m.group())
    raise ValueError(f"unexpected character at {i}")


def _jwalk(
    node: JNode, steps: tuple[str | int | None, ...], key: str | None, out: list[tuple[TreeNode, JNode]]
) -> None:
    scalar = node.value if node.kind in ("string", "scalar") else None
    out.append((TreeNode(steps, node.start, node.end, key, scalar), node))
    if node.kind == "object":
        for m in node.members:
            _jwalk(m.value, steps + (m.key,), m.key, out)
    elif node.kind == "array":
        for i, v in enumerate(node.items):
            _jwalk(v, steps + (i,), None, out)


class JsonHandler(TextHandler):
    """`c11.indoc.Handler` for .json files."""

    name = "json"
    label = "JSON"
    NOTE_KEY = "_c11_note"
    ENV_KEY = "_c11"

    def _root(self, text: str) -> JNode:
        try:
            json.loads(text.lstrip("\ufeff"))
            root = _jparse(text, 0)
        except ValueError as e:
            raise FormatError(f"not valid JSON: {e}") from None
        except RecursionError:
            raise FormatError("this JSON file is nested too deeply") from None
        return root

    def validate(self, text: str) -> None:
        self._root(text)

    def targets(self, text: str, selectors: list[Selector]) -> list[Target]:
        root = self._root(text)
        if root.kind != "object":
            raise UsageError("a JSON file must have an object at the top level to carry c11 protected parts")
        nodes: list[tuple[TreeNode, JNode]] = []
        _jwalk(root, (), None, nodes)
        return tree_targets([n for n, _ in nodes], selectors, "JSON")

    def placeholder_text(self, n: int, text: str, t: Target) -> str:
        return json.dumps(placeholder(n))

    def scan(self, text: str) -> list[Found]:
        nodes: list[tuple[TreeNode, JNode]] = []
        _jwalk(self._root(text), (), None, nodes)
        out = []
        for tn, node in nodes:
            if node.kind == "string" and isinstance(tn.scalar, str):
                m = PLACEHOLDER_RE.fullmatch(tn.scalar)
                if m:
                    out.append(Found("json:" + pointer(tn.steps), int(m.group(1)), tn.start, tn.end))
        return out

    def _layout(self, text: str, root: JNode) -> tuple[str, str]:
        if not root.members:
            return "", ":"
        key0 = root.members[0]
        ws = text[root.start + 1 : key0.key_start]
        if len(root.members) > 1:  # the spacing between two members, after the comma
            between = text[root.members[-2].value.end : root.members[-1].key_start]
            ws = between.split(",", 1)[1] if "," in between else ws
        colon = text[key0.key_end : key0.value.start]
        return ws, colon

    def _block(self, ws: str, colon: str, env: P.Envelope, first: bool) -> str:
        body = (
            f'"{self.NOTE_KEY}"{colon}{json.dumps(notice(env.note), ensure_ascii=False)},{ws}"{self.ENV_KEY}"{colon}'
            f"{env.to_json().decode()}"
        )
        return body if first else f",{ws}{body}"

    def insert_block(self, text: str, env: P.Envelope) -> str:
        root = self._root(text)
        if root.kind != "object":
            raise UsageError("a JSON file must have an object at the top level to carry c11 protected parts")
        ws, colon = self._layout(text, root)
        if root.members:
            at = root.members[-1].value.end
            return text[:at] + self._block(ws, colon, env, False) + text[at:]
        return text[: root.start + 1] + self._block(ws, colon, env, True) + text[root.start + 1 :]

    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
        root = self._root(text)
        if root.kind != "object" or len(root.members) < 2:
            return None
        k1, last = root.members[-2].key, root.members[-1]
        if (k1, last.key) != (self.NOTE_KEY, self.ENV_KEY):
            if any(m.key == self.ENV_KEY for m in root.members):
                raise FormatError("the c11 block of this JSON file is not where c11 puts it (the last keys)")
            return None
        v2 = last.value
        env = P.Envelope.from_json(text[v2.start : v2.end].encode())
        start = root.members[-3].value.end if len(root.members) > 2 else root.start + 1
        base = text[:start] + text[v2.end :]
        if self.insert_block(base, env) != text:
            raise IntegrityError("the c11 note or block of this JSON file was edited")
        return base, env


HANDLER: Handler = JsonHandler()
