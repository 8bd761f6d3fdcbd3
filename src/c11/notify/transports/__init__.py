"""How a notification leaves the server. Every transport has `name`, `send(message) -> None` and `close()`.

`send` returns when the message was handed over, or raises `TransientDeliveryError` (try again later;
`retry_after` seconds if the other side said) or `PermanentDeliveryError` (trying again will not help
until something changes). Both carry `explanation`, words an admin can act on.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from c11.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from c11.notify.config import NotifyConfig

__all__ = ["DeliveryError", "PermanentDeliveryError", "TransientDeliveryError", "Transport", "make_transport"]


@runtime_checkable
class Transport(Protocol):
    """Delivers one email or raises a typed `DeliveryError`."""

    name: str

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


def make_transport(cfg: NotifyConfig) -> Transport:
    """The transport the configuration names."""
    if cfg.mail_transport == "outbox-folder":
        from c11.notify.transports.outbox_folder import OutboxFolderTransport

        return OutboxFolderTransport(cfg.outbox_dir)
    if cfg.mail_transport == "smtp":
        from c11.notify.transports.smtp import SmtpTransport

        return SmtpTransport(
            host=cfg.smtp_host,
            port=cfg.port,
            security=cfg.smtp_security,
            username=cfg.smtp_username,
            password=cfg.smtp_password,
            sender=cfg.mail_from,
            ca_bundle=cfg.smtp_ca_bundle,
            timeout=cfg.smtp_timeout,
        )
    if cfg.mail_transport == "graph":
        from c11.notify.config import require_graph
        from c11.notify.graph_certificate import CertificateStore
        from c11.notify.transports.graph import GraphTransport

        require_graph(cfg)
        return GraphTransport(
            sender=cfg.graph_sender or "",
            tenant_id=cfg.graph_tenant_id or "",
            client_id=cfg.graph_client_id or "",
            certificates=CertificateStore(cfg.data_dir),
            login_host=cfg.graph_login_host,
            api_host=cfg.graph_api_host,
            ca_bundle=cfg.graph_ca_bundle,
            timeout=cfg.graph_timeout,
        )
    from c11.errors import ConfigError

    raise ConfigError(f"unknown mail transport {cfg.mail_transport!r}")
