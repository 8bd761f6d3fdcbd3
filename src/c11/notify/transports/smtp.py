"""SMTP transport (smtplib): plain, STARTTLS or implicit TLS, optional login, one reused connection.

Replies are mapped to typed errors: 4xx and network failures (refused, reset, timeout) are transient,
5xx permanent. A connection is reused between messages and closed by `close()`. After an idle pause it is
checked with NOOP first; between back-to-back messages it is not, and if the server turns out to have
closed it before the message's DATA began (so the server cannot have the message), the message is sent
once more on a fresh connection.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

from c11.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from c11.notify.diagnose import explain_smtp_error


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 30,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ConfigError(f"C11_SMTP_SECURITY must be none, starttls or tls, not {security!r}")
        self.host = host
        self.port = port or {"none": 25, "starttls": 587, "tls": 465}[security]
        self.security = security
        self.username = username
        self.password = password
        self.sender = sender
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._last_used = 0.0
        self._data_started = False

    #: Seconds of idleness after which a reused connection is checked with NOOP before sending.
    idle_check_seconds = 2.0

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context(), local_hostname=self.local_hostname
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
        try:
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
        except BaseException:
            _quietly_close(conn)
            raise
        data = conn.data

        def tracked_data(msg):  # type: ignore[no-untyped-def]
            self._data_started = True
            return data(msg)

        conn.data = tracked_data  # type: ignore[method-assign]
        return conn

    def _fail(self, exc: BaseException) -> None:
        d = explain_smtp_error(exc, self.host, self.port)
        cls = TransientDeliveryError if d.transient else PermanentDeliveryError
        if cls is TransientDeliveryError:
            raise TransientDeliveryError(d.summary, d.explanation, config=d.config) from exc
        raise PermanentDeliveryError(d.summary, d.explanation, config=d.config) from exc

    def send(self, message: EmailMessage) -> None:
        if self.sender and "From" not in message:
            message["From"] = self.sender
        with self._lock:
            try:
                conn, unchecked = self._live()
                self._data_started = False
                try:
                    conn.send_message(message)  # partly refused recipients: the others got it
                except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
                    if not unchecked or self._data_started:
                        raise
                    self._drop()  # the server closed the idle connection before DATA: safe to resend
                    self._conn = self._connect()
                    self._data_started = False
                    self._conn.send_message(message)
                    del e
                self._last_used = time.monotonic()
            except (smtplib.SMTPException, OSError) as e:
                self._drop()
                self._fail(e)

    def _live(self) -> tuple[smtplib.SMTP, bool]:
        """The connection to use and whether it is reused without a check."""
        if self._conn is not None:
            if time.monotonic() - self._last_used < self.idle_check_seconds:
                return self._conn, True
            try:
                code, _ = self._conn.noop()
                if code == 250:
                    return self._conn, False
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        self._conn = self._connect()
        return self._conn, False

    def _drop(self) -> None:
        if self._conn is not None:
            _quietly_close(self._conn)
            self._conn = None

    def check(self) -> None:
        """Connect (and log in) without sending, raising the typed error a send would."""
        with self._lock:
            try:
                self._drop()
                self._conn = self._connect()
            except (smtplib.SMTPException, OSError) as e:
                self._drop()
                self._fail(e)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.quit()
                except (smtplib.SMTPException, OSError):
                    pass
                self._drop()


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass
