"""`c11 notify ...` as an operator runs it: a subprocess, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import clifork
from cryptography import x509
from graph_standin import GraphStandIn
from notify_dbkit import migrated_engine, sqlite_url
from smtpkit import SmtpServer

from c11.notify.branding import Branding
from c11.notify.outbox import enqueue_rendered
from c11.notify.render import render

TENANT = "9d1c2f3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f"
CLIENT = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"
SENDER = "notifications@contoso.example"
OTHER = "ceo@contoso.example"


def c11(args: list[str], data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    full.update({"C11_DATA_DIR": str(data_dir), "HOME": str(data_dir.parent)})
    full.update(env or {})
    return clifork.run(["notify", *args], env=full, text=True, timeout=120)  # `python -m c11.cli.main notify ...`


def _one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("c11: error:")]
    assert len(errors) == 1, p.stderr
    return p.stderr


def test_certificate_create_configure_guide(tmp_path):
    data = tmp_path / "data"
    out = tmp_path / "upload.cer"
    p = c11(["graph", "certificate", "create", "--out", str(out)], data)
    assert p.returncode == 0, p.stderr
    cert = x509.load_der_x509_certificate(out.read_bytes())  # .cer is DER
    sha1 = cert.fingerprint(__import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA1"]).SHA1()).hex().upper()
    assert sha1 in p.stdout and "DER" in p.stdout
    keys = list((data / "secrets" / "graph").glob("*.key"))
    assert len(keys) == 1 and (keys[0].stat().st_mode & 0o777) == 0o600
    assert (data / "secrets").stat().st_mode & 0o777 == 0o700
    pem = tmp_path / "upload.pem"
    assert c11(["graph", "certificate", "create", "--out", str(pem)], data).returncode == 0
    assert pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    listed = c11(["graph", "certificate", "list"], data).stdout.splitlines()
    assert len(listed) == 2 and all("valid" in line for line in listed)

    p = c11(["graph", "configure", "--sender", SENDER, "--tenant-id", TENANT, "--client-id", CLIENT], data)
    assert p.returncode == 0, p.stderr
    stored = json.loads((data / "notify.json").read_text())
    assert stored["graph_sender"] == SENDER and stored["mail_transport"] == "graph"

    g = c11(["graph", "guide", "--other-mailbox", OTHER], data).stdout
    assert (
        f"New-ApplicationAccessPolicy -AppId {CLIENT} -PolicyScopeGroupId c11-notifications@contoso.example "
        "-AccessRight RestrictAccess -Description" in g
    )
    assert f"Test-ApplicationAccessPolicy -Identity {SENDER} -AppId {CLIENT}" in g
    assert f"Test-ApplicationAccessPolicy -Identity {OTHER} -AppId {CLIENT}" in g
    assert "AccessCheckResult : Granted" in g and "AccessCheckResult : Denied" in g
    assert f'New-ManagementRoleAssignment -App {CLIENT} -Role "Application Mail.Send"' in g
    assert "New-ServicePrincipal -AppId" in g and "New-ManagementScope" in g
    assert "more than an hour" in g and "Mail-enabled security" in g and "Grant admin consent" in g
    assert "Application permissions" in g
    # the newest certificate's thumbprint is the one shown
    newest = x509.load_pem_x509_certificate(pem.read_bytes())
    assert (
        newest.fingerprint(__import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA1"]).SHA1()).hex().upper()
        in g
    )


def test_configure_refuses_bad_values_in_one_line(tmp_path):
    p = c11(["graph", "configure", "--sender", "nope", "--tenant-id", TENANT, "--client-id", CLIENT], tmp_path / "d")
    assert p.returncode == 2 and "sender" in _one_line_error(p)
    p = c11(["graph", "configure", "--sender", SENDER, "--tenant-id", TENANT, "--client-id", "x"], tmp_path / "d")
    assert "--client-id must be the application (client) ID" in _one_line_error(p)


def test_status_retry_worker_once(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    engine = migrated_engine(sqlite_url(data))
    brand = Branding(base_url="https://c11.example.com")
    with engine.begin() as c:
        ids = [
            enqueue_rendered(c, render("access_revoked", to=f"u{i}@example.org", brand=brand, owner="Alice"))
            for i in range(3)
        ]
        c.exec_driver_sql(
            f"UPDATE outbox_messages SET status='dead', attempts=10, last_error='550 no' WHERE id='{ids[0]}'"
        )
    engine.dispose()
    st = json.loads(c11(["status", "--json"], data).stdout)
    assert st["counts"] == {"queued": 2, "sending": 0, "sent": 0, "dead": 1}
    assert st["transport"]["name"] == "outbox-folder"
    assert {m["status"] for m in st["messages"]} == {"queued", "dead"}
    text = c11(["status"], data).stdout
    assert "dead: 1" in text and "550 no" in text
    assert c11(["retry", ids[0][:12]], data).returncode == 0
    p = c11(["worker", "--once"], data)
    assert p.returncode == 0 and "sent 3" in p.stdout, p.stderr
    assert len(list((data / "outbox").glob("*.eml"))) == 3
    assert "already sent" in _one_line_error(c11(["retry", ids[0]], data))
    assert "no outbox message" in _one_line_error(c11(["retry", "ffff"], data))


def test_status_on_old_schema_says_upgrade(tmp_path):
    p = c11(["status"], tmp_path / "empty")
    assert "c11 db upgrade" in _one_line_error(p)


def _graph_env(standin: GraphStandIn, pki, **extra: str) -> dict[str, str]:
    env = {
        "C11_MAIL_TRANSPORT": "graph",
        "C11_GRAPH_SENDER": SENDER,
        "C11_GRAPH_TENANT_ID": TENANT,
        "C11_GRAPH_CLIENT_ID": CLIENT,
        "C11_GRAPH_LOGIN_HOST": standin.host,
        "C11_GRAPH_API_HOST": standin.api_host,
        "C11_GRAPH_CA_BUNDLE": str(pki.ca_pem),
    }
    env.update(extra)
    return env


def test_notify_test_graph_success_and_denied_check(standin, pki, tmp_path):
    data = tmp_path / "data"
    tenant = standin.add_tenant(TENANT, mailboxes={SENDER, OTHER})
    app = tenant.add_app(CLIENT, roles={"Mail.Send"})
    tenant.restrict(CLIENT, {SENDER})
    assert c11(["graph", "certificate", "create", "--out", str(tmp_path / "c.cer")], data).returncode == 0
    app.upload((tmp_path / "c.cer").read_bytes())
    p = c11(["test", "--to", "admin@contoso.example", "--also-check-denied", OTHER], data, _graph_env(standin, pki))
    assert p.returncode == 0, p.stderr
    assert "sent a test message to admin@contoso.example via graph" in p.stdout
    assert f"sending as {OTHER} is refused, as it should be" in p.stdout
    assert len(standin.delivered) == 1
    # without the policy, the check fails loudly
    tenant.access_policies.clear()
    p = c11(["test", "--to", "admin@contoso.example", "--also-check-denied", OTHER], data, _graph_env(standin, pki))
    assert "does not restrict it" in _one_line_error(p)


def test_notify_test_graph_failures_are_explained(standin, pki, tmp_path):
    data = tmp_path / "data"
    tenant = standin.add_tenant(TENANT, mailboxes={SENDER})
    tenant.add_app(CLIENT, roles=set())
    assert c11(["graph", "certificate", "create"], data).returncode == 0
    p = c11(["test", "--to", "a@contoso.example"], data, _graph_env(standin, pki))
    err = _one_line_error(p)
    assert "AADSTS700027" in err and "Upload certificate" in err  # not uploaded
    app = tenant.apps[CLIENT]
    app.upload((data / "c11-graph.cer").read_bytes())
    err = _one_line_error(c11(["test", "--to", "a@contoso.example"], data, _graph_env(standin, pki)))
    assert "Mail.Send application permission" in err and "Grant admin consent" in err
    err = _one_line_error(
        c11(
            ["test", "--to", "a@contoso.example"],
            data,
            _graph_env(standin, pki, C11_GRAPH_TENANT_ID="11111111-2222-3333-4444-555555555555"),
        )
    )
    assert "C11_GRAPH_TENANT_ID" in err
    err = _one_line_error(
        c11(
            ["test", "--to", "a@contoso.example"],
            data,
            _graph_env(standin, pki, C11_GRAPH_CLIENT_ID="11111111-2222-3333-4444-555555555555"),
        )
    )
    assert "AADSTS700016" in err and "C11_GRAPH_CLIENT_ID" in err


def test_notify_test_smtp(tmp_path):
    with SmtpServer("none") as s:
        env = {
            "C11_MAIL_TRANSPORT": "smtp",
            "C11_SMTP_HOST": "127.0.0.1",
            "C11_SMTP_PORT": str(s.port),
            "C11_SMTP_SECURITY": "none",
            "C11_MAIL_FROM": "c11 <c11@example.com>",
        }
        p = c11(["test", "--to", "ops@example.com"], tmp_path / "d", env)
        assert p.returncode == 0, p.stderr
        assert s.received[0].rcpt_tos == ["ops@example.com"]
    p = c11(["test", "--to", "ops@example.com"], tmp_path / "d", env)  # server gone
    assert "unreachable" in _one_line_error(p)
    p = c11(["test", "--to", "x@example.com", "--also-check-denied", OTHER], tmp_path / "d", env)
    assert p.returncode == 2


def test_worker_runs_apart_and_stops_on_sigterm(tmp_path):
    import signal
    import time

    data = tmp_path / "data"
    data.mkdir()
    engine = migrated_engine(sqlite_url(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update({"C11_DATA_DIR": str(data), "HOME": str(tmp_path)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "notify", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        brand = Branding(base_url="https://c11.example.com")
        with engine.begin() as c:
            for i in range(5):
                enqueue_rendered(c, render("access_revoked", to=f"u{i}@example.org", brand=brand, owner="Alice"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(list((data / "outbox").glob("*.eml"))) < 5:
            time.sleep(0.1)
        assert len(list((data / "outbox").glob("*.eml"))) == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        engine.dispose()
    assert proc.returncode == 0, err
    assert "stopped; sent 5" in err and "Traceback" not in err
