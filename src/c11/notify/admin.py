"""Operating notifications: status, test message, Graph set-up values, certificates, retries.

One implementation for the two ways an admin reaches them: `c11 notify ...` on the server's data
directory, and the admin API (`/api/v1/org/notifications`, permission crud:config-org).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from c11.errors import NotifyError, PermanentDeliveryError, UsageError
from c11.notify.config import NotifyConfig

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def transport_info(cfg: NotifyConfig) -> dict[str, Any]:
    """The transport in use and its non-secret settings (never a password or private key)."""
    info: dict[str, Any] = {"name": cfg.mail_transport}
    if cfg.mail_transport == "smtp":
        info.update(
            host=cfg.smtp_host,
            port=cfg.port,
            security=cfg.smtp_security,
            login=bool(cfg.smtp_username),
            sender=cfg.mail_from,
        )
    elif cfg.mail_transport == "graph":
        from c11.notify.graph_certificate import CertificateStore

        info.update(
            sender=cfg.graph_sender,
            tenant_id=cfg.graph_tenant_id,
            client_id=cfg.graph_client_id,
            login_host=cfg.graph_login_host,
            api_host=cfg.graph_api_host,
            certificates=[c.info() for c in CertificateStore(cfg.data_dir).live()],
        )
    else:
        info.update(folder=str(cfg.outbox_dir), sender=cfg.mail_from)
    return info


def status(cfg: NotifyConfig, engine: Engine, limit: int = 20) -> dict[str, Any]:
    """{"counts", "transport", "messages"}: queue counts, the transport, and waiting or dead messages."""
    from c11.notify import outbox as ob

    return {
        "counts": ob.counts(engine),
        "transport": transport_info(cfg),
        "messages": [r.public() for r in ob.rows(engine, limit=limit)],
    }


#: How the three values are named in messages: API field names (the CLI passes its option names).
FIELD_NAMES = {"sender": "sender", "tenant_id": "tenant_id", "client_id": "client_id"}


def check_graph_values(sender: str, tenant_id: str, client_id: str, names: dict[str, str] = FIELD_NAMES) -> None:
    """UsageError naming the value that is not what the customer's admin should have handed over."""
    if not _EMAIL.match(sender):
        raise UsageError(f"{names['sender']} must be an email address, not {sender!r}")
    if not (_GUID.match(tenant_id) or _DOMAIN.match(tenant_id)):
        raise UsageError(
            f"{names['tenant_id']} must be the directory (tenant) ID GUID or the tenant's domain, not {tenant_id!r}"
        )
    if not _GUID.match(client_id):
        raise UsageError(f"{names['client_id']} must be the application (client) ID, a GUID, not {client_id!r}")


def configure_graph(
    cfg: NotifyConfig,
    sender: str,
    tenant_id: str,
    client_id: str,
    login_host: str | None = None,
    api_host: str | None = None,
    names: dict[str, str] = FIELD_NAMES,
) -> dict[str, Any]:
    """Store the customer's three values (notify.json) and switch to the graph transport."""
    from c11.notify.config import store_values
    from c11.notify.graph_certificate import CertificateStore

    check_graph_values(sender, tenant_id, client_id, names)
    path = store_values(
        cfg.data_dir,
        {
            "mail_transport": "graph",
            "graph_sender": sender,
            "graph_tenant_id": tenant_id,
            "graph_client_id": client_id,
            "graph_login_host": login_host,
            "graph_api_host": api_host,
        },
    )
    return {
        "stored": str(path),
        "sender": sender,
        "tenant_id": tenant_id,
        "client_id": client_id,
        "certificate": bool(CertificateStore(cfg.data_dir).live()),
    }


def guide_for(cfg: NotifyConfig, group: str | None = None, other_mailbox: str | None = None) -> str:
    """The customer's set-up steps with this server's values (and the newest live certificate) filled in."""
    from c11.notify.branding import branding_from_env
    from c11.notify.graph_certificate import CertificateStore
    from c11.notify.graph_guide import GuideValues, guide

    live = CertificateStore(cfg.data_dir).live()
    cert = live[0] if live else None
    return guide(
        GuideValues(
            sender=cfg.graph_sender or "",
            tenant_id=cfg.graph_tenant_id or "",
            client_id=cfg.graph_client_id or "",
            thumbprint=cert.sha1_thumbprint if cert else "",
            not_after=f"{cert.not_after:%Y-%m-%d}" if cert else "",
            group_address=group or "",
            login_host=cfg.graph_login_host,
            api_host=cfg.graph_api_host,
            other_mailbox=other_mailbox or "",
            product=branding_from_env(cfg.base_url).product_name,
        )
    )


@dataclass
class TestResult:
    """What a test message showed: sent or not, and for Graph whether another mailbox is refused."""

    to: str
    transport: str
    sender: str | None
    denied_checked: str | None = None
    notes: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "sent": True,
            "to": self.to,
            "transport": self.transport,
            "sender": self.sender,
            "denied_checked": self.denied_checked,
            "notes": self.notes,
        }


def send_test(cfg: NotifyConfig, to: str, denied: str | None = None) -> TestResult:
    """Send a test message; NotifyError carrying an admin-actionable explanation when it fails."""
    from c11.notify.branding import branding_from_env
    from c11.notify.render import build_message, render
    from c11.notify.transports import DeliveryError, make_transport

    if not _EMAIL.match(to):
        raise UsageError(f"the test message needs an email address, not {to!r}")
    if denied and cfg.mail_transport != "graph":
        raise UsageError("checking a denied mailbox applies to the graph transport only")
    brand = branding_from_env(cfg.base_url)
    sender = cfg.graph_sender if cfg.mail_transport == "graph" else cfg.mail_from
    r = render(
        "admin_alert",
        to=to,
        brand=brand,
        title="Test message",
        detail=f"This is a test of {brand.product_name} notifications through the {cfg.mail_transport} "
        "transport. If you can read it, delivery works.",
        severity="info",
    )
    result = TestResult(to, cfg.mail_transport, sender if cfg.mail_transport == "graph" else cfg.mail_from)
    transport = make_transport(cfg)
    try:
        try:
            transport.send(build_message(r, sender or cfg.mail_from))
        except DeliveryError as e:
            raise _failed(f"test message not sent: {e}", e.explanation) from None
        if denied:
            try:
                transport.send_as(build_message(r, denied), denied)  # type: ignore[attr-defined]
            except PermanentDeliveryError as e:
                if "AccessPolicy" in str(e) or "RAOP" in str(e) or "403" in str(e):
                    result.denied_checked = denied
                    result.notes.append(f"sending as {denied} is refused, as it should be: {e}")
                    return result
                raise _failed(
                    f"sending as {denied} failed, but not because of the access policy: {e}", e.explanation
                ) from None
            raise NotifyError(
                f"the app could send as {denied}: the application access policy does not restrict it "
                "to the sender mailbox (see `c11 notify graph guide`, step 4; changes can take more "
                "than an hour to reach Graph)"
            )
        return result
    finally:
        transport.close()


def _failed(message: str, explanation: str | None) -> NotifyError:
    err = NotifyError(message)
    err.explanation = explanation  # type: ignore[attr-defined]
    return err
