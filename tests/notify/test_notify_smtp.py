"""The SMTP transport against a real SMTP server (aiosmtpd on loopback): plain, STARTTLS + AUTH, implicit TLS."""

from __future__ import annotations

import pytest
from smtpkit import PASSWORD, USER, SmtpServer, free_port

from c11.errors import PermanentDeliveryError, TransientDeliveryError
from c11.notify.branding import Branding
from c11.notify.render import build_message, render
from c11.notify.transports.smtp import SmtpTransport

BRAND = Branding(base_url="https://c11.example.com")
SENDER = "c11 <no-reply@c11.example.com>"


def _message(to: str = "bob@example.org"):
    r = render("invitation", to=to, brand=BRAND, inviter="Alice", link=BRAND.link("/invite/abc"))
    return build_message(r, SENDER)


def test_plain_delivery_multipart(smtp_plain: SmtpServer):
    t = SmtpTransport("127.0.0.1", smtp_plain.port, security="none")
    t.send(_message())
    t.send(_message("carol@example.org"))
    t.close()
    assert [r.rcpt_tos for r in smtp_plain.received] == [["bob@example.org"], ["carol@example.org"]]
    m = smtp_plain.received[0].message
    assert m.get_content_type() == "multipart/alternative"
    assert m["X-C11-Kind"] == "invitation"
    assert "https://c11.example.com/invite/abc" in m.get_body(("plain",)).get_content()
    assert "https://c11.example.com/invite/abc" in m.get_body(("html",)).get_content()
    assert smtp_plain.received[0].mail_from == "no-reply@c11.example.com"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_login(pki, mechanism):
    other = "LOGIN" if mechanism == "PLAIN" else "PLAIN"
    with SmtpServer("starttls", cert=pki.cert_pem, key=pki.key_pem, auth=True, exclude_auth=(other,)) as server:
        t = SmtpTransport(
            "localhost", server.port, security="starttls", username=USER, password=PASSWORD, ca_bundle=str(pki.ca_pem)
        )
        t.send(_message())
        t.close()
        assert len(server.received) == 1
        assert server.received[0].login == USER
        assert server.mechanisms == [mechanism]


def test_implicit_tls_with_login(smtp_tls_auth: SmtpServer, pki):
    t = SmtpTransport(
        "localhost", smtp_tls_auth.port, security="tls", username=USER, password=PASSWORD, ca_bundle=str(pki.ca_pem)
    )
    t.send(_message())
    t.close()
    assert smtp_tls_auth.received[0].login == USER


def test_wrong_password_is_permanent_config_error(smtp_starttls_auth: SmtpServer, pki):
    t = SmtpTransport(
        "localhost",
        smtp_starttls_auth.port,
        security="starttls",
        username=USER,
        password="nope",
        ca_bundle=str(pki.ca_pem),
    )
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "535" in str(e.value) and "C11_SMTP_PASSWORD" in e.value.explanation and e.value.config
    assert not smtp_starttls_auth.received


def test_untrusted_certificate_is_refused(smtp_starttls_auth: SmtpServer):
    t = SmtpTransport("localhost", smtp_starttls_auth.port, security="starttls", username=USER, password=PASSWORD)
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "C11_SMTP_CA_BUNDLE" in e.value.explanation


def test_server_requires_starttls(smtp_starttls_auth: SmtpServer):
    t = SmtpTransport("localhost", smtp_starttls_auth.port, security="none")
    with pytest.raises((PermanentDeliveryError, TransientDeliveryError)):
        t.send(_message())
    assert not smtp_starttls_auth.received


def test_connection_refused_is_transient():
    t = SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(TransientDeliveryError) as e:
        t.send(_message())
    assert "unreachable" in str(e.value)


def test_4xx_transient_5xx_permanent(smtp_plain: SmtpServer):
    t = SmtpTransport("127.0.0.1", smtp_plain.port, security="none")
    smtp_plain.handler.reply = "451 4.3.0 Try again later"
    with pytest.raises(TransientDeliveryError) as e:
        t.send(_message())
    assert "451" in str(e.value)
    smtp_plain.handler.reply = "554 5.7.1 Rejected"
    with pytest.raises(PermanentDeliveryError) as e2:
        t.send(_message())
    assert "554" in str(e2.value)
    smtp_plain.handler.reply = None
    t.send(_message())
    assert len(smtp_plain.received) == 1


def test_connection_reused_and_recovers_after_restart():
    server = SmtpServer("none").start()
    t = SmtpTransport("127.0.0.1", server.port, security="none")
    try:
        t.send(_message())
        server.stop()
        with pytest.raises(TransientDeliveryError):
            t.send(_message())
        server2 = SmtpServer("none", port=server.port).start()
        try:
            t.send(_message())
            assert len(server2.received) == 1
        finally:
            server2.stop()
    finally:
        t.close()
        server.stop()


def test_dropped_idle_connection_is_replaced_without_duplicates(smtp_plain: SmtpServer):
    import socket

    t = SmtpTransport("127.0.0.1", smtp_plain.port, security="none")
    t.send(_message("a@example.org"))
    t._conn.sock.shutdown(socket.SHUT_RDWR)  # the connection dies between two messages
    t.send(_message("b@example.org"))
    t.close()
    assert [r.rcpt_tos for r in smtp_plain.received] == [["a@example.org"], ["b@example.org"]]
