"""The document request format (docs/sharing.md, "Document requests") against its vectors: signed bytes,
signature, the form's rules on answers; a changed request or another key fails the signature."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from c11.errors import BadSignatureError, FormatError
from c11.format import request as rq
from c11.keys.publickey import PublicKey

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "requests" / "requests.json").read_text("utf-8"))


def test_signed_bytes_and_signature() -> None:
    r = VECTORS["request"]
    assert hashlib.sha256(rq.signed_bytes(r)).hexdigest() == VECTORS["signed_bytes_sha256"]
    assert rq.signed_bytes(r).startswith(b"c11/v1 document request\x00{")
    rq.verify(r, VECTORS["signature"], PublicKey.parse(VECTORS["requester_key"]))


def test_changed_request_or_other_key_refused() -> None:
    key = PublicKey.parse(VECTORS["requester_key"])
    changed = copy.deepcopy(VECTORS["request"])
    changed["keys"] = changed["keys"][:1]  # the server drops the group key
    with pytest.raises(BadSignatureError):
        rq.verify(changed, VECTORS["signature"], key)
    other = PublicKey.parse(VECTORS["request"]["keys"][1])
    with pytest.raises(BadSignatureError, match="another key"):
        rq.verify(VECTORS["request"], VECTORS["signature"], other)


def test_answers_rules() -> None:
    r = VECTORS["request"]
    rq.check_answers(r, VECTORS["answers_good"])
    for case in VECTORS["answers_bad"]:
        with pytest.raises(FormatError, match=f"^{case['field']}: "):
            rq.check_answers(r, case["document"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"v": 2}, "version"),
        ({"id": "short"}, "id"),
        ({"expires_at": "2026-11-01T00:00:00Z"}, "after"),
        ({"keys": []}, "keys"),
        ({"max_files": 1.5}, "integer"),
        (
            {"sections": [{"title": "x", "fields": [{"id": "a", "label": "A", "type": "colour", "required": True}]}]},
            "type",
        ),
        (
            {"sections": [{"title": "x", "fields": [{"id": "a", "label": "A", "type": "text", "required": True}] * 2}]},
            "twice",
        ),
    ],
)
def test_bad_requests(change: dict, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        rq.check_request({**VECTORS["request"], **change})
