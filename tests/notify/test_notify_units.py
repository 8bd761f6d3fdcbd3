"""Templates, branding, certificates and their expiry alerts, diagnosis texts, configuration."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest

from c11.errors import ConfigError, NotifyError
from c11.notify.branding import Branding, branding_from_env
from c11.notify.config import load_notify_config, store_values
from c11.notify.diagnose import (
    GraphContext,
    explain_graph_error,
    explain_smtp_error,
    explain_token_error,
    parse_retry_after,
)
from c11.notify.graph_certificate import CertificateStore
from c11.notify.render import KINDS, build_message, parts, render

BRAND = Branding(base_url="https://c11.example.com", product_name="Acme Protect", primary_color="#123456")

CONTEXTS = {
    "email_verification": dict(link=BRAND.link("/verify?t=abc"), expires_hours=48),
    "password_reset": dict(link=BRAND.link("/reset?t=abc"), expires_minutes=60, server=BRAND.base_url),
    "invitation": dict(inviter="Alice", link=BRAND.link("/invite/1"), organization="Acme"),
    "document_shared": dict(sender="Alice", link=BRAND.link("/d/1")),
    "document_request": dict(requester="Bob", link=BRAND.link("/r/1"), note="Your 2025 <tax> forms", due="1 Dec"),
    "upload_received": dict(uploader="Carol", link=BRAND.link("/u/1"), count=3),
    "access_revoked": dict(owner="Alice"),
    "admin_alert": dict(title="Certificate expires", detail="Soon.\n\nRotate it.", link=BRAND.link("/admin")),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_text_and_html_with_branding(kind):
    r = render(kind, to="Bob <bob@example.org>", brand=BRAND, **CONTEXTS[kind])
    assert r.to == "bob@example.org" and r.subject and "\n" not in r.subject
    assert "Acme Protect" in r.text and "Acme Protect" in r.html and "#123456" in r.html
    assert BRAND.footer in r.text and r.html.lstrip().startswith("<!DOCTYPE html>")
    link = CONTEXTS[kind].get("link")
    if link:
        assert link in r.text and f'href="{link}"' in r.html
    msg = build_message(r, "Acme <no-reply@acme.example>")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    assert text.strip() == r.text.strip() and html is not None
    assert msg["X-C11-Kind"] == kind and msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].endswith("@acme.example>")


def test_html_escapes_user_text_and_subject_is_single_line():
    r = render(
        "document_request",
        to="x@example.org",
        brand=BRAND,
        requester="Eve\r\nBcc: all@example.org",
        link=BRAND.link("/r/1"),
        note="<script>alert(1)</script>",
    )
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html
    assert "\n" not in r.subject and "\r" not in r.subject
    build_message(r, "a@b.example")  # header injection impossible: subject was flattened


def test_messages_carry_links_never_documents_or_foreign_links():
    with pytest.raises(NotifyError, match="binary"):
        render("document_shared", to="x@example.org", brand=BRAND, sender=b"%PDF-1.7", link=BRAND.link("/d"))
    with pytest.raises(NotifyError, match="characters long"):
        render(
            "document_request", to="x@example.org", brand=BRAND, requester="B", link=BRAND.link("/r"), note="A" * 5000
        )
    with pytest.raises(NotifyError, match="does not point at this server"):
        render("document_shared", to="x@example.org", brand=BRAND, sender="A", link="https://evil.example/d")
    with pytest.raises(NotifyError, match="missing link"):
        render("document_shared", to="x@example.org", brand=BRAND, sender="A")
    with pytest.raises(NotifyError, match="unexpected attachment"):
        render("document_shared", to="x@example.org", brand=BRAND, sender="A", link=BRAND.link("/d"), attachment="x")
    with pytest.raises(NotifyError, match="unknown notification kind"):
        render("nope", to="x@example.org", brand=BRAND)


def test_branding_from_env():
    b = branding_from_env("https://x.example/", {"C11_BRAND_PRODUCT_NAME": "Vault"})
    assert b.product_name == "Vault" and b.base_url == "https://x.example" and b.link("/a") == "https://x.example/a"


def test_certificate_store_rotation_and_alerts(tmp_path):
    store = CertificateStore(tmp_path)
    now = datetime.now(UTC)
    old = store.create(days=40, now=now - timedelta(days=20))  # 20 days left
    assert store.active().sha1_thumbprint == old.sha1_thumbprint
    assert (store.folder.stat().st_mode & 0o777) == 0o700
    assert (old.key_path.stat().st_mode & 0o777) == 0o600
    assert len(old.sha1_thumbprint) == 40 and len(old.sha256_thumbprint) == 64
    key = old.cert.public_key()
    assert key.key_size == 2048
    [alert] = store.due_alerts()
    assert alert.thumbprint == old.sha1_thumbprint and "expires in" in alert.title
    assert "certificate create" in alert.detail
    store.mark_alerted(alert.thumbprint)
    assert store.due_alerts() == []  # once per certificate
    new = store.create()
    assert [c.sha1_thumbprint for c in store.live()] == [new.sha1_thumbprint, old.sha1_thumbprint]
    assert store.due_alerts(now + timedelta(days=25)) == []  # the newer one lives long: no alert
    assert [c.sha1_thumbprint for c in store.live(now + timedelta(days=25))] == [new.sha1_thumbprint]
    assert store.prune_expired(now + timedelta(days=25)) == 1
    assert len(store.all()) == 1
    der = new.export(tmp_path / "x.cer").read_bytes()
    assert der[0] == 0x30  # DER SEQUENCE
    assert new.export(tmp_path / "x.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_no_certificate_is_a_clear_error(tmp_path):
    with pytest.raises(NotifyError, match="certificate create"):
        CertificateStore(tmp_path).active()


CTX = GraphContext(sender="n@contoso.example", tenant_id="t-id", client_id="c-id")


@pytest.mark.parametrize(
    ("code", "text", "needle"),
    [
        (90002, "Tenant 't-id' not found.", "C11_GRAPH_TENANT_ID"),
        (700016, "Application with identifier 'c-id' was not found in the directory", "C11_GRAPH_CLIENT_ID"),
        (
            700027,
            "The certificate ... is not registered on application. [Reason - The key was not found.]",
            "not uploaded",
        ),
        (700027, "Client assertion contains an invalid signature. [Reason - The key used is expired.]", "has expired"),
        (7000274, "Client assertion contains an invalid signature.", "Upload the current certificate"),
        (700024, "Client assertion is not within its valid time range.", "clock"),
        (70011, "The provided value for the input parameter 'scope' is not valid.", "C11_GRAPH_API_HOST"),
        (500011, "The resource principal named x was not found", "C11_GRAPH_API_HOST"),
        (7000215, "Invalid client secret provided.", "certificate"),
    ],
)
def test_token_error_explanations(code, text, needle):
    d = explain_token_error(
        {"error": "invalid_client", "error_description": f"AADSTS{code}: {text} Trace ID: x", "error_codes": [code]},
        CTX,
    )
    assert needle in d.explanation and d.summary.startswith(f"AADSTS{code}") and "Trace ID" not in d.summary
    assert d.transient == (code == 700024)


def test_graph_error_explanations():
    raop = {
        "error": {
            "code": "ErrorAccessDenied",
            "message": "Access to OData is disabled: [RAOP] : Blocked by "
            "tenant configured AppOnly AccessPolicy settings.",
        }
    }
    d = explain_graph_error(403, raop, CTX, roles=["Mail.Send"])
    assert "must be a member of the mail-enabled security group" in d.explanation and "hour" in d.explanation
    plain = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}}
    assert "Grant admin consent" in explain_graph_error(403, plain, CTX, roles=[]).explanation
    both = explain_graph_error(403, plain, CTX, roles=["Mail.Send"]).explanation
    assert "Mail.Send" in both and "Test-ApplicationAccessPolicy" in both
    t = explain_graph_error(429, {"error": {"code": "ApplicationThrottled"}}, CTX, retry_after=12)
    assert t.transient and t.retry_after == 12 and "12 s" in t.explanation
    assert explain_graph_error(503, None, CTX).transient
    assert not explain_graph_error(401, None, CTX).transient
    assert "licence" in explain_graph_error(404, {"error": {"code": "ErrorInvalidUser"}}, CTX).explanation
    bad = explain_graph_error(400, {"error": {"code": "ErrorInvalidRecipients", "message": "x"}}, CTX)
    assert not bad.transient and not bad.config


def test_smtp_error_mapping():
    assert explain_smtp_error(smtplib.SMTPDataError(451, b"later")).transient
    assert not explain_smtp_error(smtplib.SMTPDataError(554, b"no")).transient
    assert not explain_smtp_error(smtplib.SMTPAuthenticationError(535, b"bad")).transient
    assert explain_smtp_error(ConnectionRefusedError(111, "refused")).transient
    r = explain_smtp_error(smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}))
    assert r.transient and not r.config
    assert not explain_smtp_error(smtplib.SMTPRecipientsRefused({"a@x": (550, b"unknown")})).transient


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 50 <= parse_retry_after(later) <= 61  # type: ignore[operator]
    assert parse_retry_after("soon", 3.0) == 3.0


def test_config_sources_and_names(tmp_path):
    toml = tmp_path / "c11.toml"
    toml.write_text(
        'mail_transport = "smtp"\nsmtp_host = "mail.example"\nsmtp_security = "tls"\n'
        'graph_login_host = "login.microsoftonline.us"\n'
    )
    cfg = load_notify_config(
        env={
            "C11_CONFIG_FILE": str(toml),
            "C11_DATA_DIR": str(tmp_path),
            "C11_SMTP_USERNAME": "u",
            "C11_SMTP_PASSWORD": "hunter2-secret",
        }
    )
    assert (cfg.mail_transport, cfg.smtp_host, cfg.smtp_security, cfg.port) == ("smtp", "mail.example", "tls", 465)
    assert cfg.graph_login_host == "login.microsoftonline.us" and cfg.graph_api_host == "graph.microsoft.com"
    assert cfg.public()["smtp_password"] == "********" and "hunter2" not in repr(cfg)
    # environment beats the TOML file, which beats values stored by `c11 notify graph configure`
    store_values(tmp_path, {"mail_transport": "graph", "graph_sender": "a@b.example"})
    cfg = load_notify_config(env={"C11_CONFIG_FILE": str(toml), "C11_DATA_DIR": str(tmp_path), "C11_SMTP_PORT": "2525"})
    assert cfg.mail_transport == "smtp" and cfg.graph_sender == "a@b.example" and cfg.port == 2525
    assert (tmp_path / "notify.json").stat().st_mode & 0o777 == 0o600
    for bad in (
        {"C11_MAIL_TRANSPORT": "pigeon"},
        {"C11_SMTP_SECURITY": "ssl"},
        {"C11_SMTP_PORT": "x"},
        {"C11_GRAPH_CA_BUNDLE": str(tmp_path / "missing.pem")},
    ):
        with pytest.raises(ConfigError):
            load_notify_config(env={"C11_DATA_DIR": str(tmp_path), **bad})


def test_identity_platform_outage_is_transient():
    d = explain_token_error({"error": "temporarily_unavailable", "error_description": "AADSTS50196: busy"}, CTX)
    assert d.transient and not d.config
