"""A real SMTP server for the tests: aiosmtpd on loopback, plain / STARTTLS / implicit TLS, with AUTH.

`SmtpServer` records every accepted message, can answer DATA with a chosen reply (for 4xx / 5xx tests),
and can be stopped and started again on the same port (the outage test).
"""

from __future__ import annotations

import email
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    #: If set, DATA is answered with this reply instead of 250 (e.g. "451 4.3.0 try later").
    reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        login = session.auth_data if session.authenticated else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    ):
        return AuthResult(success=True, auth_data=USER)
    return AuthResult(success=False, handled=False)


class SmtpServer:
    """mode: "none" (plain, AUTH allowed without TLS only if auth is off), "starttls" or "tls"."""

    def __init__(
        self,
        mode: str = "none",
        *,
        cert: Path | None = None,
        key: Path | None = None,
        auth: bool = False,
        port: int | None = None,
        exclude_auth: tuple[str, ...] = (),
    ) -> None:
        self.mode = mode
        self.cert, self.key = cert, key
        self.auth = auth
        self.exclude_auth = exclude_auth
        self.mechanisms: list[str] = []
        self.port = port or free_port()
        self.handler = Handler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.mechanisms.append(mechanism)
        return _authenticator(server, session, envelope, mechanism, auth_data)

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        assert self.cert and self.key
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def start(self) -> SmtpServer:
        kw: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "server_hostname": "localhost"}
        if self.mode == "starttls":
            kw.update(tls_context=self._ssl(), require_starttls=True)
        elif self.mode == "tls":
            kw.update(ssl_context=self._ssl())
        if self.auth:
            # AUTH needs TLS first (aiosmtpd's default, auth_require_tls=True). aiosmtpd only knows about
            # STARTTLS, so with implicit TLS (the socket is already encrypted) the check is turned off.
            kw.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.mode != "tls",
                auth_exclude_mechanism=list(self.exclude_auth),
            )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            self._controller = Controller(self.handler, **kw)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
