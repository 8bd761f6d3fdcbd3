"""CSV: cells chosen by column:, key: (header regex), cell references or match:, each replaced by a
placeholder field; the note and the envelope are two trailing records whose first field starts
with '#' (`#c11-note`, `#c11-envelope`).

Fields are read with their exact spans (RFC 4180: quoted fields with embedded newlines and doubled
quotes); the delimiter is sniffed from the first line. Row 1 is the header and is never protected.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from dataclasses import dataclass

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc._handler import Handler
from c11.indoc._mediacommon import PLACEHOLDER_RE, placeholder
from c11.indoc.selectors import Selector
from c11.indoc.structured._text import Found, Target, TextHandler, eol, notice


@dataclass
class Cell:
    """One field with its exact span (quotes included) and its value."""

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
                buf: list[str] = []
                while True:
                    k = text.find('"', j)
                    if k < 0:
                        raise FormatError(f"not valid CSV: unterminated quoted field at {start}")
                    buf.append(text[j:k])
                    if text[k + 1 : k + 2] == '"':
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


class CsvHandler(TextHandler):
    """`c11.indoc.Handler` for .csv files."""

    name = "csv"
    label = "CSV"
    NOTE_TAG = "#c11-note"
    ENV_TAG = "#c11-envelope"

    def _delim(self, text: str) -> str:
        first = text.lstrip("\ufeff").split("\n", 1)[0]
        try:
            return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
        except csv.Error:
            return ","

    def validate(self, text: str) -> None:
        try:
            list(csv.reader(io.StringIO(text, newline=""), delimiter=self._delim(text)))
            _csv_cells(text, self._delim(text))
        except csv.Error as e:
            raise FormatError(f"not valid CSV: {e}") from None

    def targets(self, text: str, selectors: list[Selector]) -> list[Target]:
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
                    pattern = sel.pattern
                    cols = [i for i, h in enumerate(header) if pattern is not None and pattern.fullmatch(h)]
                if not cols:
                    raise UsageError(f"{sel.text!r}: no such column (columns: {', '.join(header)})")
                out.extend(Target(c.start, c.end, sel) for r in data for c in r if c.col in cols)
            elif sel.kind == "cells":
                if sel.sheet:
                    raise UsageError(f"{sel.text!r}: a CSV file has no sheets")
                (r0, c0), (r1, c1) = _a1_range(sel.ref, len(rows), max(len(r) for r in rows))
                hit = [c for r in rows[max(r0, 1) : r1 + 1] for c in r if c0 <= c.col <= c1]
                if not hit:
                    raise UsageError(f"{sel.text!r} matches no cell (row 1 is the header and is never protected)")
                out.extend(Target(c.start, c.end, sel) for c in hit)
            elif sel.kind == "match" and sel.pattern is not None:
                pattern = sel.pattern
                out.extend(Target(c.start, c.end, sel) for r in data for c in r if pattern.search(c.value))
            else:
                raise UsageError(
                    f"CSV files take column:NAME, key:REGEX, cells (B2, B2:D10, C:C, 3:5) or match:REGEX, not {sel.text!r}"
                )
        return out

    def placeholder_text(self, n: int, text: str, t: Target) -> str:
        return _csv_field(placeholder(n), self._delim(text))

    def scan(self, text: str) -> list[Found]:
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
        return (
            (eol if added else "")
            + self.NOTE_TAG
            + delim
            + _csv_field(notice(env.note), delim)
            + eol
            + self.ENV_TAG
            + delim
            + b64
            + delim
            + ("1" if added else "0")
            + eol
        )

    def insert_block(self, text: str, env: P.Envelope) -> str:
        added = text != "" and not text.endswith(("\n", "\r"))
        return text + self._block(env, self._delim(text), eol(text), added)

    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
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
        base = text[: bounds[-2][0]]
        if added:
            nl = eol(text)
            if not base.endswith(nl):
                raise IntegrityError("the c11 records of this CSV file were edited")
            base = base[: -len(nl)]
        if base + self._block(env, delim, eol(text), added) != text:
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


HANDLER: Handler = CsvHandler()
