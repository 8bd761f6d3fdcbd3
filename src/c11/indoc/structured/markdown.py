"""Markdown: sections under a heading, blocks (paragraph:N counts every block), or spans matching a
regex, each replaced by a placeholder line; the note is a visible quote at the end, the envelope an
HTML comment after it. Locations are placeholder numbers, so parts must stay in document order.
"""

from __future__ import annotations

import base64
import re

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc._handler import Handler
from c11.indoc._mediacommon import PLACEHOLDER_RE, numbers
from c11.indoc.selectors import Selector
from c11.indoc.structured._text import Found, Target, TextHandler, eol, notice

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$")


#: (start, end without the line break, the line, kind: text, open, code or close)
_Line = tuple[int, int, str, str]


def _md_lines(text: str) -> list[_Line]:
    """(start, end-without-newline, line, kind) with kind one of text, open, code, close."""
    out: list[tuple[int, int, str, str]] = []
    pos = 0
    fence: str | None = None
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                kind = "open"
            else:
                kind = "text"
        elif (
            m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= len(fence)
            and not line.strip()[len(m.group(1)) :].strip()
        ):
            fence = None
            kind = "close"
        else:
            kind = "code"
        out.append((pos, pos + len(line), line, kind))
        pos += len(raw)
    return out


class MarkdownHandler(TextHandler):
    """`c11.indoc.Handler` for .md files."""

    name = "markdown"
    label = "Markdown"
    START = "<!-- c11-protected -->"

    def targets(self, text: str, selectors: list[Selector]) -> list[Target]:
        lines = _md_lines(text)
        out: list[Target] = []
        for sel in selectors:
            if sel.kind == "heading":
                out.extend(self._sections(text, lines, sel.name, sel))
            elif sel.kind == "paragraph":
                blocks = self._blocks(lines)
                for i in numbers(sel, len(blocks), "blocks (paragraphs, lists, tables, code blocks, headings)"):
                    out.append(Target(blocks[i - 1][0], blocks[i - 1][1], sel))
            elif sel.kind == "match" and sel.pattern is not None:
                out.extend(Target(m.start(), m.end(), sel) for m in sel.pattern.finditer(text) if m.end() > m.start())
            else:
                raise UsageError(
                    f"Markdown files take heading:TEXT, paragraph:N-M or match:REGEX selectors, not {sel.text!r}"
                )
        return out

    def _sections(self, text: str, lines: list[_Line], title: str, sel: Selector) -> list[Target]:
        heads = [
            (i, len(m.group(1)), (m.group(2) or "").strip())
            for i, (_, _, line, kind) in enumerate(lines)
            if kind == "text" and (m := _HEADING.match(line))
        ]
        out = []
        for k, (i, level, name) in enumerate(heads):
            if name.lower() != title.lower():
                continue
            end_line = len(lines)
            for j, lvl, _ in heads[k + 1 :]:
                if lvl <= level:
                    end_line = j
                    break
            body = [ln for ln in lines[i + 1 : end_line]]
            while body and not body[0][2].strip():
                body.pop(0)
            while body and not body[-1][2].strip():
                body.pop()
            if body:
                out.append(Target(body[0][0], body[-1][1], sel))
        if not out:
            raise UsageError(f"{sel.text!r}: no heading with that text (or its section is empty)")
        return out

    def _blocks(self, lines: list[_Line]) -> list[list[int]]:
        blocks: list[list[int]] = []
        cur: list[int] | None = None
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

    def scan(self, text: str) -> list[Found]:
        return [Found(f"md:{m.group(1)}", int(m.group(1)), m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]

    def check_order(self, found: list[Found]) -> None:
        nums = [f.number for f in sorted(found, key=lambda f: f.start)]
        if nums != sorted(nums):
            raise IntegrityError("protected parts of this Markdown file are out of order (moved or swapped)")

    def _block(self, env: P.Envelope, added: bool, eol: str) -> str:
        b64 = base64.b64encode(env.to_json()).decode()
        lines = eol.join(b64[i : i + 76] for i in range(0, len(b64), 76))
        quoted = notice(env.note).replace("\r\n", "\n").replace("\n", eol + "> ")
        return (
            (eol if added else "") + f"{eol}{self.START}{eol}> {quoted}{eol}{eol}"
            f"<!-- c11-envelope v1 added-newline={int(added)}{eol}{lines}{eol}-->{eol}"
        )

    def insert_block(self, text: str, env: P.Envelope) -> str:
        return text + self._block(env, text != "" and not text.endswith("\n"), eol(text))

    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
        nl = eol(text)
        i = text.rfind(nl + self.START + nl)
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
            if not base.endswith(nl):
                raise IntegrityError("the c11 block at the end of this Markdown file was edited")
            base = base[: -len(nl)]
        if base + self._block(env, added, nl) != text:
            raise IntegrityError("the c11 note or block at the end of this Markdown file was edited")
        return base, env


HANDLER: Handler = MarkdownHandler()
