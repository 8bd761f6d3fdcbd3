"""The operator pages of the admin console (/admin/health, /admin/notifications, /admin/graph) in Chromium against
a live server on PostgreSQL, for admins of the operator organization only: server health (database, migrations,
log checkpoint, one shard store up and one down), the outbox (a dead letter with its last error, retried and then
delivered), and the Microsoft Graph guided set-up walked step by step against the Entra/Graph stand-in over HTTPS
(tests/notify/graph_standin.py: the client assertion signed with the certificate the page made and the test
"uploaded", the Mail.Send role, the application access policy) to a successful test send, with the diagnoses of a
wrong client ID, missing consent and a sender outside the policy on the way. An admin of another organization sees
none of it and the API refuses them."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import accountkit
import httpx
import pytest
from conftest import NO_SAVE_PICKER, PageProblems
from srvkit import RunningServer, authed, db_from_template, loopback_socket, serve_in_thread, server_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shards"))

from graph_standin import GraphStandIn, make_pki  # noqa: E402
from shardkit import free_port, start_store_thread  # noqa: E402
from smtpkit import PASSWORD as SMTP_PASSWORD  # noqa: E402
from smtpkit import USER as SMTP_USER  # noqa: E402
from smtpkit import SmtpServer  # noqa: E402

TENANT = "4b1e2c3d-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
CLIENT = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
WRONG_CLIENT = "11111111-2222-4333-8444-555555555555"
SENDER = "notifications@contoso.example"
GROUP = "c11@contoso.example"
OTHER = "ceo@contoso.example"


@dataclass
class World:
    server: RunningServer
    standin: GraphStandIn
    store_url: str
    dead_store: str
    smtp: SmtpServer  # STARTTLS with a login, on the port of the server's SMTP settings (not started)
    operator: accountkit.Account  # admin of the operator organization (all permissions)
    other: accountkit.Account  # admin of another organization, holding crud:config-org there
    narrow_admin: accountkit.Account  # admin of the operator organization without crud:config-org


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, pg_schemas: Any, web_dist: Path) -> Iterator[World]:
    """A server on PostgreSQL whose operator organization is named, whose notifications trust the stand-in's CA
    (and give up after one attempt, so that a dead letter comes quickly), announcing a live and a dead shard store."""
    from c11.server.app import create_app

    tmp = tmp_path_factory.mktemp("operator")
    pki = make_pki(tmp / "pki")
    toml = tmp / "c11.toml"
    smtp = SmtpServer("starttls", cert=pki.cert_pem, key=pki.key_pem, auth=True)
    toml.write_text(
        f'graph_ca_bundle = "{pki.ca_pem}"\nmail_max_attempts = 1\ngraph_timeout = 10\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsmtp_security = "starttls"\nsmtp_timeout = 5\n'
        f'smtp_username = "{SMTP_USER}"\nsmtp_password = "{SMTP_PASSWORD}"\nsmtp_ca_bundle = "{pki.ca_pem}"\n'
    )
    sock, store_sock = loopback_socket(), loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store_url, dead_store = f"http://127.0.0.1:{store_sock.getsockname()[1]}", f"http://127.0.0.1:{free_port()}"
    org_name = f"Operator {uuid.uuid4().hex[:6]}"
    database_url = pg_schemas.new()
    config = replace(
        server_config(
            tmp / "data",
            database_url,
            operator_org=org_name,
            config_file=str(toml),
            shard_stores=f"{store_url},{dead_store},{url}",  # the last one is the c11 server itself
        ),
        port=sock.getsockname()[1],
    )
    db_from_template(database_url)
    uv, thread = serve_in_thread(create_app(config), sock)
    server = RunningServer(url, config, "postgresql", uv, thread)
    store = start_store_thread(url, tmp / "store", store_sock)
    standin = GraphStandIn(pki).start()
    try:
        other_first = accountkit.signup(server, "other-admin", login=True)
        accountkit.make_org(server, other_first.email, name=f"Other {uuid.uuid4().hex[:6]}")  # created first
        operator = accountkit.signup(server, "operator", login=True)
        narrow_admin = accountkit.signup(server, "narrow", login=True)
        org_id = accountkit.make_org(server, operator.email, name=org_name)
        accountkit.add_member(server, org_id, narrow_admin.email, admin_permissions="crud:members-org")
        yield World(server, standin, store_url, dead_store, smtp, operator, other_first, narrow_admin)
    finally:
        smtp.stop()
        standin.stop()
        store.stop()
        server.stop()


@pytest.fixture
def op_page(chromium: Any, world: World) -> Iterator[Callable[[], Any]]:
    """Pages at this module's server (a context each); none may log a CSP violation or an uncaught error."""
    contexts: list[Any] = []
    problems = PageProblems()

    def make() -> Any:
        context = chromium.new_context(base_url=world.server.url, accept_downloads=True)
        context.add_init_script(NO_SAVE_PICKER)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.items, "\n".join(problems.items)


def _open(page: Any, section: str) -> None:
    """Open an operator page: Admin in the main navigation, then the section in the Operator navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Operator").get_by_role("link", name=section, exact=True).click()


def _status(world: World) -> dict[str, Any]:
    with authed(world.server, world.operator.token) as h:
        r = h.get("/api/v1/org/notifications", params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()


def test_server_health_page(op_page, world, log_in, axe, narrow, screenshot):
    page = op_page()
    log_in(page, world.operator.email)
    _open(page, "Server health")
    page.get_by_text("Ready: the server answers requests").wait_for(timeout=30_000)
    facts = page.get_by_role("definition")
    text = " ".join(facts.all_inner_texts())
    assert "PostgreSQL, answering" in text and "at head (" in text and "loaded" in text, text
    from c11 import __version__
    from c11.server import migrate

    assert f"c11 {__version__}" in text and migrate.head() in text
    checkpoint = page.get_by_role("figure", name="Latest checkpoint", exact=True).locator("pre").inner_text()
    served = httpx.get(world.server.url + "/api/v1/log/checkpoint").text
    assert checkpoint.splitlines()[0] == served.splitlines()[0]  # the log's origin line
    size = int(checkpoint.splitlines()[1])
    assert f"{size:,} entries" in text and size >= 1
    stores = page.get_by_role("list", name="Shard stores")
    up = stores.get_by_role("listitem", name=world.store_url, exact=True).inner_text()
    down = stores.get_by_role("listitem", name=world.dead_store, exact=True).inner_text()
    assert "OK" in up and f"reachable, c11 {__version__}" in up, up
    assert "Problem" in down and "unreachable (ConnectError)" in down, down
    itself = stores.get_by_role("listitem", name=world.server.url, exact=True).inner_text()
    assert "answers, but is not a shard store" in itself, itself
    page.get_by_text("1 of 3 shard stores reachable.").wait_for()
    axe(page)
    screenshot(page, "health")
    narrow(page, "health")


def test_other_admins_see_no_operator_pages_and_are_refused(op_page, world, log_in):
    page = op_page()
    log_in(page, world.other.email)  # admin of another organization, crud:config-org there
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    sub = page.get_by_role("navigation", name="Admin")
    sub.get_by_role("link", name="Settings").wait_for(timeout=30_000)
    time.sleep(1.0)  # the console asks the server once whether this admin is an operator
    assert page.get_by_role("navigation", name="Operator").count() == 0
    for name in ("Server health", "Notifications", "Microsoft Graph"):
        assert page.get_by_role("link", name=name).count() == 0
    calls = [
        ("GET", "/api/v1/operator/health", None),
        ("GET", "/api/v1/org/notifications", None),
        ("POST", "/api/v1/org/notifications/graph/certificates", {}),
        ("PUT", "/api/v1/org/notifications/graph", {"sender": SENDER, "tenant_id": TENANT, "client_id": CLIENT}),
        ("POST", "/api/v1/org/notifications/test", {"to": "x@example.com"}),
        ("POST", "/api/v1/org/notifications/retry", {"all_dead": True}),
    ]
    with authed(world.server, world.other.token) as h, authed(world.server, world.narrow_admin.token) as n:
        for method, path, body in calls:
            r = h.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["type"].endswith("not-operator"), (path, r.text)
            r = n.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["type"].endswith("missing-permission"), (path, r.text)
        assert h.get("/api/v1/operator/health").status_code == 403
    assert httpx.get(world.server.url + "/api/v1/operator/health").status_code == 401


def test_notifications_page_smtp_settings_and_test_send(op_page, world, log_in, axe, narrow, screenshot):
    from playwright.sync_api import expect as expect_that

    from c11.notify.config import store_values

    store_values(world.server.data_dir, {"mail_transport": "smtp"})  # as `c11 notify` would switch it
    page = op_page()
    log_in(page, world.operator.email)
    _open(page, "Notifications")
    facts = page.get_by_role("definition")
    facts.first.wait_for(timeout=30_000)
    text = " ".join(facts.all_inner_texts())
    assert f"127.0.0.1:{world.smtp.port}" in text and "STARTTLS" in text and "yes (user name and password set)" in text
    assert SMTP_PASSWORD not in page.content()  # settings are shown, never the password
    assert "sent" in page.get_by_role("list", name="Outbox counts").inner_text()
    result = page.locator(".result-ok, .result-bad")
    page.get_by_label("Send to").fill("ops@ourcompany.example")
    page.get_by_role("button", name="Send test").click()  # the SMTP server is down
    expect_that(result).to_contain_text("Not sent: Mail server unreachable.", timeout=60_000)
    assert "ConnectionRefusedError" in result.inner_text()
    axe(page)
    screenshot(page, "smtp-unreachable")
    world.smtp.start()
    page.get_by_role("button", name="Send test").click()
    expect_that(result).to_contain_text("Sent.", timeout=60_000)
    assert any("ops@ourcompany.example" in r.rcpt_tos for r in world.smtp.received)
    assert world.smtp.mechanisms  # it logged in, after STARTTLS
    narrow(page, "smtp-sent")
    store_values(world.server.data_dir, {"mail_transport": "outbox-folder"})


def _test_send(page: Any, expect: str) -> str:
    from playwright.sync_api import expect as expect_that

    step = page.get_by_role("region", name="Step 6: Send a test")
    step.get_by_role("button", name="Send test").click()
    result = step.locator(".result-ok, .result-bad")
    expect_that(result).to_contain_text(expect, timeout=60_000)
    return result.inner_text()


def test_graph_guided_setup_to_a_test_send_and_outbox_retry(op_page, world, log_in, axe, narrow, screenshot):
    s = world.standin
    tenant = s.add_tenant(TENANT, mailboxes={SENDER, OTHER})
    app = tenant.add_app(CLIENT, roles=set())  # registered; Mail.Send not granted yet
    page = op_page()
    log_in(page, world.operator.email)
    _open(page, "Microsoft Graph")
    page.get_by_role("heading", name="Step 1: Register the app").wait_for(timeout=30_000)
    # steps are gated: later controls are disabled until the earlier steps are marked done
    assert page.get_by_label("Group email address").is_disabled()
    assert page.get_by_role("button", name="Save and use Microsoft Graph").is_disabled()
    assert page.get_by_role("button", name="Send test").is_disabled()
    assert page.get_by_role("button", name="Mark step 1 done").is_disabled()
    axe(page)
    screenshot(page, "graph-gated")

    # (1) the certificate: made on the server, its .cer downloaded and uploaded to the app registration
    page.get_by_role("button", name="Create the certificate").click()
    page.get_by_text("Certificate created.").wait_for(timeout=30_000)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download the .cer file").click()
    assert dl.value.suggested_filename.endswith(".cer")
    der = Path(dl.value.path()).read_bytes()
    assert der[:1] == b"\x30"  # DER, what Entra's Upload certificate takes
    uploaded = app.upload(der)
    assert uploaded.sha1.hex().upper() in page.get_by_text("Certificate created.").inner_text()
    page.get_by_label("Application (client) ID").first.fill("not-a-guid")
    page.get_by_text("Not valid: A GUID, as on the").wait_for()
    page.get_by_label("Application (client) ID").first.fill(CLIENT)
    page.get_by_role("button", name="Mark step 1 done").click()

    # (2) the mail-enabled security group
    page.get_by_label("Sender mailbox (the group's only member)").fill(SENDER)
    page.get_by_label("Group email address").fill(GROUP)
    page.get_by_role("button", name="Mark step 2 done").click()

    # (3) the access policy: copy-ready PowerShell with the values filled in, the hour-long warning
    new_policy = (
        page.get_by_role("figure", name="New-ApplicationAccessPolicy command", exact=True).locator("pre").inner_text()
    )
    assert f"New-ApplicationAccessPolicy -AppId {CLIENT} -PolicyScopeGroupId {GROUP} -AccessRight RestrictAccess" in (
        new_policy
    )
    assert page.get_by_role("figure", name="Test-ApplicationAccessPolicy for the sender", exact=True).locator(
        "pre"
    ).inner_text() == (f"Test-ApplicationAccessPolicy -Identity {SENDER} -AppId {CLIENT}")
    page.get_by_label("Another mailbox, outside the group").fill(OTHER)
    assert page.get_by_role("figure", name="Test-ApplicationAccessPolicy for another mailbox", exact=True).locator(
        "pre"
    ).inner_text() == (f"Test-ApplicationAccessPolicy -Identity {OTHER} -AppId {CLIENT}")
    assert "more than an hour" in page.get_by_role("note").inner_text()
    tenant.restrict(CLIENT, set())  # the customer ran the policy but forgot to add the sender to the group
    assert page.get_by_role("button", name="Mark step 4 done").is_disabled()
    page.get_by_label("The sender showed Granted").check()
    page.get_by_role("button", name="Mark step 3 done").click()

    # (4) Mail.Send and consent: the exact portal path (the test "forgets" to grant it, for the diagnosis)
    step4 = page.get_by_role("region", name="Step 4: Only now")
    assert "API permissions › Add a permission › Microsoft Graph › Application permissions" in step4.inner_text()
    page.get_by_label("Mail.Send (Application) shows").check()
    page.get_by_role("button", name="Mark step 4 done").click()

    # (5) the three values, with a wrong client ID first; the stand-in's hosts under "advanced"
    page.get_by_label("Sender email address").fill(SENDER)
    page.get_by_label("Directory (tenant) ID").fill("not a tenant")
    page.get_by_text("Not valid: A GUID from the app's Overview page, or the tenant's domain").wait_for()
    page.get_by_label("Directory (tenant) ID").fill(TENANT)
    page.get_by_label("Application (client) ID").nth(1).fill(WRONG_CLIENT)
    page.get_by_text("Advanced: national clouds").click()
    page.get_by_label("Microsoft cloud").select_option("custom")
    page.get_by_label("Login host").fill(s.host)
    page.get_by_label("Graph host").fill(s.api_host)
    page.get_by_role("button", name="Save and use Microsoft Graph").click()
    page.get_by_text(f"Saved: the server now sends through Microsoft Graph as {SENDER}.").wait_for(timeout=30_000)
    axe(page)

    # a notification queued now fails on the wrong client ID and, after the one allowed attempt, is a dead letter
    from c11.server.outbox.service import enqueue

    with accountkit.database(world.server) as db, db.session() as sess:
        enqueue(sess, "admin_alert", "ops@contoso.example", "Operator page dead letter", "A plain message.")
    deadline = time.monotonic() + 60
    while not any(
        m["subject"] == "Operator page dead letter" and m["status"] == "dead" for m in _status(world)["messages"]
    ):
        assert time.monotonic() < deadline, _status(world)
        time.sleep(0.5)

    # (6) the test send and each diagnosis, in plain words
    page.get_by_label("Send the test to").fill("admin@ourcompany.example")
    text = _test_send(page, "Not sent: Wrong client ID.")
    assert "AADSTS700016" in text
    screenshot(page, "graph-wrong-client-id")
    page.get_by_label("Application (client) ID").nth(1).fill(CLIENT)
    page.get_by_role("button", name="Save and use Microsoft Graph").click()
    page.get_by_text(f"Saved: the server now sends through Microsoft Graph as {SENDER}.").wait_for(timeout=30_000)
    _test_send(page, "Not sent: Mail.Send permission or admin consent missing.")
    app.roles.add("Mail.Send")  # the customer grants Mail.Send with admin consent
    text = _test_send(page, "Not sent: Sender mailbox outside the access policy.")
    assert "Test-ApplicationAccessPolicy" in text
    screenshot(page, "graph-outside-policy")
    tenant.restrict(CLIENT, {GROUP, SENDER})  # the sender joins the policy's group
    text = _test_send(page, "Sent.")
    assert f"sending as {OTHER} is refused, as it should be" in text
    assert any("admin@ourcompany.example" in str(d["body"]) and d["mailbox"] == SENDER for d in s.delivered)
    axe(page)
    screenshot(page, "graph-sent")
    narrow(page, "graph-sent")

    # the other diagnoses: the certificate not (or no longer) uploaded, and throttling
    uploaded_keys = list(app.keys)
    app.keys.clear()
    text = _test_send(page, "Not sent: Certificate not uploaded.")
    assert "AADSTS700027" in text and uploaded.sha1.hex().upper() in text
    app.upload(der, end=datetime.now(UTC) - timedelta(days=1))  # Entra's copy ended yesterday
    text = _test_send(page, "Not sent: Certificate expired.")
    assert "The key used is expired" in text
    app.keys.clear()
    app.keys.extend(uploaded_keys)
    s.throttle(1, retry_after=3)
    text = _test_send(page, "Not sent: Throttled by Microsoft Graph.")
    assert "429" in text
    _test_send(page, "Sent.")

    # certificate expiry and the renewal path: two live certificates
    certs = page.get_by_role("list", name="Certificates")
    assert "days left" in certs.inner_text() and "valid until" in certs.inner_text()
    page.get_by_role("button", name="Create a renewal certificate").click()
    certs.get_by_role("listitem").nth(1).wait_for(timeout=30_000)
    assert certs.get_by_role("listitem").count() == 2
    with authed(world.server, world.operator.token) as h:
        live = h.get("/api/v1/org/notifications").json()["transport"]["certificates"]
    assert len(live) == 2

    # the outbox page: the dead letter with its last error; retry requeues it and it is delivered now
    _open(page, "Notifications")
    row = page.get_by_role("listitem", name="Operator page dead letter to ops@contoso.example")
    row.wait_for(timeout=30_000)
    assert "dead letter after 1 attempt" in row.inner_text() and "AADSTS700016" in row.inner_text()
    assert "Microsoft Graph" in page.get_by_role("definition").first.inner_text()
    axe(page)
    screenshot(page, "outbox-dead")
    narrow(page, "outbox-dead")
    row.get_by_role("button", name="Retry now: Operator page dead letter to ops@contoso.example").click()
    page.get_by_text("ops@contoso.example: 1 message queued again.").wait_for(timeout=30_000)
    deadline = time.monotonic() + 60
    while not any("ops@contoso.example" in str(d["body"]) for d in s.delivered):
        assert time.monotonic() < deadline, _status(world)
        time.sleep(0.5)
    page.get_by_role("button", name="Refresh").click()
    page.get_by_role("listitem", name="Operator page dead letter to ops@contoso.example").wait_for(
        state="detached", timeout=30_000
    )
    screenshot(page, "outbox-after-retry")
