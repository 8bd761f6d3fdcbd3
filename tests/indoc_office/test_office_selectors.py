"""Selector syntax shared by every in-document format (c11.indoc.selectors)."""

from __future__ import annotations

import pytest

from c11.errors import RecipientError, UsageError
from c11.indoc import selectors as S


@pytest.mark.parametrize(
    "text,kind,check",
    [
        ("body", "body", lambda s: True),
        ("paragraph:3-7", "paragraph", lambda s: s.covers(3) and s.covers(7) and not s.covers(8)),
        ("paragraph:1,4,9-", "paragraph", lambda s: s.covers(4) and s.covers(1000) and not s.covers(5)),
        ('heading:"Salary"', "heading", lambda s: s.name == "Salary"),
        ("heading:Annual review", "heading", lambda s: s.name == "Annual review"),
        ("table:2", "table", lambda s: s.covers(2) and not s.covers(1)),
        ("image:1", "image", lambda s: s.covers(1)),
        ("Sheet1!B2:D10", "cells", lambda s: s.sheet == "Sheet1" and s.ref == "B2:D10"),
        ("'My sheet'!c:c", "cells", lambda s: s.sheet == "My sheet" and s.ref == "C:C"),
        ("B2", "cells", lambda s: s.sheet is None and s.ref == "B2"),
        ("cells:Payroll!$A$1", "cells", lambda s: s.sheet == "Payroll" and s.ref == "A1"),
        ("sheet:Payroll", "sheet", lambda s: s.name == "Payroll"),
        ("column:Salary", "column", lambda s: s.name == "Salary" and s.sheet is None),
        ("column:Payroll!Salary", "column", lambda s: s.name == "Salary" and s.sheet == "Payroll"),
        ("page:2-3", "page", lambda s: s.covers(2) and s.covers(3) and not s.covers(4)),
        ("region:2:10,20,300.5,400", "region", lambda s: s.page == 2 and s.box == (10, 20, 300.5, 400)),
        ("path:/patients/*/ssn", "path", lambda s: s.path == ["patients", "*", "ssn"]),
        ("key:^(ssn|dob)$", "key", lambda s: s.pattern.search("ssn")),
        ("match:\\d{3}-\\d{2}", "match", lambda s: s.pattern.search("123-45")),
    ],
)
def test_parse(text, kind, check):
    sel = S.parse(text)
    assert sel.kind == kind
    assert check(sel)
    assert sel.text == text


@pytest.mark.parametrize(
    "text,msg",
    [
        ("", "empty selector"),
        ("foo:1", "unknown selector"),
        ("paragraph:x", "expected numbers"),
        ("paragraph:0", "start at 1"),
        ("paragraph:5-3", "ranges go upwards"),
        ("heading:", "heading's text"),
        ("region:1:10,10,5,5", "empty"),
        ("region:1:abc", "region:PAGE"),
        ("path:patients", "starts with '/'"),
        ("match:(", "invalid regular expression"),
        ("Sheet1!ZZZZ1", "cell reference"),
    ],
)
def test_parse_errors(text, msg):
    with pytest.raises(UsageError, match=msg):
        S.parse(text)


def test_part_recipients(alice, bob, tmp_path):
    (tmp_path / "team.txt").write_text(f"# team\n{bob.public.line()}\n")
    sel = S.parse_part(f"table:2=>{alice.public.line()},@{tmp_path / 'team.txt'}")
    assert sel.kind == "table" and sel.text == "table:2"
    assert [k.fingerprint for k in sel.recipients] == [alice.fingerprint, bob.fingerprint]
    # `=>` that is not followed by recipients belongs to the selector (a regex here)
    sel = S.parse_part("match:a=>b")
    assert sel.kind == "match" and sel.recipients is None and sel.pattern.search("a=>b")
    with pytest.raises(RecipientError):
        S.parse_part("table:1=>c11:x25519:notakey")
    with pytest.raises(RecipientError):
        S.parse_part(f"table:1=>@{tmp_path / 'missing.txt'}")


def test_parse_all_mapping(alice):
    sels = S.parse_all(["table:1", "body"], matches=["SSN"], part_recipients={"table:1": [alice.public]})
    assert [s.kind for s in sels] == ["table", "body", "match"]
    assert sels[0].recipients == [alice.public] and sels[1].recipients is None
