"""The notifications admin API (issue 5, under crud:config-org): status, test message, Graph values and
certificates, retries — on the real server, for admins of the operator organization only."""

from __future__ import annotations

import time

from srvkit import (
    PASSWORD,
    authed,
    confirm_email,
    new_email,
    outbox_message,
    server_config,
    start_server,
    verification_link,
)

from c11.client import Client

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "8a3c7f2e-1b4d-4e5f-9a6b-0c1d2e3f4a5b"


def _verified_token(server, email: str) -> str:
    with Client(server.url) as c:
        c.signup(email, PASSWORD)
        confirm_email(verification_link(outbox_message(server.config.data_dir, email))).raise_for_status()
        return c.login(email, PASSWORD).token


def _orgs(server, **admins: str) -> None:
    from c11.server.db import Database
    from c11.server.orgs.service import add_member, create_organization

    db = Database(server.config.database_url)
    try:
        for name, email in admins.items():
            with db.session() as s:
                org, _ = create_organization(s, name, email)
            time.sleep(0.01)  # distinct creation times: the first one is the operator organization
        with db.session() as s:
            from sqlalchemy import select

            from c11.server.orgs.models import Organization

            first = s.scalar(select(Organization).where(Organization.name == next(iter(admins))))
            add_member(s, first, "plain-" + admins[next(iter(admins))], added_by=None)
    finally:
        db.dispose()


def test_operator_admins_run_notifications_over_http(tmp_path):
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}"))
    try:
        op_admin, other_admin = new_email("op"), new_email("other")
        _orgs(server, Operator=op_admin, Other=other_admin)
        op, other = _verified_token(server, op_admin), _verified_token(server, other_admin)
        plain = _verified_token(server, "plain-" + op_admin)
        with authed(server, op) as h, authed(server, other) as o, authed(server, plain) as p:
            r = h.get("/api/v1/org/notifications")
            assert r.status_code == 200, r.text
            assert r.json()["transport"]["name"] == "outbox-folder" and r.json()["counts"]["sent"] >= 3
            # server-wide settings: an admin of another organization, or a member without the permission, is refused
            r = o.get("/api/v1/org/notifications")
            assert r.status_code == 403 and r.json()["type"].endswith("not-operator")
            r = p.get("/api/v1/org/notifications")
            assert r.status_code == 403 and r.json()["type"].endswith("missing-permission")

            r = h.post("/api/v1/org/notifications/test", json={"to": "ops@example.com"})
            assert r.status_code == 200 and r.json()["sent"] is True, r.text
            assert outbox_message(server.config.data_dir, "ops@example.com")["Subject"]
            r = h.post(
                "/api/v1/org/notifications/test", json={"to": "ops@example.com", "also_check_denied": "x@example.com"}
            )
            assert r.status_code == 422 and "graph" in r.json()["detail"]

            r = h.put(
                "/api/v1/org/notifications/graph",
                json={"sender": "c11@contoso.com", "tenant_id": TENANT, "client_id": "not-a-guid"},
            )
            assert r.status_code == 422 and "client_id" in r.json()["detail"]
            r = h.put(
                "/api/v1/org/notifications/graph",
                json={"sender": "c11@contoso.com", "tenant_id": TENANT, "client_id": CLIENT},
            )
            assert r.status_code == 200 and r.json()["certificate"] is False and "stored" not in r.json()
            r = h.post("/api/v1/org/notifications/graph/certificates", json={"days": 30})
            assert r.status_code == 201 and r.json()["pem"].startswith("-----BEGIN CERTIFICATE-----")
            thumb = r.json()["thumbprint_sha1"]
            assert [c["thumbprint_sha1"] for c in h.get("/api/v1/org/notifications/graph/certificates").json()] == [
                thumb
            ]
            g = h.get("/api/v1/org/notifications/graph/guide")
            assert g.status_code == 200 and thumb in g.text and TENANT in g.text and CLIENT in g.text
            status = h.get("/api/v1/org/notifications").json()["transport"]
            assert status["name"] == "graph" and status["client_id"] == CLIENT
            assert [c["thumbprint_sha1"] for c in status["certificates"]] == [thumb]

            # the running server delivers through the new transport at once: no more .eml files
            late = new_email("late")
            with Client(server.url) as c:
                c.signup(late, PASSWORD)
            time.sleep(1.0)
            assert not any(
                late in p.read_text(errors="replace") for p in (server.config.data_dir / "outbox").glob("*.eml")
            )

            assert h.post("/api/v1/org/notifications/retry", json={}).status_code == 422
            r = h.post("/api/v1/org/notifications/retry", json={"all_dead": True})
            assert r.status_code == 200 and r.json()["requeued"] >= 0
            assert h.post("/api/v1/org/notifications/retry", json={"id": "f" * 32}).status_code == 404
    finally:
        server.stop()
