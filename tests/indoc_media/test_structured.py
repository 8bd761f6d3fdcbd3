"""JSON, YAML, CSV and Markdown handlers: chosen values replaced, exact restore, tamper detection."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from c11.errors import FormatError, IntegrityError, NoMatchingKeyError, UsageError
from c11.indoc.structured import CSV_HANDLER, JSON_HANDLER, MARKDOWN_HANDLER, YAML_HANDLER

PH = "Protected with c11 (part {}): open it with c11 to read this part"

JSON_DOCS = {
    "nested": (
        '{\n  "clinic": "North",\n  "patients": [\n    {"name": "Ann", "ssn": "111-22-3333", "tags": ["a", "b"]},\n'
        '    {"name": "Bob", "ssn": "444-55-6666", "dob": {"y": 1980, "m": [1, 2]}}\n  ],\n'
        '  "api_key": "sk-SECRET-1",\n  "count": 2,\n  "nested": {"deep": {"password": "pw-SECRET-2"}}\n}\n'
    ),
    "compact": '{"a":{"password":"pw-SECRET-3","x":[1,2,{"password":null}]},"ssn":"777-88-9999"}',
    "tabs-crlf": '{\r\n\t"ssn": "123-45-6789",\r\n\t"unicode": "h\\u00e9 \u00e9\u4e2d",\r\n\t"n": -1.5e3\r\n}',
}


def test_json_roundtrip_and_secrecy(alice, bob):
    for name, text in JSON_DOCS.items():
        data = text.encode()
        out = JSON_HANDLER.protect(data, ["key:password|api_key|ssn"], [bob.public], alice, note="Ask HR")
        doc = json.loads(out)
        for secret in ("SECRET", "111-22", "444-55", "777-88", "123-45"):
            assert secret.encode() not in out, (name, secret)
        assert "Ask HR" in doc["_c11_note"]
        assert JSON_HANDLER.unprotect(out, [bob])[0] == data, name
        assert JSON_HANDLER.unprotect(out, [alice])[0] == data, name


def test_json_layout_kept(alice, bob):
    data = JSON_DOCS["nested"].encode()
    out = JSON_HANDLER.protect(data, ["path:/api_key", "path:/patients/1/dob"], [bob.public], alice)
    lines = out.decode().splitlines()
    orig = data.decode().splitlines()
    assert lines[:3] == orig[:3]  # untouched lines identical: diffs stay small
    assert lines[7] == '  "count": 2,'
    doc = json.loads(out)
    assert doc["api_key"] == PH.format(2) and doc["patients"][1]["dob"] == PH.format(1)
    assert list(doc)[:5] == ["clinic", "patients", "api_key", "count", "nested"]


def test_json_match_and_subtree(alice, bob):
    data = JSON_DOCS["nested"].encode()
    out = JSON_HANDLER.protect(data, ["path:/nested"], [bob.public], alice, matches=[r"^\d{3}-\d{2}"])
    doc = json.loads(out)
    assert doc["nested"] == PH.format(3)
    assert doc["patients"][0]["ssn"] == PH.format(1)
    assert JSON_HANDLER.unprotect(out, [bob])[0] == data


def test_json_tampering_refused(alice, bob):
    data = JSON_DOCS["nested"].encode()
    out = JSON_HANDLER.protect(data, ["path:/patients/*/ssn"], [bob.public], alice, note="n").decode()
    p1, p2 = json.dumps(PH.format(1)), json.dumps(PH.format(2))
    moved = out.replace(f'"ssn": {p1}', '"ssn": "x"').replace('"clinic": "North"', f'"clinic": {p1}')
    swapped = out.replace(p1, "@@").replace(p2, p1).replace("@@", p2)
    edited = out.replace(p1, json.dumps(PH.format(1) + "!"))
    note = out.replace("Note from the author: n", "Note from the author: m")
    doc = json.loads(out)
    dup_env = json.loads(json.dumps(doc))
    dup_env["_c11"]["parts"].append(dup_env["_c11"]["parts"][0])
    sw_env = json.loads(json.dumps(doc))
    a, b = sw_env["_c11"]["parts"][0], sw_env["_c11"]["parts"][1]
    a["loc"], b["loc"] = b["loc"], a["loc"]
    for tampered in (moved, swapped, edited, note, json.dumps(dup_env), json.dumps(sw_env)):
        with pytest.raises(IntegrityError) as e:
            JSON_HANDLER.unprotect(tampered.encode(), [bob])
        assert "\n" not in str(e.value)


def test_json_part_from_another_document_refused(alice, bob):
    data = JSON_DOCS["nested"].encode()
    a = JSON_HANDLER.protect(data, ["key:ssn"], [bob.public], alice)
    b = JSON_HANDLER.protect(data, ["key:ssn"], [bob.public], alice)
    ea, eb = JSON_HANDLER.read_envelope(a), JSON_HANDLER.read_envelope(b)
    ea.parts[0] = eb.parts[0]
    with pytest.raises(IntegrityError):
        JSON_HANDLER.unprotect(JSON_HANDLER.write_envelope(a, ea), [bob])


def test_json_per_part_recipients(alice, bob, carol):
    data = JSON_DOCS["nested"].encode()
    out = JSON_HANDLER.protect(
        data, ["key:ssn", "key:password"], [bob.public], alice, part_recipients={"key:password": [carol.public]}
    )
    b_view, opened = JSON_HANDLER.unprotect(out, [bob])
    assert opened.closed == ["json:/nested/deep/password"]
    doc = json.loads(b_view)
    assert doc["patients"][0]["ssn"] == "111-22-3333" and doc["nested"]["deep"]["password"] == PH.format(3)
    full, opened = JSON_HANDLER.unprotect(b_view, [carol])
    assert full == data and opened.closed == []
    with pytest.raises(NoMatchingKeyError):
        JSON_HANDLER.unprotect(b_view, [bob])


def test_json_errors(alice, bob):
    with pytest.raises(FormatError):
        JSON_HANDLER.protect(b"{not json", ["key:a"], [bob.public], alice)
    with pytest.raises(UsageError):
        JSON_HANDLER.protect(b"[1, 2]", ["path:/0"], [bob.public], alice)
    with pytest.raises(UsageError):
        JSON_HANDLER.protect(b'{"a": 1}', ["path:/b"], [bob.public], alice)
    with pytest.raises(UsageError):
        JSON_HANDLER.protect(b'{"a": 1}', ["column:a"], [bob.public], alice)
    out = JSON_HANDLER.protect(b'{"a": 1}', ["path:/a"], [bob.public], alice)
    with pytest.raises(UsageError):
        JSON_HANDLER.protect(out, ["path:/a"], [bob.public], alice)
    assert JSON_HANDLER.unprotect(out, [bob])[0] == b'{"a": 1}'


YAML_DOC = """\
# service settings (comments stay)
defaults: &defaults
  host: db.internal
  password: hunter2-SECRET   # inline comment
  port: 5432
prod:
  <<: *defaults
  token: |
    line-one-SECRET
    line-two
  replicas:
    - name: a
      key: 'quoted-SECRET'
    - name: b
      key: "dq-SECRET"
  flow: {user: root, pass: flow-SECRET}
list: [1, 2, 3]
empty:
count: !!int 7
"""


def test_yaml_roundtrip_comments_and_anchors(alice, bob):
    data = YAML_DOC.encode()
    out = YAML_HANDLER.protect(
        data, ["key:password|key|pass", "path:/prod/token", "path:/count"], [bob.public], alice, note="see vault"
    )
    assert b"SECRET" not in out
    text = out.decode()
    assert "# service settings (comments stay)" in text and "# inline comment" in text
    assert "&defaults" in text and "<<: *defaults" in text
    doc = yaml.safe_load(out)
    assert doc["prod"]["password"] == doc["defaults"]["password"]  # the alias still points at the anchor
    assert doc["prod"]["flow"]["pass"].startswith("Protected with c11")
    assert "see vault" in doc["_c11_note"]
    assert YAML_HANDLER.unprotect(out, [bob])[0] == data
    no_newline = data.rstrip(b"\n")
    out2 = YAML_HANDLER.protect(no_newline, ["path:/list/1"], [bob.public], alice)
    assert yaml.safe_load(out2)["list"][1] == PH.format(1)
    assert YAML_HANDLER.unprotect(out2, [bob])[0] == no_newline


def test_yaml_tampering_refused(alice, bob):
    out = YAML_HANDLER.protect(YAML_DOC.encode(), ["path:/defaults/port", "path:/list/0"], [bob.public], alice).decode()
    p1, p2 = json.dumps(PH.format(1)), json.dumps(PH.format(2))
    cases = [
        out.replace(f"port: {p1}", "port: 1").replace("empty:", f"empty: {p1}"),  # moved
        out.replace(p1, "@@").replace(p2, p1).replace("@@", p2),  # swapped
        out.replace(p2, json.dumps(PH.format(2)).replace("part", "Part")),  # edited... no longer a placeholder
        out.replace('_c11_note: "Parts', '_c11_note: "parts'),  # note edited
    ]
    for tampered in cases:
        with pytest.raises(IntegrityError):
            YAML_HANDLER.unprotect(tampered.encode(), [bob])


def test_yaml_errors(alice, bob):
    with pytest.raises(FormatError):
        YAML_HANDLER.protect(b"a: [1, 2\n", ["key:a"], [bob.public], alice)
    with pytest.raises(FormatError):
        YAML_HANDLER.protect(b"a: 1\n---\nb: 2\n", ["key:a"], [bob.public], alice)
    with pytest.raises(UsageError):
        YAML_HANDLER.protect(b"- 1\n- 2\n", ["path:/0"], [bob.public], alice)


CSV_DOC = (
    'id,name,ssn,notes\r\n1,Ann,111-22-3333,"multi\r\nline, with ""quotes"""\r\n'
    '2,"Bob, Jr.",444-55-6666,plain\r\n3,Cy,,"x"\r\n'
)


def test_csv_roundtrip_and_parse(alice, bob):
    data = CSV_DOC.encode()
    out = CSV_HANDLER.protect(data, ["column:ssn", "column:notes"], [bob.public], alice, note="HR, only")
    assert b"111-22" not in out and b"quotes" not in out and b"multi" not in out
    rows = list(csv.reader(io.StringIO(out.decode(), newline="")))
    assert rows[0] == ["id", "name", "ssn", "notes"]
    assert rows[1] == ["1", "Ann", PH.format(1), PH.format(2)]
    assert rows[2][1] == "Bob, Jr."
    assert rows[-2][0] == "#c11-note" and "HR, only" in rows[-2][1]
    assert rows[-1][0] == "#c11-envelope"
    assert CSV_HANDLER.unprotect(out, [bob])[0] == data
    semi = b"a;b\n1;geheim\n2;x"
    out = CSV_HANDLER.protect(semi, ["column:b"], [bob.public], alice)
    assert out.decode().splitlines()[1] == "1;" + PH.format(1)
    assert CSV_HANDLER.unprotect(out, [bob])[0] == semi


def test_csv_rows_cells_and_tampering(alice, bob, carol):
    data = CSV_DOC.encode()
    out = CSV_HANDLER.protect(
        data,
        ["3:3", "C2"],
        [bob.public],
        alice,  # A1 references, row 1 = header
        part_recipients={"C2": [carol.public]},
    )
    b_view, opened = CSV_HANDLER.unprotect(out, [bob])
    assert opened.closed == ["csv:r1c2"]
    assert "Bob, Jr." in b_view.decode()
    text = out.decode()
    moved = text.replace("Ann," + PH.format(1), "Ann,x").replace("3,Cy,,", "3,Cy," + PH.format(1) + ",")
    with pytest.raises(IntegrityError):
        CSV_HANDLER.unprotect(moved.encode(), [bob])
    with pytest.raises(IntegrityError):
        CSV_HANDLER.unprotect(text.replace("#c11-note,Parts", "#c11-note,parts").encode(), [bob])


MD_DOC = """\
# Report

Intro mentions card 4111-1111-1111-1111 in passing.

## Salary

Ann earns 100k.

| name | pay |
|------|-----|
| Ann  | 100 |

```python
api_key = "sk-SECRET"

print(api_key)
```

## Public

Nothing secret here. ~~~ not a fence
"""


def test_markdown_sections_code_and_matches(alice, bob):
    data = MD_DOC.encode()
    out = MARKDOWN_HANDLER.protect(
        data, ["heading:Salary"], [bob.public], alice, note="ask Ann", matches=[r"\d{4}-\d{4}-\d{4}-\d{4}"]
    )
    text = out.decode()
    assert "4111" not in text and "100k" not in text and "sk-SECRET" not in text
    assert "## Salary\n\n" + PH.format(2) + "\n\n## Public" in text
    assert "> Parts of this document are protected with c11" in text and "ask Ann" in text
    assert MARKDOWN_HANDLER.unprotect(out, [bob])[0] == data
    out = MARKDOWN_HANDLER.protect(data, ["paragraph:6", "paragraph:2"], [bob.public], alice)
    text = out.decode()
    assert "| Ann  | 100 |\n\n" + PH.format(2) + "\n\n## Public" in text  # the code block, fences and all
    assert "sk-SECRET" not in text and "4111" not in text
    assert MARKDOWN_HANDLER.unprotect(out, [bob])[0] == data


def test_markdown_tampering(alice, bob):
    data = MD_DOC.encode()
    out = MARKDOWN_HANDLER.protect(data, ["paragraph:2", "paragraph:4"], [bob.public], alice).decode()
    p1, p2 = PH.format(1), PH.format(2)
    swapped = out.replace(p1, "@@").replace(p2, p1).replace("@@", p2)
    duplicated = out.replace("Nothing secret here.", p1)
    block_edit = out.replace("> Parts of this", "> parts of this")
    for tampered in (swapped, duplicated, block_edit):
        with pytest.raises(IntegrityError):
            MARKDOWN_HANDLER.unprotect(tampered.encode(), [bob])


def test_text_must_be_utf8(alice, bob):
    with pytest.raises(FormatError):
        MARKDOWN_HANDLER.protect("caf\u00e9".encode("latin-1"), ["match:caf"], [bob.public], alice)


@pytest.mark.parametrize(
    "handler,doc,sel",
    [
        (YAML_HANDLER, "a: 1\r\nb:\r\n  c: secret-x\r\n", "path:/b/c"),
        (YAML_HANDLER, "a: 1\nb: secret-x", "key:b"),
        (MARKDOWN_HANDLER, "# T\r\n\r\nsecret-x here\r\n", "match:secret-x"),
        (MARKDOWN_HANDLER, "no final newline secret-x", "match:secret-x"),
        (CSV_HANDLER, "a,b\r\n1,secret-x", "column:b"),
        (JSON_HANDLER, '\ufeff{"b": "secret-x"}', "key:b"),
        (JSON_HANDLER, "{}", "match:x"),
    ],
)
def test_line_endings_and_edges(handler, doc, sel, alice, bob):
    data = doc.encode()
    if doc == "{}":
        with pytest.raises(UsageError):
            handler.protect(data, [sel], [bob.public], alice)
        return
    out = handler.protect(data, [sel], [bob.public], alice, note="one line" if "\r\n" in doc else "two\nlines")
    assert b"secret-x" not in out
    if "\r\n" in doc:
        assert out.count(b"\n") == out.count(b"\r\n")
    assert handler.unprotect(out, [bob])[0] == data
