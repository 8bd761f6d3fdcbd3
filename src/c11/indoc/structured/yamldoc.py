"""YAML: values chosen by path:, key: or match:, each replaced by a double-quoted placeholder; the
note and the envelope are the last two keys of the top-level block mapping (`_c11_note`, `_c11`).

PyYAML's composer gives each node's exact position in the text; nothing is re-serialised, so
comments, anchors, quoting and key order stay as they were.
"""

from __future__ import annotations

import json
import re

import yaml

from c11.errors import FormatError, IntegrityError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc import parts as P
from c11.indoc._handler import Handler
from c11.indoc._mediacommon import PLACEHOLDER_RE, placeholder
from c11.indoc.selectors import Selector
from c11.indoc.structured._text import Found, Target, TextHandler, TreeNode, eol, notice, pointer, tree_targets


def _check_yaml_depth(text: str) -> None:
    """Refuse YAML nested deeper than `_limits.MAX_DEPTH` or with more than `MAX_YAML_NODES` nodes, from its
    parse events (iterative), before the recursive composer and walkers see it."""
    depth = 0
    for m in re.finditer(r"[\[\]{}]", text):  # flow brackets first: PyYAML's scanner is quadratic in their depth
        depth = depth + 1 if m.group() in "[{" else max(depth - 1, 0)
        if depth > _limits.MAX_DEPTH:
            raise TooLargeError(f"this YAML file is nested more than {_limits.MAX_DEPTH} levels deep")
    depth = nodes = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > _limits.MAX_DEPTH:
                raise TooLargeError(f"this YAML file is nested more than {_limits.MAX_DEPTH} levels deep")
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        if isinstance(ev, yaml.NodeEvent):
            nodes += 1
            if nodes > _limits.MAX_YAML_NODES:
                raise TooLargeError(f"this YAML file has more than {_limits.MAX_YAML_NODES:,} nodes")


class YamlHandler(TextHandler):
    """`c11.indoc.Handler` for .yaml and .yml files."""

    name = "yaml"
    label = "YAML"
    NOTE_KEY = "_c11_note"
    ENV_KEY = "_c11"

    def _compose(self, text: str) -> yaml.Node | None:
        try:
            _check_yaml_depth(text)
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            msg = " ".join(str(e).split())
            raise FormatError(f"not valid YAML (a single document is required): {msg}") from None

    def validate(self, text: str) -> None:
        self._compose(text)
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise FormatError(f"not valid YAML: {' '.join(str(e).split())}") from None

    def _nodes(self, text: str) -> list[tuple[TreeNode, yaml.Node]]:
        root = self._compose(text)
        out: list[tuple[TreeNode, yaml.Node]] = []
        seen: set[int] = set()

        def span(node: yaml.Node) -> tuple[int, int]:
            start, end = node.start_mark.index, node.end_mark.index
            # keep an anchor (&name) where it is: aliases elsewhere refer to it
            m = re.match(r"&[^\s]+\s+", text[start:end])
            if m:
                start += m.end()
            while end > start and text[end - 1] in " \t\r\n":
                end -= 1
            return start, end

        def walk(
            node: yaml.Node | None, steps: tuple[str | int | None, ...], key: str | None, key_col: int | None
        ) -> None:
            if node is None or id(node) in seen:
                return
            seen.add(id(node))
            s, e = span(node)
            val = node.value if isinstance(node, yaml.ScalarNode) else None
            lead = ""
            # a block sequence may sit at its key's own indentation ("key:\n- a"): a placeholder
            # written there would end the mapping, so it is indented under the key
            if key_col is not None and isinstance(node, yaml.SequenceNode) and not node.flow_style:
                col = s - (text.rfind("\n", 0, s) + 1)
                if col <= key_col and not text[text.rfind("\n", 0, s) + 1 : s].strip():
                    lead = " " * (key_col - col + 2)
            out.append((TreeNode(steps, s, e, key, val, lead), node))
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    kname = k.value if isinstance(k, yaml.ScalarNode) else None
                    walk(v, steps + (kname,), kname, k.start_mark.column)
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    walk(v, steps + (i,), None, None)

        walk(root, (), None, None)
        return out

    def targets(self, text: str, selectors: list[Selector]) -> list[Target]:
        self._root_mapping(text)
        nodes = self._nodes(text)
        return tree_targets([n for n, _ in nodes[1:]], selectors, "YAML")

    def pack(self, original: str, lead: str) -> bytes:
        # YAML text cannot hold NUL: a leading NUL marks padding to take away on unprotect
        return (b"\x00" + bytes([len(lead)]) if lead else b"") + original.encode("utf-8")

    def unpack(self, plaintext: bytes) -> tuple[str, int]:
        if plaintext[:1] == b"\x00":
            return plaintext[2:].decode("utf-8"), plaintext[1]
        return plaintext.decode("utf-8"), 0

    def placeholder_text(self, n: int, text: str, t: Target) -> str:
        return json.dumps(placeholder(n))

    def scan(self, text: str) -> list[Found]:
        out = []
        for tn, node in self._nodes(text):
            if isinstance(node, yaml.ScalarNode) and node.style == '"' and isinstance(tn.scalar, str):
                m = PLACEHOLDER_RE.fullmatch(tn.scalar)
                if m:
                    out.append(Found("yaml:" + pointer(tn.steps), int(m.group(1)), tn.start, tn.end))
        return out

    def _block(self, env: P.Envelope, added_newline: bool, indent: str, eol: str) -> str:
        env_obj = json.loads(env.to_json())
        data = json.dumps({"added_newline": added_newline, "envelope": env_obj}, separators=(", ", ": "))
        return (
            eol if added_newline else ""
        ) + f"{indent}{self.NOTE_KEY}: {json.dumps(notice(env.note))}{eol}{indent}{self.ENV_KEY}: {data}{eol}"

    def _root_mapping(self, text: str) -> yaml.MappingNode:
        root = self._compose(text)
        if not isinstance(root, yaml.MappingNode) or root.flow_style:
            raise UsageError("a YAML file must have a block mapping at the top level to carry c11 protected parts")
        return root

    def insert_block(self, text: str, env: P.Envelope) -> str:
        root = self._root_mapping(text)
        indent = " " * root.value[0][0].start_mark.column if root.value else ""
        if re.search(r"^\.\.\.\s*\Z", text, re.M):
            raise UsageError("a YAML file ending with a document end marker (...) cannot carry c11 protected parts")
        return text + self._block(env, not text.endswith("\n") and text != "", indent, eol(text))

    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
        root = self._compose(text)
        if not isinstance(root, yaml.MappingNode) or len(root.value) < 2:
            return None
        (k1, _), (k2, v2) = root.value[-2], root.value[-1]
        if getattr(k1, "value", None) != self.NOTE_KEY or getattr(k2, "value", None) != self.ENV_KEY:
            return None
        try:
            d = json.loads(text[v2.start_mark.index : v2.end_mark.index])
            env = P.Envelope.from_json(json.dumps(d["envelope"]).encode())
            added = bool(d["added_newline"])
        except (ValueError, KeyError, TypeError):
            raise FormatError("the c11 block of this YAML file is malformed") from None
        start = k1.start_mark.index - k1.start_mark.column
        base, nl = text[:start], eol(text)
        if added:
            if not base.endswith(nl):
                raise IntegrityError("the c11 block of this YAML file was edited")
            base = base[: -len(nl)]
        if base + self._block(env, added, " " * k1.start_mark.column, nl) != text:
            raise IntegrityError("the c11 note or block of this YAML file was edited")
        return base, env


HANDLER: Handler = YamlHandler()
