"""Property tests: for any document the generators make, protect then unprotect is byte-exact and
the protected file still parses."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c11.errors import UsageError
from c11.indoc.structured import CSV_HANDLER, JSON_HANDLER, MARKDOWN_HANDLER, YAML_HANDLER
from c11.keys import Identity

KEY = Identity.generate("prop@example.com", kem="x25519")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), text
)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=12)


@SETTINGS
@given(
    doc=st.dictionaries(text.filter(lambda k: not k.startswith("_c11")), values, min_size=1, max_size=5),
    indent=st.sampled_from([None, 0, 1, 2, 4, "\t"]),
    ascii_only=st.booleans(),
    selector=st.sampled_from(["path:/*", "match:."]),
)
def test_json_any_document(doc, indent, ascii_only, selector):
    data = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()
    try:
        out = JSON_HANDLER.protect(data, [selector], [KEY.public], KEY)
    except UsageError as e:
        assert "matches" in str(e) and selector == "match:."
        return
    parsed = json.loads(out)
    assert set(parsed) == set(doc) | {"_c11", "_c11_note"}
    assert JSON_HANDLER.unprotect(out, [KEY])[0] == data


yaml_keys = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8)
yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), text),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(yaml_keys, c, max_size=3),
    max_leaves=10,
)


@SETTINGS
@given(
    doc=st.dictionaries(yaml_keys, yaml_values, min_size=1, max_size=5),
    flow=st.sampled_from([False, None]),
    width=st.sampled_from([20, 80]),
    selector=st.sampled_from(["path:/*", "match:."]),
)
def test_yaml_any_document(doc, flow, width, selector):
    data = yaml.safe_dump(doc, default_flow_style=flow, width=width, allow_unicode=True).encode()
    if data.startswith(b"{"):  # a flow mapping at the top level cannot carry the c11 keys
        with pytest.raises(UsageError):
            YAML_HANDLER.protect(data, [selector], [KEY.public], KEY)
        return
    try:
        out = YAML_HANDLER.protect(data, [selector], [KEY.public], KEY)
    except UsageError as e:  # match:. on a document without any non-empty scalar value
        assert "matches" in str(e) and selector == "match:."
        return
    parsed = yaml.safe_load(out)
    assert set(parsed) == {str(k) if not isinstance(k, str) else k for k in yaml.safe_load(data)} | {
        "_c11",
        "_c11_note",
    }
    assert YAML_HANDLER.unprotect(out, [KEY])[0] == data


cells = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=10
)  # csv.writer leaves a lone \r unquoted


@SETTINGS
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    eol=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_any_table(rows, delimiter, eol):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol)
    w.writerow(["id", "name", "secret"])
    w.writerows(rows)
    data = buf.getvalue().encode()
    try:
        out = CSV_HANDLER.protect(data, ["column:secret"], [KEY.public], KEY)
    except Exception as e:  # a column of empty cells has nothing to protect
        assert all(r[2] == "" for r in rows), e
        return
    parsed = list(csv.reader(io.StringIO(out.decode(), newline=""), delimiter=delimiter))
    assert parsed[-1][0] == "#c11-envelope"
    assert CSV_HANDLER.unprotect(out, [KEY])[0] == data


@SETTINGS
@given(
    paras=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), min_size=1, max_size=30),
        min_size=1,
        max_size=6,
    ),
    final_newline=st.booleans(),
)
def test_markdown_any_text(paras, final_newline):
    doc = "# Title\n\n" + "\n\nsecret 1234\n\n".join(paras) + ("\n" if final_newline else "")
    data = doc.encode()
    if "Protected with c11" in doc:
        return
    out = (
        MARKDOWN_HANDLER.protect(data, [], [KEY.public], KEY, matches=[r"secret \d+"])
        if "secret 1" in doc
        else MARKDOWN_HANDLER.protect(data, ["paragraph:1"], [KEY.public], KEY)
    )
    assert b"secret 1234" not in out
    assert MARKDOWN_HANDLER.unprotect(out, [KEY])[0] == data
