"""Render notifications from Jinja2 templates (plain text + HTML) and build the RFC 5322 message.

    r = render("document_shared", to="bob@example.com", brand=brand, sender="Alice", link=brand.link("/d/abc"))
    msg = build_message(r, sender="c11 <no-reply@example.com>")   # multipart/alternative

Messages carry links, never a document or a secret: context values must be short text or numbers,
links must point at the server's base URL, and bytes are refused outright.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

from c11.errors import NotifyError
from c11.notify.branding import Branding

TEMPLATES = Path(__file__).parent / "templates"

#: Longest text value a template accepts (a note or a name, never a document).
MAX_VALUE_CHARS = 2000


@dataclass(frozen=True)
class Kind:
    """One kind of notification: its subject (a Jinja2 string) and the context it needs."""

    subject: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "email_verification": Kind("Confirm your email address for {{ brand.product_name }}", ("link", "expires_hours")),
    "password_reset": Kind("Reset your {{ brand.product_name }} password", ("link", "expires_minutes", "server")),
    "invitation": Kind(
        "{{ inviter }} invites you to {{ brand.product_name }}",
        ("inviter", "link"),
        ("organization", "signup_command", "expires", "shard_stores"),
    ),
    "document_shared": Kind("{{ sender }} shared a protected document with you", ("sender", "link")),
    "document_request": Kind(
        "{{ requester }} asks you to upload documents securely", ("requester", "link"), ("note", "due")
    ),
    "upload_received": Kind("{{ uploader }} uploaded documents to your request", ("uploader", "link"), ("count",)),
    "access_revoked": Kind("{{ owner }} revoked your access to a protected document", ("owner",), ("link",)),
    "admin_alert": Kind("[{{ brand.product_name }} admin] {{ title }}", ("title", "detail"), ("link", "severity")),
}


@dataclass(frozen=True)
class Rendered:
    """A notification ready for the outbox: what to store and later send."""

    kind: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _check_value(kind: str, key: str, value: Any, brand: Branding) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise NotifyError(f"{kind}: {key} is binary data; notifications carry links, never documents")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if value is None or isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        raise NotifyError(f"{kind}: {key} must be text or a number, not {type(value).__name__}")
    if len(value) > MAX_VALUE_CHARS:
        raise NotifyError(f"{kind}: {key} is {len(value)} characters long; notifications carry links, not content")
    if (
        key == "link"
        and value
        and not value.startswith(brand.base_url.rstrip("/") + "/")
        and value != brand.base_url.rstrip("/")
    ):
        raise NotifyError(f"{kind}: link {value!r} does not point at this server ({brand.base_url})")
    return value


def render(kind: str, *, to: str, brand: Branding, **context: Any) -> Rendered:
    """Render notification `kind` for recipient `to` with `context` (see `KINDS` for what each needs)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise NotifyError(f"unknown notification kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    missing = [k for k in spec.required if context.get(k) in (None, "")]
    if missing:
        raise NotifyError(f"{kind}: missing {', '.join(missing)}")
    unknown = set(context) - set(spec.required) - set(spec.optional)
    if unknown:
        raise NotifyError(f"{kind}: unexpected {', '.join(sorted(unknown))}")
    _, addr = parseaddr(to)
    if "@" not in addr:
        raise NotifyError(f"not an email address: {to!r}")
    values: dict[str, object] = {k: None for k in spec.optional}
    values.update({k: _check_value(kind, k, v, brand) for k, v in context.items()})
    if kind == "upload_received" and values.get("count") is None:
        values["count"] = 1
    values.update(brand=brand, to=addr)
    env = _env()
    subject = " ".join(env.from_string(spec.subject).render(**values).split())[:900]
    values["subject"] = subject
    text = env.get_template(f"{kind}.txt.j2").render(**values)
    html = env.get_template(f"{kind}.html.j2").render(**values)
    return Rendered(kind=kind, to=addr, subject=subject, text=_tidy(text), html=html)


def _tidy(text: str) -> str:
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"


def build_message(
    r: Rendered,
    sender: str,
    *,
    message_id: str | None = None,
    date: datetime | None = None,
    domain: str | None = None,
) -> EmailMessage:
    """The multipart/alternative RFC 5322 message (text first, then HTML) for a rendered notification."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = r.to
    msg["Subject"] = r.subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    host = domain or (parseaddr(sender)[1].rpartition("@")[2] or "c11.local")
    msg["Message-ID"] = make_msgid(idstring=message_id or uuid.uuid4().hex, domain=host)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-C11-Kind"] = r.kind
    for k, v in r.headers.items():
        msg[k] = v
    msg.set_content(r.text)
    if r.html:
        msg.add_alternative(r.html, subtype="html")
    return msg


def parts(msg: EmailMessage) -> tuple[str, str | None]:
    """The plain text and HTML bodies of a message built by `build_message` (HTML may be None)."""
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else None
    return text, html


def recipients(msg: EmailMessage) -> list[str]:
    """Every address in To, Cc and Bcc."""
    out: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        for value in msg.get_all(header, []):
            for a in getattr(value, "addresses", ()):
                if isinstance(a, Address) and a.addr_spec:
                    out.append(a.addr_spec)
    return out
