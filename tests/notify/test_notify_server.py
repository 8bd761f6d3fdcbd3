"""The real server (create_app on uvicorn) with the in-process notification worker: a sign-up's verification
email leaves through SMTP (STARTTLS + login) and through the outbox folder, delivered once."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import replace

import httpx
import pytest
from smtpkit import PASSWORD as SMTP_PASSWORD
from smtpkit import USER, SmtpServer
from srvkit import http_signup

PASSWORD = "correct horse battery staple"


def _start(config):
    import uvicorn

    from c11.server.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = replace(config, port=sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    return f"http://127.0.0.1:{config.port}", server, thread


def _config(tmp_path, **kw):
    from c11.server.config import Config

    return Config(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'c11.db'}", host="127.0.0.1", port=0, **kw)


def _wait(pred, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_signup_verification_email_through_smtp(tmp_path, pki, monkeypatch):
    with SmtpServer("starttls", cert=pki.cert_pem, key=pki.key_pem, auth=True) as smtp:
        for k, v in {
            "C11_SMTP_HOST": "localhost",
            "C11_SMTP_PORT": str(smtp.port),
            "C11_SMTP_SECURITY": "starttls",
            "C11_SMTP_USERNAME": USER,
            "C11_SMTP_PASSWORD": SMTP_PASSWORD,
            "C11_SMTP_CA_BUNDLE": str(pki.ca_pem),
        }.items():
            monkeypatch.setenv(k, v)
        url, server, thread = _start(_config(tmp_path, mail_transport="smtp", mail_from="c11 <c11@example.com>"))
        try:
            email = f"new-{uuid.uuid4().hex[:8]}@example.com"
            with httpx.Client(base_url=url, timeout=30) as h:
                r = http_signup(h, email, PASSWORD)
            assert r.status_code == 201, r.text
            assert _wait(lambda: any(m.rcpt_tos == [email] for m in smtp.received))
            [m] = [m for m in smtp.received if m.rcpt_tos == [email]]
            assert m.login == USER and "/verify#token=" in m.data.decode()
            time.sleep(0.3)
            assert len([m for m in smtp.received if m.rcpt_tos == [email]]) == 1
        finally:
            server.should_exit = True
            thread.join(10)


def test_signup_verification_email_in_outbox_folder(tmp_path):
    url, server, thread = _start(_config(tmp_path))
    try:
        email = f"new-{uuid.uuid4().hex[:8]}@example.com"
        with httpx.Client(base_url=url, timeout=30) as h:
            r = http_signup(h, email, PASSWORD)
        assert r.status_code == 201, r.text
        assert _wait(lambda: len(list((tmp_path / "outbox").glob("*.eml"))) == 1)
    finally:
        server.should_exit = True
        thread.join(10)


def test_unknown_transport_is_a_config_error(tmp_path):
    from c11.errors import ConfigError
    from c11.server.config import load_config

    with pytest.raises(ConfigError, match="pigeon"):
        load_config(env={"C11_MAIL_TRANSPORT": "pigeon", "C11_DATA_DIR": str(tmp_path)})
    cfg = load_config(env={"C11_MAIL_TRANSPORT": "graph", "C11_DATA_DIR": str(tmp_path)})
    assert cfg.mail_transport == "graph"


def test_server_accepts_notification_keys_in_its_toml(tmp_path):
    from c11.notify.service import notify_config_for
    from c11.server.config import load_config

    toml = tmp_path / "c11.toml"
    toml.write_text(
        'mail_transport = "smtp"\nsmtp_host = "mail.internal"\nsmtp_security = "tls"\n'
        'graph_login_host = "login.microsoftonline.us"\n'
    )
    cfg = load_config({"config_file": str(toml)}, env={"C11_DATA_DIR": str(tmp_path)})
    assert cfg.mail_transport == "smtp"
    n = notify_config_for(cfg)
    assert (n.smtp_host, n.port, n.graph_login_host) == ("mail.internal", 465, "login.microsoftonline.us")
