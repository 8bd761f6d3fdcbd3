"""Detectors as tables: what each must find, and look-alikes it must not (the false positives that make a scan
report useless: order numbers, dates, version strings, documentation placeholders, asset names)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from c11.errors import UsageError
from c11.protector.detect import DetectRules, classify, load_rules

# -- find: (detector, kind, text containing exactly one match, the match) --------------------------------
FIND = [
    ("email", "email", "write to jane.doe+hr@example.co.uk today", "jane.doe+hr@example.co.uk"),
    ("payment_card", "visa", "card: 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
    ("payment_card", "mastercard", "MC 5555-5555-5555-4444.", "5555-5555-5555-4444"),
    ("payment_card", "amex", "amex 378282246310005", "378282246310005"),
    ("payment_card", "mastercard", "new range 2223003122003222", "2223003122003222"),
    ("iban", "iban", "IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
    ("iban", "iban", "pay to GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("us_ssn", "us_ssn", "SSN: 536-22-8726", "536-22-8726"),
    ("national_id", "es_dni", "DNI 54362315K", "54362315K"),
    ("national_id", "it_cf", "CF RCCMNL83S18D969H", "RCCMNL83S18D969H"),
    ("national_id", "fr_nir", "NIR 2 95 10 99 126 111 93", "2 95 10 99 126 111 93"),
    ("national_id", "br_cpf", "CPF 390.533.447-05", "390.533.447-05"),
    ("phone", "phone", "call +44 20 7946 0958 now", "+44 20 7946 0958"),
    ("phone", "phone", "office (415) 555-2671", "(415) 555-2671"),
    ("aws_key", "access_key_id", "key=AKIAJ3XQ7BZ5KL2MNOPQ ", "AKIAJ3XQ7BZ5KL2MNOPQ"),
    (
        "aws_key",
        "secret_access_key",
        "aws_secret_access_key = Zx9qL3mN8pR2sT5vW7yB1cD4fG6hJ0kE2aQ8uI3o",
        "Zx9qL3mN8pR2sT5vW7yB1cD4fG6hJ0kE2aQ8uI3o",
    ),
    (
        "github_token",
        "ghp",
        "token ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wp7Vo6Un5Tm4Sl x",
        "ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wp7Vo6Un5Tm4Sl",
    ),
    (
        "slack_token",
        "xoxb",
        "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    ("api_token", "stripe", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc9x", "sk_live_4eC39HqLyjWDarjtT1zdp7dc9x"),
    ("api_token", "assigned", 'api_key: "q8Fz2LmW9xPc4RtY7vBn3KsJ6hDg1AeU"', "q8Fz2LmW9xPc4RtY7vBn3KsJ6hDg1AeU"),
]

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBVbm9BbGxJc1JhbmRvbUhlcmVCdXRJdExvb2tzTGlrZUFLZXkAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)

# -- must not find: (detector, text) ----------------------------------------------------------------------
NOT_FOUND = [
    ("email", "logo@2x.png and icon@3x.webp"),
    ("email", "user@localhost, not@an_address"),
    ("payment_card", "order 4111 1111 1111 1112 (Luhn fails)"),
    ("payment_card", "tracking 1234567812345670 (Luhn ok, no issuer starts with 1)"),
    ("payment_card", "4111 1111-1111 1111 mixed separators"),
    ("payment_card", "0000 0000 0000 0000"),
    ("iban", "DE89 3704 0044 0532 0130 01 (check digits wrong)"),
    ("iban", "ISBN AB12 3456 7890 1234"),
    ("us_ssn", "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000"),
    ("us_ssn", "078-05-1120 (the Woolworth wallet card)"),
    ("us_ssn", "date 2024-01-15, phone-ish 555-12-34567, 123456789"),
    ("national_id", "order 12345678A (wrong letter) and CPF 111.111.111-11"),
    ("phone", "version 1.2.3.4, date 2024-01-15, ISBN 978-3-16-148410-0, total 1 234 567"),
    ("phone", "+1 555 0100 000 (no such US number)"),
    ("aws_key", "the docs use AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("api_token", "api_key = your_api_key_here_xxxxxxxxx"),
    ("api_token", "token: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("private_key", "this page explains -----BEGIN PRIVATE KEY----- headers in prose -----END PRIVATE KEY-----"),
]


def _all_on() -> DetectRules:
    from c11.protector.detect import DETECTORS, DetectorRule

    return DetectRules(detectors={d: DetectorRule() for d in DETECTORS})


@pytest.mark.parametrize(
    ("detector", "kind", "text", "match"), FIND, ids=[f"{f[0]}-{f[1]}-{i}" for i, f in enumerate(FIND)]
)
def test_finds(detector: str, kind: str, text: str, match: str) -> None:
    found = [m for m in classify("note.txt", text.encode(), _all_on()).matches if m.detector == detector]
    assert [(m.kind, m.text) for m in found] == [(kind, match)]
    assert text[found[0].start : found[0].end] == match


@pytest.mark.parametrize(("detector", "text"), NOT_FOUND, ids=[f"{f[0]}-{i}" for i, f in enumerate(NOT_FOUND)])
def test_does_not_find(detector: str, text: str) -> None:
    found = [m for m in classify("note.txt", text.encode(), _all_on()).matches if m.detector == detector]
    assert found == [], [(m.kind, m.masked()) for m in found]


def test_private_key_and_masking() -> None:
    f = classify("deploy/notes.md", ("key:\n" + PEM).encode())
    assert f.detectors == ("private_key",) and f.matches[0].kind == "openssh"
    assert f.matches[0].masked() == "[openssh private key]"
    card = classify("a.csv", b"name,card\nJo,4111 1111 1111 1111\n").matches[0]
    assert card.masked() == "visa ****1111" and "4111" not in repr(card)
    # the keyed hash: the same number written differently is the same value; another key gives another hash
    other = classify("b.txt", b"4111-1111-1111-1111").matches[0]
    assert card.fingerprint(b"k" * 32) == other.fingerprint(b"k" * 32) != card.fingerprint(b"j" * 32)


def test_rules(tmp_path: Path) -> None:
    text = b"a@example.com b@example.com, ref PRJ-ABCD-1234"
    assert classify("x.txt", text).counts == {"email": 2}
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        """
[detect]
skip = ["*.bak"]
[detect.detectors.email]
threshold = 3
[detect.detectors.phone]
enabled = true
[[detect.custom]]
name = "project_code"
pattern = 'PRJ-[A-Z]{4}-\\d{4}'
[[detect.names]]
name = "database_dump"
patterns = ["*.sql", "*.dump"]
min_size = 10
[[rules]]
name = "left to the protection rules' reader"
action = "report"
"""
    )
    rules = load_rules(rules_file)
    f = classify("x.txt", text, rules)
    assert f.counts == {"project_code": 1} and f.texts == ("PRJ-ABCD-1234",)
    assert classify("db/prod.sql", b"-- a dump of the database", rules).detectors == ("database_dump",)
    assert classify("db/tiny.sql", b"--", rules).detectors == ()
    assert classify("x.bak", text, rules).skipped == "skip pattern"
    assert classify("id_ed25519", b"").detectors == ("key_file",)
    json_file = tmp_path / "rules.json"
    json_file.write_text(json.dumps({"detect": {"detectors": {"email": {"enabled": False}}}}))
    assert classify("x.txt", text, load_rules(json_file)).counts == {}
    for bad, msg in [
        ("[detect.detectors.nope]\nthreshold = 1", "unknown detector"),
        ("[detect.detectors.email]\nthreshold = 0", "whole number"),
        ("[[detect.custom]]\nname = 'x'\npattern = '('", "bad regular expression"),
        ("[[detect.custom]]\nname = 'email'\npattern = 'x'", "built-in"),
        ("[detect]\ncolour = 1", "unknown key"),
        ("[detect", "not valid TOML"),
    ]:
        rules_file.write_text(bad)
        with pytest.raises(UsageError, match=msg):
            load_rules(rules_file)


def test_documents() -> None:
    """Text is read from docx (paragraphs, headers), xlsx (shared strings, numbers), pdf and json."""
    import docx
    import openpyxl
    from reportlab.pdfgen import canvas

    d = docx.Document()
    d.add_paragraph("Employee SSN 536-22-8726")
    d.sections[0].header.paragraphs[0].text = "contact hr@example.org"
    buf = io.BytesIO()
    d.save(buf)
    assert classify("hr/staff.docx", buf.getvalue()).counts == {"email": 1, "us_ssn": 1}

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "iban", "card"])
    ws.append(["Jo", "GB82WEST12345698765432", 4111111111111111])
    buf = io.BytesIO()
    wb.save(buf)
    f = classify("pay.xlsx", buf.getvalue())
    assert f.counts == {"iban": 1, "payment_card": 1} and f.kind == "xlsx"

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "Card 5555 5555 5555 4444")
    c.save()
    assert classify("scan.pdf", buf.getvalue()).counts == {"payment_card": 1}

    assert classify("c.json", json.dumps({"ssn": "536-22-8726"}).encode()).counts == {"us_ssn": 1}
    damaged = classify("broken.docx", b"PK\x03\x04 not really a zip")
    assert damaged.skipped and damaged.skipped.startswith("unreadable") and not damaged
    assert classify("photo.jpg", b"\xff\xd8\xff\x00" + b"536-22-8726").kind == "binary"
    big = classify("big.txt", b"536-22-8726 " * 10, DetectRules(max_size=50))
    assert big.skipped == "too large" and not big.matches
