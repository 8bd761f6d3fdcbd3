"""In-document protection of structured text: JSON, YAML, CSV and Markdown (docs/indoc-media.md).

Every handler works on the text itself, never on a re-serialised copy: a protected value's exact
source text is cut out and sealed as a part, a placeholder string is written in its place, and a
block holding the envelope and the author's note is added (a top-level key for JSON and YAML, two
trailing records for CSV, a block at the end for Markdown). Unprotecting splices the exact source
text back and removes the block, so the result is byte-identical to the original, and edits made
elsewhere in the meantime are kept.
"""

from __future__ import annotations

import abc

import base64
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Sequence

from c11.errors import C11Error, FormatError, IntegrityError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc import parts as P
from c11.indoc._mediacommon import (
    PLACEHOLDER_RE,
    numbers,
    open_checked,
    parse_selectors,
    placeholder,
    remaining,
)


def notice(note: str) -> str:
    text = "Parts of this document are protected with c11: open it with c11 to read them."
    if note:
        text += f" Note from the author: {note}"
    return text


@dataclass
class Target:
    start: int
    end: int
    selector: object  # the Selector that chose it (its recipients, when it has its own)
    lead: str = ""  # padding written before the placeholder (YAML: to indent it under its key)


@dataclass
class Found:
    """A placeholder found in a protected text."""

    location: str
    number: int
    start: int
    end: int

    def text(self, s: str) -> str:
        return s[self.start:self.end]


class _TextHandler(abc.ABC):
    name = "text"
    label = "text"

    # -- what each format provides -------------------------------------------------------------
    @abc.abstractmethod
    def targets(self, text: str, selectors: list) -> list[Target]:
        """Format-specific; every handler defines it."""

    def placeholder_text(self, n: int, text: str, t: Target) -> str:
        return placeholder(n)

    @abc.abstractmethod
    def scan(self, text: str) -> list[Found]:
        """Format-specific; every handler defines it."""

    @abc.abstractmethod
    def insert_block(self, text: str, env: P.Envelope) -> str:
        """Format-specific; every handler defines it."""

    @abc.abstractmethod
    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
        """(text without the c11 block, envelope), or None when there is no block. Checks that the
        block is exactly what c11 writes for that envelope (the visible note was not edited)."""

    def validate(self, text: str) -> None:
        """Raise if `text` no longer parses as this format."""

    def pack(self, original: str, lead: str) -> bytes:
        """A part's plaintext: the exact source text (and, where a format pads placeholders, how
        much padding to take away again)."""
        return original.encode("utf-8")

    def unpack(self, plaintext: bytes) -> tuple[str, int]:
        return plaintext.decode("utf-8"), 0

    # -- the protocol ----------------------------------------------------------------------------
    def protect(self, data: bytes, selectors: Sequence[str], recipients, sender, *, note: str = "",
                part_recipients: dict | None = None, matches: Sequence[str] = ()) -> bytes:
        text = _decode(data, self.label)
        if self.split_block(text) is not None:
            raise UsageError(f"this {self.label} file is already protected with c11; unprotect it first")
        if PLACEHOLDER_RE.search(text):
            raise UsageError(f"this {self.label} file already contains c11 placeholder text")
        self.validate(text)
        sels = parse_selectors(selectors, matches, part_recipients)
        if not sels:
            raise UsageError("choose what to protect (--part SELECTOR or --match REGEX)")
        targets = _outermost(self.targets(text, sels))
        if not targets:
            raise UsageError(f"nothing in this {self.label} file matches {', '.join(str(x) for x in sels)}")
        out, pos, spans = [], 0, {}
        for n, t in enumerate(targets, 1):
            out.append(text[pos:t.start])
            out.append(t.lead + self.placeholder_text(n, text, t))
            spans[n] = (t, text[t.start:t.end])
            pos = t.end
        out.append(text[pos:])
        protected = "".join(out)
        found = {f.number: f for f in self.scan(protected)}
        if sorted(found) != sorted(spans):
            raise FormatError(f"could not place the c11 placeholders in this {self.label} file")
        parts = []
        for n, (t, original) in spans.items():
            f = found[n]
            parts.append(P.Part(f.location, self.pack(original, t.lead), f.text(protected).encode("utf-8"),
                                t.selector.recipients))
        try:
            self.validate(protected)
        except FormatError as e:
            raise UsageError(f"protecting these values would leave an invalid {self.label} file ({e}); "
                             "choose other values (a merged YAML anchor, for one, must stay a mapping)") from None
        env = P.seal(parts, list(recipients), sender, note=note)
        result = self.insert_block(protected, env)
        self.validate(result)
        return result.encode("utf-8")

    def unprotect(self, data: bytes, identities) -> tuple[bytes, P.Opened]:
        text = _decode(data, self.label)
        split = self.split_block(text)
        if split is None:
            raise FormatError(f"this {self.label} file has no c11 protected parts")
        base, env = split
        found = self.scan(base)
        current: dict[str, bytes] = {}
        for f in found:
            if f.location in current:
                raise IntegrityError(f"protected part {f.location!r} appears twice (duplicated placeholder)")
            current[f.location] = f.text(base).encode("utf-8")
        self.check_order(found)
        opened = open_checked(env, identities, current)
        out = base
        for f in sorted(found, key=lambda f: f.start, reverse=True):
            pt = opened.plaintexts.get(f.location)
            if pt is not None:
                original, pad = self.unpack(pt)
                if out[f.start - pad:f.start] != " " * pad:
                    raise IntegrityError(f"the placeholder of protected part {f.location!r} was moved")
                out = out[:f.start - pad] + original + out[f.end:]
        rest = remaining(env, opened)
        if rest is not None:
            out = self.insert_block(out, rest)
        return out.encode("utf-8"), opened

    def check_order(self, found: list[Found]) -> None:
        """Formats without a structural location (Markdown) require document order."""

    def read_envelope(self, data: bytes) -> P.Envelope | None:
        split = self.split_block(_decode(data, self.label))
        return None if split is None else split[1]

    def write_envelope(self, data: bytes, envelope: P.Envelope) -> bytes:
        text = _decode(data, self.label)
        split = self.split_block(text)
        if split is None:
            raise FormatError(f"this {self.label} file has no c11 protected parts")
        return self.insert_block(split[0], envelope).encode("utf-8")


def _eol(text: str) -> str:
    """The file's line break: that of its first line ("\n" when it has none)."""
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"this {label} file is not UTF-8 text") from None


def _outermost(targets: list[Target]) -> list[Target]:
    """Sort by position; drop targets inside (or overlapping) an earlier one."""
    out: list[Target] = []
    for t in sorted(targets, key=lambda t: (t.start, -t.end)):
        if t.end <= t.start:
            continue
        if out and t.start < out[-1].end:
            continue
        out.append(t)
    return out


# --------------------------------------------------------------------------------------------
# paths shared by JSON and YAML: /a/*/b (JSON Pointer escapes ~0 ~1; * matches one step)

def _pointer(steps: Sequence) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)


def _path_matches(pattern: list[str], steps: Sequence) -> bool:
    return len(pattern) == len(steps) and all(p == "*" or p == str(s) for p, s in zip(pattern, steps))


def _tree_targets(nodes, selectors, what: str) -> list[Target]:
    """nodes: list of (steps, start, end, key or None, scalar text or None, lead) in document order."""
    out: list[Target] = []
    for sel in selectors:
        if sel.kind == "path":
            hits = [n for n in nodes if n[0] and _path_matches(sel.path, n[0])]
        elif sel.kind == "key":
            hits = [n for n in nodes if n[3] is not None and sel.pattern.fullmatch(n[3])]
        elif sel.kind == "match":
            hits = [n for n in nodes if n[4] is not None and sel.pattern.search(n[4])]
        else:
            raise UsageError(f"{what} files take path:/a/*/b, key:REGEX or match:REGEX selectors, not {sel.text!r}")
        if not hits and sel.kind != "match":
            raise UsageError(f"{sel.text!r} matches nothing in this {what} file")
        out.extend(Target(n[1], n[2], sel, n[5]) for n in hits)
    return out


# --------------------------------------------------------------------------------------------
# JSON

_WS = re.compile(r"[ \t\n\r\ufeff]*")
_NUM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass
class JNode:
    kind: str  # object, array, string, scalar
    start: int
    end: int
    members: list | None = None  # object: (key, key_start, key_end, JNode); array: JNode
    value: object = None


def _jparse(s: str, i: int) -> JNode:
    i = _WS.match(s, i).end()
    c = s[i:i + 1]
    if c == "{":
        members, j = [], _WS.match(s, i + 1).end()
        if s[j:j + 1] == "}":
            return JNode("object", i, j + 1, members)
        while True:
            if s[j:j + 1] != '"':
                raise ValueError(f"expected a key at {j}")
            key, kend = scanstring(s, j + 1)
            k = _WS.match(s, kend).end()
            if s[k:k + 1] != ":":
                raise ValueError(f"expected : at {k}")
            v = _jparse(s, k + 1)
            members.append((key, j, kend, v))
            j = _WS.match(s, v.end).end()
            if s[j:j + 1] == ",":
                j = _WS.match(s, j + 1).end()
                continue
            if s[j:j + 1] == "}":
                return JNode("object", i, j + 1, members)
            raise ValueError(f"expected , or }} at {j}")
    if c == "[":
        items, j = [], _WS.match(s, i + 1).end()
        if s[j:j + 1] == "]":
            return JNode("array", i, j + 1, items)
        while True:
            v = _jparse(s, j)
            items.append(v)
            j = _WS.match(s, v.end).end()
            if s[j:j + 1] == ",":
                j += 1
                continue
            if s[j:j + 1] == "]":
                return JNode("array", i, j + 1, items)
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


def _jwalk(node: JNode, steps: tuple, key, out: list) -> None:
    out.append((steps, node.start, node.end, key, node.value if node.kind in ("string", "scalar") else None, node))
    if node.kind == "object":
        for k, _, _, v in node.members:
            _jwalk(v, steps + (k,), k, out)
    elif node.kind == "array":
        for i, v in enumerate(node.members):
            _jwalk(v, steps + (i,), None, out)


class JsonHandler(_TextHandler):
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

    def targets(self, text, selectors):
        root = self._root(text)
        if root.kind != "object":
            raise UsageError("a JSON file must have an object at the top level to carry c11 protected parts")
        nodes: list = []
        _jwalk(root, (), None, nodes)
        return _tree_targets([n[:5] + ("",) for n in nodes], selectors, "JSON")

    def placeholder_text(self, n, text, t):
        return json.dumps(placeholder(n))

    def scan(self, text):
        nodes: list = []
        _jwalk(self._root(text), (), None, nodes)
        out = []
        for steps, start, end, _, value, node in nodes:
            if node.kind == "string" and isinstance(value, str):
                m = PLACEHOLDER_RE.fullmatch(value)
                if m:
                    out.append(Found("json:" + _pointer(steps), int(m.group(1)), start, end))
        return out

    def _layout(self, text: str, root: JNode) -> tuple[str, str]:
        if not root.members:
            return "", ":"
        key0 = root.members[0]
        ws = text[root.start + 1:key0[1]]
        if len(root.members) > 1:  # the spacing between two members, after the comma
            between = text[root.members[-2][3].end:root.members[-1][1]]
            ws = between.split(",", 1)[1] if "," in between else ws
        colon = text[key0[2]:key0[3].start]
        return ws, colon

    def _block(self, ws: str, colon: str, env: P.Envelope, first: bool) -> str:
        body = (f'"{self.NOTE_KEY}"{colon}{json.dumps(notice(env.note), ensure_ascii=False)},{ws}"{self.ENV_KEY}"{colon}'
                f"{env.to_json().decode()}")
        return body if first else f",{ws}{body}"

    def insert_block(self, text, env):
        root = self._root(text)
        if root.kind != "object":
            raise UsageError("a JSON file must have an object at the top level to carry c11 protected parts")
        ws, colon = self._layout(text, root)
        if root.members:
            at = root.members[-1][3].end
            return text[:at] + self._block(ws, colon, env, False) + text[at:]
        return text[:root.start + 1] + self._block(ws, colon, env, True) + text[root.start + 1:]

    def split_block(self, text):
        root = self._root(text)
        if root.kind != "object" or len(root.members) < 2:
            return None
        k1, (k2, _, _, v2) = root.members[-2][0], root.members[-1]
        if (k1, k2) != (self.NOTE_KEY, self.ENV_KEY):
            if any(m[0] == self.ENV_KEY for m in root.members):
                raise FormatError("the c11 block of this JSON file is not where c11 puts it (the last keys)")
            return None
        try:
            env = P.Envelope.from_json(text[v2.start:v2.end].encode())
        except C11Error:
            raise
        start = root.members[-3][3].end if len(root.members) > 2 else root.start + 1
        base = text[:start] + text[v2.end:]
        if self.insert_block(base, env) != text:
            raise IntegrityError("the c11 note or block of this JSON file was edited")
        return base, env


# --------------------------------------------------------------------------------------------
# YAML (PyYAML's composer gives each node's exact position in the text; nothing is re-serialised,
# so comments, anchors, quoting and key order stay as they were)

def _check_yaml_depth(text: str) -> None:
    """Refuse YAML nested deeper than `_limits.MAX_DEPTH` or with more than `MAX_YAML_NODES` nodes, from its
    parse events (iterative), before the recursive composer and walkers see it."""
    import yaml

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


class YamlHandler(_TextHandler):
    name = "yaml"
    label = "YAML"
    NOTE_KEY = "_c11_note"
    ENV_KEY = "_c11"

    def _compose(self, text: str):
        import yaml

        try:
            _check_yaml_depth(text)
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            msg = " ".join(str(e).split())
            raise FormatError(f"not valid YAML (a single document is required): {msg}") from None

    def validate(self, text):
        import yaml

        self._compose(text)
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise FormatError(f"not valid YAML: {' '.join(str(e).split())}") from None

    def _nodes(self, text: str) -> list:
        import yaml

        root = self._compose(text)
        out: list = []
        seen: set[int] = set()

        def span(node) -> tuple[int, int]:
            start, end = node.start_mark.index, node.end_mark.index
            # keep an anchor (&name) where it is: aliases elsewhere refer to it
            m = re.match(r"&[^\s]+\s+", text[start:end])
            if m:
                start += m.end()
            while end > start and text[end - 1] in " \t\r\n":
                end -= 1
            return start, end

        def walk(node, steps, key, key_col):
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
                if col <= key_col and not text[text.rfind("\n", 0, s) + 1:s].strip():
                    lead = " " * (key_col - col + 2)
            out.append((steps, s, e, key, val, node, lead))
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    kname = k.value if isinstance(k, yaml.ScalarNode) else None
                    walk(v, steps + (kname,), kname, k.start_mark.column)
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    walk(v, steps + (i,), None, None)

        walk(root, (), None, None)
        return out

    def targets(self, text, selectors):
        self._root_mapping(text)
        nodes = self._nodes(text)
        return _tree_targets([n[:5] + (n[6],) for n in nodes[1:]], selectors, "YAML")

    def pack(self, original, lead):
        # YAML text cannot hold NUL: a leading NUL marks padding to take away on unprotect
        return (b"\x00" + bytes([len(lead)]) if lead else b"") + original.encode("utf-8")

    def unpack(self, plaintext):
        if plaintext[:1] == b"\x00":
            return plaintext[2:].decode("utf-8"), plaintext[1]
        return plaintext.decode("utf-8"), 0

    def placeholder_text(self, n, text, t):
        return json.dumps(placeholder(n))

    def scan(self, text):
        import yaml

        out = []
        for steps, start, end, _, value, node, _ in self._nodes(text):
            if isinstance(node, yaml.ScalarNode) and node.style == '"' and isinstance(value, str):
                m = PLACEHOLDER_RE.fullmatch(value)
                if m:
                    out.append(Found("yaml:" + _pointer(steps), int(m.group(1)), start, end))
        return out

    def _block(self, env: P.Envelope, added_newline: bool, indent: str, eol: str) -> str:
        env_obj = json.loads(env.to_json())
        data = json.dumps({"added_newline": added_newline, "envelope": env_obj}, separators=(", ", ": "))
        return ((eol if added_newline else "") + f"{indent}{self.NOTE_KEY}: {json.dumps(notice(env.note))}{eol}"
                f"{indent}{self.ENV_KEY}: {data}{eol}")

    def _root_mapping(self, text: str):
        import yaml

        root = self._compose(text)
        if not isinstance(root, yaml.MappingNode) or root.flow_style:
            raise UsageError("a YAML file must have a block mapping at the top level to carry c11 protected parts")
        return root

    def insert_block(self, text, env):
        root = self._root_mapping(text)
        indent = " " * root.value[0][0].start_mark.column if root.value else ""
        if re.search(r"^\.\.\.\s*\Z", text, re.M):
            raise UsageError("a YAML file ending with a document end marker (...) cannot carry c11 protected parts")
        return text + self._block(env, not text.endswith("\n") and text != "", indent, _eol(text))

    def split_block(self, text):
        import yaml

        root = self._compose(text)
        if not isinstance(root, yaml.MappingNode) or len(root.value) < 2:
            return None
        (k1, _), (k2, v2) = root.value[-2], root.value[-1]
        if getattr(k1, "value", None) != self.NOTE_KEY or getattr(k2, "value", None) != self.ENV_KEY:
            return None
        try:
            d = json.loads(text[v2.start_mark.index:v2.end_mark.index])
            env = P.Envelope.from_json(json.dumps(d["envelope"]).encode())
            added = bool(d["added_newline"])
        except (ValueError, KeyError, TypeError):
            raise FormatError("the c11 block of this YAML file is malformed") from None
        start = k1.start_mark.index - k1.start_mark.column
        base, eol = text[:start], _eol(text)
        if added:
            if not base.endswith(eol):
                raise IntegrityError("the c11 block of this YAML file was edited")
            base = base[:-len(eol)]
        if base + self._block(env, added, " " * k1.start_mark.column, eol) != text:
            raise IntegrityError("the c11 note or block of this YAML file was edited")
        return base, env


# --------------------------------------------------------------------------------------------
# CSV (RFC 4180 fields, quoted fields with embedded newlines and doubled quotes; the delimiter is
# sniffed). The envelope travels in two trailing records whose first field starts with '#'.

@dataclass
class Cell:
    row: int
    col: int
    start: int
    end: int
    value: str


def _csv_cells(text: str, delim: str) -> tuple[list[list[Cell]], list[tuple[int, int]]]:
    """Rows of cells with their exact spans, and each row's (start, end-after-line-break)."""
    rows: list[list[Cell]] = []
    bounds: list[tuple[int, int]] = []
    i, n = 0, len(text)
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        row: list[Cell] = []
        row_start = i
        while True:
            start = i
            if i < n and text[i] == '"':
                j = i + 1
                buf = []
                while True:
                    k = text.find('"', j)
                    if k < 0:
                        raise FormatError(f"not valid CSV: unterminated quoted field at {start}")
                    buf.append(text[j:k])
                    if text[k + 1:k + 2] == '"':
                        buf.append('"')
                        j = k + 2
                        continue
                    i = k + 1
                    break
                value = "".join(buf)
                # tolerate junk after the closing quote up to the delimiter (as Python's csv does)
                while i < n and text[i] not in (delim, "\r", "\n"):
                    value += text[i]
                    i += 1
            else:
                while i < n and text[i] not in (delim, "\r", "\n"):
                    i += 1
                value = text[start:i]
            row.append(Cell(len(rows), len(row), start, i, value))
            if i < n and text[i] == delim:
                i += 1
                continue
            break
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
        rows.append(row)
        bounds.append((row_start, i))
    return rows, bounds


class CsvHandler(_TextHandler):
    name = "csv"
    label = "CSV"
    NOTE_TAG = "#c11-note"
    ENV_TAG = "#c11-envelope"

    def _delim(self, text: str) -> str:
        import csv

        first = text.lstrip("\ufeff").split("\n", 1)[0]
        try:
            return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
        except csv.Error:
            return ","

    def _eol(self, text: str) -> str:
        i = text.find("\n")
        return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"

    def validate(self, text):
        import csv
        import io

        try:
            list(csv.reader(io.StringIO(text, newline=""), delimiter=self._delim(text)))
            _csv_cells(text, self._delim(text))
        except csv.Error as e:
            raise FormatError(f"not valid CSV: {e}") from None

    def targets(self, text, selectors):
        rows, _ = _csv_cells(text, self._delim(text))
        if not rows:
            raise UsageError("this CSV file is empty")
        header = [c.value for c in rows[0]]
        data = rows[1:]
        out: list[Target] = []
        for sel in selectors:
            if sel.kind in ("column", "key"):
                if sel.sheet:
                    raise UsageError(f"{sel.text!r}: a CSV file has no sheets")
                if sel.kind == "column":
                    cols = [i for i, h in enumerate(header) if h.strip() == sel.name.strip()]
                else:
                    cols = [i for i, h in enumerate(header) if sel.pattern.fullmatch(h)]
                if not cols:
                    raise UsageError(f"{sel.text!r}: no such column (columns: {', '.join(header)})")
                out.extend(Target(c.start, c.end, sel) for r in data for c in r if c.col in cols)
            elif sel.kind == "cells":
                if sel.sheet:
                    raise UsageError(f"{sel.text!r}: a CSV file has no sheets")
                (r0, c0), (r1, c1) = _a1_range(sel.ref, len(rows), max(len(r) for r in rows))
                hit = [c for r in rows[max(r0, 1):r1 + 1] for c in r if c0 <= c.col <= c1]
                if not hit:
                    raise UsageError(f"{sel.text!r} matches no cell (row 1 is the header and is never protected)")
                out.extend(Target(c.start, c.end, sel) for c in hit)
            elif sel.kind == "match":
                out.extend(Target(c.start, c.end, sel) for r in data for c in r if sel.pattern.search(c.value))
            else:
                raise UsageError(
                    f"CSV files take column:NAME, key:REGEX, cells (B2, B2:D10, C:C, 3:5) or match:REGEX, not {sel.text!r}")
        return out

    def placeholder_text(self, n, text, t):
        return _csv_field(placeholder(n), self._delim(text))

    def scan(self, text):
        rows, _ = _csv_cells(text, self._delim(text))
        out = []
        for row in rows:
            for c in row:
                m = PLACEHOLDER_RE.fullmatch(c.value)
                if m:
                    out.append(Found(f"csv:r{c.row}c{c.col}", int(m.group(1)), c.start, c.end))
        return out

    def _block(self, env: P.Envelope, delim: str, eol: str, added: bool) -> str:
        b64 = base64.b64encode(env.to_json()).decode()
        return ((eol if added else "") + self.NOTE_TAG + delim + _csv_field(notice(env.note), delim) + eol
                + self.ENV_TAG + delim + b64 + delim + ("1" if added else "0") + eol)

    def insert_block(self, text, env):
        added = text != "" and not text.endswith(("\n", "\r"))
        return text + self._block(env, self._delim(text), self._eol(text), added)

    def split_block(self, text):
        delim = self._delim(text)
        rows, bounds = _csv_cells(text, delim)
        if len(rows) < 2 or rows[-1][0].value != self.ENV_TAG:
            return None
        last = rows[-1]
        if rows[-2][0].value != self.NOTE_TAG or len(last) != 3:
            raise FormatError("the c11 records at the end of this CSV file are malformed")
        try:
            env = P.Envelope.from_json(base64.b64decode(last[1].value, validate=True))
        except ValueError:
            raise FormatError("the c11 records at the end of this CSV file are malformed") from None
        added = last[2].value == "1"
        base = text[:bounds[-2][0]]
        if added:
            eol = self._eol(text)
            if not base.endswith(eol):
                raise IntegrityError("the c11 records of this CSV file were edited")
            base = base[:-len(eol)]
        if base + self._block(env, delim, self._eol(text), added) != text:
            raise IntegrityError("the c11 note or records of this CSV file were edited")
        return base, env


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _a1_range(ref: str, nrows: int, ncols: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """'B2:D10' / 'C:C' / '3:5' / 'B2' -> ((row0, col0), (row1, col1)), 0-based, inclusive."""
    def one(part: str) -> tuple[int | None, int | None]:
        m = re.fullmatch(r"([A-Z]*)(\d*)", part.replace("$", "").upper())
        if not m or not (m.group(1) or m.group(2)):
            raise UsageError(f"bad cell reference {ref!r}")
        col = _col_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        return row, col

    a, _, b = ref.partition(":")
    (ra, ca), (rb, cb) = one(a), one(b or a)
    r0 = 0 if ra is None else ra
    r1 = nrows - 1 if rb is None else rb
    c0 = 0 if ca is None else ca
    c1 = ncols - 1 if cb is None else cb
    return (min(r0, r1), min(c0, c1)), (max(r0, r1), max(c0, c1))


def _csv_field(value: str, delim: str) -> str:
    if any(ch in value for ch in (delim, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


# --------------------------------------------------------------------------------------------
# Markdown: sections under a heading, blocks (paragraph:N counts every block), or spans matching a regex.
# The note is a visible quote at the end, the envelope an HTML comment after it.

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$")


def _md_lines(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end-without-newline, line, kind) with kind one of text, open, code, close."""
    out = []
    pos = 0
    fence = None
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                kind = "open"
            else:
                kind = "text"
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                and not line.strip()[len(m.group(1)):].strip():
            fence = None
            kind = "close"
        else:
            kind = "code"
        out.append((pos, pos + len(line), line, kind))
        pos += len(raw)
    return out


class MarkdownHandler(_TextHandler):
    name = "markdown"
    label = "Markdown"
    START = "<!-- c11-protected -->"

    def targets(self, text, selectors):
        lines = _md_lines(text)
        out: list[Target] = []
        for sel in selectors:
            if sel.kind == "heading":
                out.extend(self._sections(text, lines, sel.name, sel))
            elif sel.kind == "paragraph":
                blocks = self._blocks(lines)
                for i in numbers(sel, len(blocks), "blocks (paragraphs, lists, tables, code blocks, headings)"):
                    out.append(Target(blocks[i - 1][0], blocks[i - 1][1], sel))
            elif sel.kind == "match":
                out.extend(Target(m.start(), m.end(), sel) for m in sel.pattern.finditer(text) if m.end() > m.start())
            else:
                raise UsageError(
                    f"Markdown files take heading:TEXT, paragraph:N-M or match:REGEX selectors, not {sel.text!r}")
        return out

    def _sections(self, text, lines, title, sel):
        heads = [(i, len(m.group(1)), (m.group(2) or "").strip())
                 for i, (_, _, line, kind) in enumerate(lines) if kind == "text" and (m := _HEADING.match(line))]
        out = []
        for k, (i, level, name) in enumerate(heads):
            if name.lower() != title.lower():
                continue
            end_line = len(lines)
            for j, lvl, _ in heads[k + 1:]:
                if lvl <= level:
                    end_line = j
                    break
            body = [ln for ln in lines[i + 1:end_line]]
            while body and not body[0][2].strip():
                body.pop(0)
            while body and not body[-1][2].strip():
                body.pop()
            if body:
                out.append(Target(body[0][0], body[-1][1], sel))
        if not out:
            raise UsageError(f"{sel.text!r}: no heading with that text (or its section is empty)")
        return out

    def _blocks(self, lines):
        blocks, cur = [], None
        for start, end, line, kind in lines:
            if not line.strip() and kind == "text":
                if cur:
                    blocks.append(cur)
                cur = None
                continue
            if cur is None:
                cur = [start, end]
            else:
                cur[1] = end
        if cur:
            blocks.append(cur)
        return blocks

    def scan(self, text):
        return [Found(f"md:{m.group(1)}", int(m.group(1)), m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]

    def check_order(self, found):
        nums = [f.number for f in sorted(found, key=lambda f: f.start)]
        if nums != sorted(nums):
            raise IntegrityError("protected parts of this Markdown file are out of order (moved or swapped)")

    def _block(self, env: P.Envelope, added: bool, eol: str) -> str:
        b64 = base64.b64encode(env.to_json()).decode()
        lines = eol.join(b64[i:i + 76] for i in range(0, len(b64), 76))
        quoted = notice(env.note).replace("\r\n", "\n").replace("\n", eol + "> ")
        return ((eol if added else "") + f"{eol}{self.START}{eol}> {quoted}{eol}{eol}"
                f"<!-- c11-envelope v1 added-newline={int(added)}{eol}{lines}{eol}-->{eol}")

    def insert_block(self, text, env):
        return text + self._block(env, text != "" and not text.endswith("\n"), _eol(text))

    def split_block(self, text):
        eol = _eol(text)
        i = text.rfind(eol + self.START + eol)
        if i < 0:
            return None
        m = re.search(r"<!-- c11-envelope v1 added-newline=([01])\r?\n([A-Za-z0-9+/=\r\n]*?)\r?\n-->\r?\n\Z", text)
        if not m:
            raise IntegrityError("the c11 block at the end of this Markdown file was edited")
        try:
            env = P.Envelope.from_json(base64.b64decode(re.sub(r"\s", "", m.group(2)), validate=True))
        except ValueError:
            raise FormatError("the c11 block at the end of this Markdown file is malformed") from None
        added = m.group(1) == "1"
        base = text[:i]
        if added:
            if not base.endswith(eol):
                raise IntegrityError("the c11 block at the end of this Markdown file was edited")
            base = base[:-len(eol)]
        if base + self._block(env, added, eol) != text:
            raise IntegrityError("the c11 note or block at the end of this Markdown file was edited")
        return base, env


JSON_HANDLER = JsonHandler()
YAML_HANDLER = YamlHandler()
CSV_HANDLER = CsvHandler()
MARKDOWN_HANDLER = MarkdownHandler()
