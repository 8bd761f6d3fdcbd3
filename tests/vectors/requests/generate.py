"""Writes tests/vectors/requests/requests.json: a signed document request (docs/sharing.md, "Document requests")
with its signed bytes' digest and signature by a fixed key, and answers documents the form's rules accept or refuse
(with the label the refusal names). Run `python tests/vectors/requests/generate.py` after changing a case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from c11.format import request as rq
from c11.keys.identity import Identity

HERE = Path(__file__).parent


def _identity(name: str) -> Identity:
    seed = hashlib.sha256(b"c11 request vector " + name.encode()).digest()
    return Identity(name, "x25519", seed, hashlib.sha256(seed).digest())


REQUESTER = _identity("alice@example.com")
GROUP = _identity("group")
REQUEST = {
    "v": 1,
    "id": "0123456789abcdefghijklmnop",
    "name": "Tax documents 2026 — Müller",
    "requester": "alice@example.com",
    "recipient_name": "Jürgen Müller",
    "recipient_email": "juergen@example.org",
    "created_at": "2026-12-01T09:00:00Z",
    "expires_at": "2026-12-15T09:00:00Z",
    "message": "Please send your payslips.\nThank you!",
    "keys": [REQUESTER.public.line(), GROUP.public.line()],
    "max_files": 5,
    "max_bytes": 50_000_000,
    "sections": [
        {
            "title": "About you",
            "fields": [
                {"id": "full_name", "label": "Full name", "type": "text", "required": True, "max_length": 100},
                {"id": "notes", "label": "Notes", "type": "multiline", "required": False},
                {"id": "born", "label": "Date of birth", "type": "date", "required": True, "min": "1900-01-01"},
                {"id": "email", "label": "Email", "type": "email", "required": False},
                {"id": "phone", "label": "Phone", "type": "phone", "required": False},
                {
                    "id": "children",
                    "label": "Children",
                    "type": "number",
                    "required": True,
                    "min": 0,
                    "max": 20,
                    "integer": True,
                },
                {
                    "id": "status",
                    "label": "Status",
                    "type": "choice",
                    "required": True,
                    "options": ["single", "married"],
                },
                {"id": "consent", "label": "I agree", "type": "checkbox", "required": True},
            ],
        },
        {
            "title": "Documents",
            "fields": [
                {
                    "id": "payslips",
                    "label": "Payslips",
                    "type": "file",
                    "required": True,
                    "accept": [".pdf"],
                    "max_files": 3,
                    "max_bytes": 10_000_000,
                    "help": "PDF only",
                },
            ],
        },
    ],
}
GOOD = {
    "full_name": "Jürgen Müller",
    "notes": "",
    "born": "1980-02-29",
    "email": "j@example.org",
    "phone": "+49 30 1234567",
    "children": "2",
    "status": "married",
    "consent": True,
}
FILES = {"payslips": [{"item": 1, "name": "jan.pdf", "size": 1234, "type": "application/pdf"}]}
BAD = [  # (changes to the answers, changes to files, label named by the error)
    ({"full_name": ""}, {}, "Full name"),
    ({"full_name": "x" * 101}, {}, "Full name"),
    ({"born": "1980-02-30"}, {}, "Date of birth"),
    ({"born": "1899-12-31"}, {}, "Date of birth"),
    ({"email": "not-an-email"}, {}, "Email"),
    ({"phone": "12"}, {}, "Phone"),
    ({"children": "2.5"}, {}, "Children"),
    ({"children": "21"}, {}, "Children"),
    ({"status": "divorced"}, {}, "Status"),
    ({"consent": False}, {}, "I agree"),
    ({}, {"payslips": []}, "Payslips"),
    ({}, {"payslips": [{"item": 1, "name": "jan.exe", "size": 1, "type": ""}]}, "Payslips"),
    ({}, {"payslips": [{"item": 1, "name": "jan.pdf", "size": 10_000_001, "type": ""}]}, "Payslips"),
    ({}, {"payslips": [{"item": i, "name": f"{i}.pdf", "size": 1, "type": ""} for i in range(1, 5)]}, "Payslips"),
]


def main() -> None:
    rq.check_request(REQUEST)
    doc = rq.answers_document(REQUEST, GOOD, FILES, "2026-12-02T10:00:00Z")
    bad = []
    for answers, files, label in BAD:
        d = {**doc, "answers": {**GOOD, **answers}, "files": {**FILES, **files}}
        bad.append({"document": d, "field": label})
    out = {
        "requester_key": REQUEST["keys"][0],
        "signing_context": rq.SIGNING_CONTEXT.decode("ascii").replace("\x00", "\\0"),
        "request": REQUEST,
        "signed_bytes_sha256": hashlib.sha256(rq.signed_bytes(REQUEST)).hexdigest(),
        "signature": rq.sign(REQUEST, REQUESTER),
        "answers_good": doc,
        "answers_bad": bad,
    }
    (HERE / "requests.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
