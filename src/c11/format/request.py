"""Secure Document Request (F25): the signed request and the answers document (docs/sharing.md, "Document requests").

A request is a JSON object (its form: sections of typed fields with their rules, who asks, who answers, the
keys the answers are encrypted for: the requester's own, their organization's recovery keys, any group key; a
reader encrypts for these signed keys only). The requester signs it with the Ed25519 signing key of their published
key; the signed bytes are

    SIGNING_CONTEXT || canonical_json(request)      (sorted keys, no spaces, ASCII only, integers only)

so the recipient's page, given the requester's key from the registry (with its inclusion proof), can check
who asks and that nobody (the server included) changed the form or slipped a key into `keys`.

The answers are one JSON document (`answers_document`), protected as a `.c11` file; each uploaded file is its
own `.c11`. `check_answers` applies the form's rules (the browser applies the same ones, web/src/core/docrequest.ts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from c11.errors import BadSignatureError, FormatError
from c11.keys.publickey import PublicKey

SIGNING_CONTEXT = b"c11/v1 document request\x00"
REQUEST_VERSION = 1
ANSWERS_KIND = "c11-request-answers"
FIELD_TYPES = ("text", "multiline", "number", "date", "email", "phone", "choice", "checkbox", "file")
#: Bounds of a form (the server refuses bigger ones).
MAX_SECTIONS = 20
MAX_FIELDS = 100
MAX_TEXT = 200
MAX_MESSAGE = 4000
MAX_OPTIONS = 50
MAX_KEYS = 20
MAX_TEXT_ANSWER = 10_000
MAX_FILE_BYTES = 10 * 1024**3
MAX_FILES_PER_FIELD = 100
#: at most 48 KiB of canonical JSON: the request with its signature fits the server's 64 KiB body cap
MAX_REQUEST_BYTES = 48 * 1024
_ID = re.compile(r"[a-z0-9]{26}")
_FIELD_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_PHONE = re.compile(r"\+?[0-9 ().-]{5,30}")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_ACCEPT = re.compile(r"\.[a-z0-9]{1,10}")

#: Allowed members of a field per type (beyond id, label, type, required, help).
_RULES: dict[str, dict[str, type]] = {
    "text": {"min_length": int, "max_length": int},
    "multiline": {"min_length": int, "max_length": int},
    "number": {"min": int, "max": int, "integer": bool},
    "date": {"min": str, "max": str},
    "email": {},
    "phone": {},
    "choice": {"options": list, "multiple": bool},
    "checkbox": {},
    "file": {"accept": list, "max_files": int, "max_bytes": int},
}
_REQUEST_KEYS = {
    "v",
    "id",
    "name",
    "requester",
    "recipient_name",
    "recipient_email",
    "created_at",
    "expires_at",
    "message",
    "sections",
    "keys",
    "max_files",
    "max_bytes",
}


def canonical(obj: Any) -> bytes:
    """The one encoding: sorted keys, no spaces, ASCII only (floats refused)."""
    _integers_only(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _integers_only(obj: Any) -> None:
    if isinstance(obj, float):
        raise FormatError("a document request holds integers only, no fractions")
    if isinstance(obj, dict):
        for v in obj.values():
            _integers_only(v)
    elif isinstance(obj, list):
        for v in obj:
            _integers_only(v)


def signed_bytes(request: dict[str, Any]) -> bytes:
    """What the requester's Ed25519 key signs."""
    return SIGNING_CONTEXT + canonical(request)


def digest(request: dict[str, Any]) -> str:
    """SHA-256 (hex) of the signed bytes: names this exact request in its answers document."""
    return hashlib.sha256(signed_bytes(request)).hexdigest()


def sign(request: dict[str, Any], signer: Any) -> str:
    """Base64 Ed25519 signature of `request` by `signer` (a `c11.keys.identity.Identity`), after checking it."""
    check_request(request)
    if request["keys"][0] != signer.public.line():
        raise FormatError("the first of keys must be the signing key's public key line")
    return base64.b64encode(signer.sign(signed_bytes(request))).decode("ascii")


def verify(request: dict[str, Any], signature: str, key: PublicKey) -> None:
    """Check `signature` over `request` by `key` (the requester's registry key): BadSignatureError otherwise."""
    check_request(request)
    if key.sig is None:
        raise BadSignatureError("the requester's key has no signing key")
    if request["keys"][0] != key.line():
        raise BadSignatureError("the request names another key than the requester's published key")
    try:
        sig = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(key.sig).verify(sig, signed_bytes(request))
    except (InvalidSignature, binascii.Error, ValueError) as e:
        raise BadSignatureError("the request's signature does not verify with the requester's key") from e


def _text(d: dict[str, Any], key: str, limit: int, *, optional: bool = False, where: str = "request") -> None:
    v = d.get(key)
    if v is None and optional:
        return
    if not isinstance(v, str) or not v.strip() or len(v) > limit:
        raise FormatError(f"{where}: {key} must be text of 1 to {limit} characters")
    if any(ord(c) < 0x20 and c not in "\n\t" for c in v):
        raise FormatError(f"{where}: {key} holds control characters")


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise FormatError(f"{what} must be an integer from {lo} to {hi}")
    return v


def _check_field(f: Any, seen: set[str]) -> None:
    if not isinstance(f, dict):
        raise FormatError("a field must be an object")
    fid = f.get("id")
    if not isinstance(fid, str) or not _FIELD_ID.fullmatch(fid):
        raise FormatError("a field id is 1 to 40 of a-z, 0-9 and _, starting with a letter")
    if fid in seen:
        raise FormatError(f"field {fid}: the id is used twice")
    seen.add(fid)
    ftype = f.get("type")
    if ftype not in _RULES:
        raise FormatError(f"field {fid}: type must be one of {', '.join(FIELD_TYPES)}")
    rules = _RULES[ftype]
    extra = set(f) - {"id", "label", "type", "required", "help"} - set(rules)
    if extra:
        raise FormatError(f"field {fid}: unknown member {sorted(extra)[0]} for type {ftype}")
    _text(f, "label", MAX_TEXT, where=f"field {fid}")
    _text(f, "help", MAX_TEXT, optional=True, where=f"field {fid}")
    if not isinstance(f.get("required"), bool):
        raise FormatError(f"field {fid}: required must be true or false")
    for k, t in rules.items():
        if k in f and (not isinstance(f[k], t) or (t is int and isinstance(f[k], bool))):
            raise FormatError(f"field {fid}: {k} must be {t.__name__}")
    if ftype in ("text", "multiline"):
        top = MAX_TEXT_ANSWER
        lo, hi = _int(f.get("min_length", 0), 0, top, f"field {fid}: min_length"), f.get("max_length", top)
        if _int(hi, 1, top, f"field {fid}: max_length") < lo:
            raise FormatError(f"field {fid}: max_length is below min_length")
    elif ftype == "number" and "min" in f and "max" in f and f["max"] < f["min"]:
        raise FormatError(f"field {fid}: max is below min")
    elif ftype == "date":
        for k in ("min", "max"):
            if k in f:
                _date(f[k], f"field {fid}: {k}")
    elif ftype == "choice":
        opts = f.get("options")
        if not isinstance(opts, list) or not 1 <= len(opts) <= MAX_OPTIONS:
            raise FormatError(f"field {fid}: options must list 1 to {MAX_OPTIONS} choices")
        if not all(isinstance(o, str) and o.strip() and len(o) <= MAX_TEXT for o in opts) or len(set(opts)) != len(
            opts
        ):
            raise FormatError(f"field {fid}: options must be distinct short texts")
    elif ftype == "file":
        acc = f.get("accept", [])
        if not all(isinstance(a, str) and _ACCEPT.fullmatch(a) for a in acc):
            raise FormatError(f"field {fid}: accept lists file name extensions such as .pdf")
        _int(f.get("max_files", 1), 1, MAX_FILES_PER_FIELD, f"field {fid}: max_files")
        _int(f.get("max_bytes", MAX_FILE_BYTES), 1, MAX_FILE_BYTES, f"field {fid}: max_bytes")


def _date(v: Any, what: str) -> date:
    if not isinstance(v, str) or not _DATE.fullmatch(v):
        raise FormatError(f"{what} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(v)
    except ValueError as e:
        raise FormatError(f"{what} must be a date YYYY-MM-DD") from e


def check_sections(sections: Any) -> None:
    """The form alone (a template's body): sections of typed fields with valid rules."""
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise FormatError(f"a request has 1 to {MAX_SECTIONS} sections")
    seen: set[str] = set()
    for sec in sections:
        if not isinstance(sec, dict) or set(sec) - {"title", "fields"}:
            raise FormatError("a section is {title, fields}")
        _text(sec, "title", MAX_TEXT, where="section")
        fields = sec.get("fields")
        if not isinstance(fields, list) or not fields:
            raise FormatError("a section needs at least one field")
        for f in fields:
            _check_field(f, seen)
    if len(seen) > MAX_FIELDS:
        raise FormatError(f"a request has at most {MAX_FIELDS} fields")


def check_request(r: Any) -> None:
    """A well-formed request (FormatError with a one-line reason otherwise)."""
    if not isinstance(r, dict):
        raise FormatError("a document request is a JSON object")
    if set(r) != _REQUEST_KEYS:
        missing, extra = _REQUEST_KEYS - set(r), set(r) - _REQUEST_KEYS
        raise FormatError(f"document request: {'missing ' + min(missing) if missing else 'unknown ' + min(extra)}")
    if r["v"] != REQUEST_VERSION:
        raise FormatError(f"document request version {r['v']!r} is not supported")
    if not isinstance(r["id"], str) or not _ID.fullmatch(r["id"]):
        raise FormatError("a request id is 26 characters of a-z and 0-9")
    _text(r, "name", MAX_TEXT)
    _text(r, "recipient_name", MAX_TEXT)
    for k in ("requester", "recipient_email"):
        if not isinstance(r[k], str) or len(r[k]) > 320 or not _EMAIL.fullmatch(r[k]):
            raise FormatError(f"request: {k} must be an email address")
    if not isinstance(r["message"], str) or len(r["message"]) > MAX_MESSAGE:
        raise FormatError(f"request: message must be text of at most {MAX_MESSAGE} characters")
    for k in ("created_at", "expires_at"):
        if not isinstance(r[k], str) or not _TIME.fullmatch(r[k]):
            raise FormatError(f"request: {k} must be a UTC time like 2026-12-31T23:59:59Z")
    if r["expires_at"] <= r["created_at"]:
        raise FormatError("request: expires_at must be after created_at")
    keys = r["keys"]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS or not all(isinstance(k, str) for k in keys):
        raise FormatError(f"request: keys must list 1 to {MAX_KEYS} public key lines")
    if len({PublicKey.parse(k).fingerprint for k in keys}) != len(keys):
        raise FormatError("request: keys lists a key twice")
    _int(r["max_files"], 0, 1000, "request: max_files")
    _int(r["max_bytes"], 1, 100 * 1024**3, "request: max_bytes")
    check_sections(r["sections"])
    if len(canonical(r)) > MAX_REQUEST_BYTES:
        raise FormatError(f"a document request is at most {MAX_REQUEST_BYTES} bytes")


def fields(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field of the form, in order."""
    return [f for sec in request["sections"] for f in sec["fields"]]


def _answer_error(f: dict[str, Any], v: Any) -> str | None:
    """Why `v` is not a valid answer to field `f` (None when it is); an absent answer is None."""
    t = f["type"]
    if t == "checkbox":
        if not isinstance(v, bool):
            return "must be true or false"
        return "must be checked" if f["required"] and not v else None
    if t == "choice":
        vals = v if f.get("multiple") else [v]
        if not isinstance(vals, list) or not all(isinstance(x, str) and x in f["options"] for x in vals):
            return "must be one of the options"
        return "is required" if f["required"] and not vals else None
    if not isinstance(v, str):
        return "must be text"
    if v == "":
        return "is required" if f["required"] else None
    if t in ("text", "multiline"):
        if t == "text" and "\n" in v:
            return "must be one line"
        if len(v) < f.get("min_length", 0) or len(v) > f.get("max_length", MAX_TEXT_ANSWER):
            return f"must be {f.get('min_length', 0)} to {f.get('max_length', MAX_TEXT_ANSWER)} characters"
    elif t == "number":
        if not _NUMBER.fullmatch(v) or (f.get("integer") and "." in v):
            return "must be a whole number" if f.get("integer") else "must be a number"
        n = float(v)
        if ("min" in f and n < f["min"]) or ("max" in f and n > f["max"]):
            return f"must be from {f.get('min', '-∞')} to {f.get('max', '∞')}"
    elif t == "date":
        try:
            d = _date(v, "")
        except FormatError:
            return "must be a date YYYY-MM-DD"
        if ("min" in f and d < _date(f["min"], "")) or ("max" in f and d > _date(f["max"], "")):
            return f"must be between {f.get('min', 'any')} and {f.get('max', 'any')}"
    elif t == "email":
        if len(v) > 320 or not _EMAIL.fullmatch(v):
            return "must be an email address"
    elif t == "phone":
        if not _PHONE.fullmatch(v) or not 5 <= sum(c.isdigit() for c in v) <= 20:
            return "must be a phone number"
    return None


def check_answers(request: dict[str, Any], doc: Any) -> None:
    """An answers document that fits `request` and its rules (FormatError naming the first failing field)."""
    if not isinstance(doc, dict) or doc.get("kind") != ANSWERS_KIND or doc.get("v") != REQUEST_VERSION:
        raise FormatError("not a document request answers document")
    if doc.get("request") != request["id"] or doc.get("request_digest") != digest(request):
        raise FormatError("these answers are for another request (or another version of it)")
    answers, files = doc.get("answers"), doc.get("files")
    if not isinstance(answers, dict) or not isinstance(files, dict):
        raise FormatError("answers document: answers and files must be objects")
    by_id = {f["id"]: f for f in fields(request)}
    if set(answers) - set(by_id) or set(files) - set(by_id):
        raise FormatError("answers document: an answer to a field the request does not have")
    count = 0
    for fid, f in by_id.items():
        if f["type"] == "file":
            items = files.get(fid, [])
            if fid in answers or not isinstance(items, list):
                raise FormatError(f"{f['label']}: files are listed under files")
            if f["required"] and not items:
                raise FormatError(f"{f['label']}: is required")
            if len(items) > f.get("max_files", 1):
                raise FormatError(f"{f['label']}: at most {f.get('max_files', 1)} files")
            for it in items:
                _check_file_item(f, it)
            count += len(items)
            continue
        if fid in files:
            raise FormatError(f"{f['label']}: only file fields list files")
        v = answers.get(fid, False if f["type"] == "checkbox" else ([] if f.get("multiple") else ""))
        err = _answer_error(f, v)
        if err:
            raise FormatError(f"{f['label']}: {err}")
    if count > request["max_files"]:
        raise FormatError(f"at most {request['max_files']} files in all")


def _check_file_item(f: dict[str, Any], it: Any) -> None:
    if not isinstance(it, dict) or set(it) != {"item", "name", "size", "type"}:
        raise FormatError(f"{f['label']}: a file is {{item, name, size, type}}")
    name = it["name"]
    if not isinstance(name, str) or not name or len(name) > 255 or "/" in name or "\\" in name or name in (".", ".."):
        raise FormatError(f"{f['label']}: a file name must be a plain name")
    _int(it["item"], 1, 100_000, f"{f['label']}: item")
    _int(it["size"], 0, f.get("max_bytes", MAX_FILE_BYTES), f"{f['label']}: file size")
    accept = f.get("accept", [])
    if accept and not any(name.lower().endswith(a) for a in accept):
        raise FormatError(f"{f['label']}: {name!r} is not one of {', '.join(accept)}")


def answers_document(
    request: dict[str, Any], answers: dict[str, Any], files: dict[str, list[dict[str, Any]]], submitted_at: str
) -> dict[str, Any]:
    """The answers document for `request` (checked)."""
    doc = {
        "v": REQUEST_VERSION,
        "kind": ANSWERS_KIND,
        "request": request["id"],
        "request_digest": digest(request),
        "submitted_at": submitted_at,
        "answers": answers,
        "files": files,
    }
    check_answers(request, doc)
    return doc
