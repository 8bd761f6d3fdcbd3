"""Client side of Secure Document Request (docs/sharing.md, "Document requests"): make a signed request,
list, show, cancel, and download the answers (decrypted here, with your key); reusable templates.

    with Client.from_environment() as c:
        made = c.doc_requests.create(me, name="Tax 2026", to="bob@example.org", recipient_name="Bob",
                                     sections=[{"title": "Files", "fields": [...]}], expires_days=14)
        ...
        c.doc_requests.download(made["id"], me, Path("answers"))   # answers.json + the files
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from c11 import files
from c11.client._http import HttpCore, _error
from c11.client.registry import RegistryAPI
from c11.errors import BadSignatureError, FormatError, OutputExistsError, UsageError
from c11.format import request as rq
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

#: The answers document in the download folder.
ANSWERS_FILE = "answers.json"


def new_request_id() -> str:
    """26 characters of a-z0-9 (130 random bits)."""
    return base64.b32encode(os.urandom(17)).decode("ascii").lower()[:26].replace("=", "a")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Downloaded:
    """What `download` wrote: the answers document and each file, with who the recipient's browser key was."""

    folder: Path
    answers: dict[str, Any]
    files: list[Path]
    sender_key: str


def _safe_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^\w.\- ]", "_", name).strip(" .") or "file"
    base = base[:120]
    out, i = base, 1
    while out.lower() in used or out.lower() == ANSWERS_FILE:
        stem, dot, ext = base.rpartition(".")
        out = f"{stem or base} ({i}){dot}{ext}" if stem else f"{base} ({i})"
        i += 1
    used.add(out.lower())
    return out


class RequestsAPI:
    """The /api/v1/requests and /api/v1/request-templates routes."""

    def __init__(self, core: HttpCore, registry: RegistryAPI) -> None:
        self._core = core
        self._registry = registry

    # -- requests --

    def build(
        self,
        identity: Identity,
        *,
        requester: str,
        name: str,
        to: str,
        recipient_name: str,
        sections: list[dict[str, Any]],
        message: str = "",
        expires_days: int = 14,
        max_files: int = 20,
        max_bytes: int = 1024**3,
        extra_keys: Sequence[PublicKey] = (),
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """The request document (checked, not yet signed)."""
        now = _now()
        keys = [identity.public.line()]
        for k in extra_keys:
            if k.line() not in keys:
                keys.append(k.line())
        r = {
            "v": rq.REQUEST_VERSION,
            "id": request_id or new_request_id(),
            "name": name,
            "requester": requester.strip().lower(),
            "recipient_name": recipient_name,
            "recipient_email": to.strip().lower(),
            "created_at": _time(now),
            "expires_at": _time(now + timedelta(days=expires_days)),
            "message": message,
            "sections": sections,
            "keys": keys,
            "max_files": max_files,
            "max_bytes": max_bytes,
        }
        rq.check_request(r)
        return r

    def submit(self, request: dict[str, Any], identity: Identity, template_id: str | None = None) -> dict[str, Any]:
        """Sign `request` with `identity` (your published key) and store it; the server emails the link."""
        body = {"request": request, "signature": rq.sign(request, identity), "template_id": template_id}
        return dict(self._core.request("POST", "/api/v1/requests", body))

    def list(self) -> builtins.list[dict[str, Any]]:
        return list(self._core.request("GET", "/api/v1/requests")["requests"])

    def show(self, request_id: str) -> dict[str, Any]:
        return dict(self._core.request("GET", f"/api/v1/requests/{request_id}"))

    def cancel(self, request_id: str) -> dict[str, Any]:
        return dict(self._core.request("POST", f"/api/v1/requests/{request_id}/cancel"))

    def _item_bytes(self, request_id: str, n: int, limit: int) -> bytes:
        headers = {"authorization": f"Bearer {self._core.token}"} if self._core.token else {}
        buf = io.BytesIO()
        with self._core._http.stream("GET", f"/api/v1/requests/{request_id}/items/{n}", headers=headers) as r:
            if not r.is_success:
                r.read()
                raise _error(r, self._core.server)
            for chunk in r.iter_bytes():
                if buf.tell() + len(chunk) > limit:
                    raise FormatError(f"item {n} is larger than announced")
                buf.write(chunk)
        return buf.getvalue()

    def download(self, request_id: str, identity: Identity, out: Path, *, force: bool = False) -> Downloaded:
        """Fetch and decrypt the answers and files of a submitted request into folder `out`.

        Checks: the request is the one you signed; the answers fit its form; every file is signed by the same
        browser key as the answers and is the one the answers list (name and size)."""
        d = self.show(request_id)
        if d["status"] not in ("submitted", "downloaded"):
            raise UsageError(f"request {request_id} is {d['status']}: nothing to download yet")
        request = d["request"]
        rq.verify(request, d["signature"], identity.public)
        if out.exists() and any(out.iterdir()) and not force:
            raise OutputExistsError(f"{out} is not empty (use --force to write into it)")
        items = {i["n"]: i for i in d["items"]}
        if 0 not in items:
            raise FormatError("the request has no answers document")
        res = files.decrypt_bytes(self._item_bytes(request_id, 0, items[0]["size"]), [identity])
        try:
            doc = json.loads((res.plaintext or b"").decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FormatError("the answers document is not JSON") from e
        rq.check_answers(request, doc)
        sender = res.info.sender_key
        listed = {it["item"]: it for its in doc["files"].values() for it in its}
        if set(listed) != set(items) - {0}:
            raise FormatError("the uploaded files are not the ones the answers list")
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        used: set[str] = set()
        for n in sorted(listed):
            got = files.decrypt_bytes(self._item_bytes(request_id, n, items[n]["size"]), [identity])
            plain = got.plaintext or b""
            if got.info.sender_key != sender:
                raise BadSignatureError(f"file {n} was not signed by the key that signed the answers")
            if len(plain) != listed[n]["size"]:
                raise FormatError(f"file {n} is not the size the answers give")
            path = out / _safe_name(listed[n]["name"], used)
            path.write_bytes(plain)
            listed[n]["saved_as"] = path.name
            written.append(path)
        (out / ANSWERS_FILE).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self._core.request("POST", f"/api/v1/requests/{request_id}/downloaded")
        return Downloaded(out, doc, written, sender)

    # -- templates --

    def templates(self) -> builtins.list[dict[str, Any]]:
        return list(self._core.request("GET", "/api/v1/request-templates")["templates"])

    def template(self, name_or_id: str) -> dict[str, Any]:
        """A template by ID or by name (yours first, then your organization's)."""
        found = [t for t in self.templates() if name_or_id in (t["id"], t["name"])]
        if not found:
            raise UsageError(f"no request template {name_or_id!r} (c11 request templates list)")
        found.sort(key=lambda t: bool(t["shared"]))
        return dict(found[0])

    def save_template(self, body: dict[str, Any], template_id: str | None = None) -> dict[str, Any]:
        if template_id:
            return dict(self._core.request("PUT", f"/api/v1/request-templates/{template_id}", body))
        return dict(self._core.request("POST", "/api/v1/request-templates", body))

    def delete_template(self, template_id: str) -> None:
        self._core.request("DELETE", f"/api/v1/request-templates/{template_id}")
