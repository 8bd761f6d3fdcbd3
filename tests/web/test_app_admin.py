"""The admin console (/admin/...) in Chromium against a live server on PostgreSQL: members (search, status, key
type, CSV upload with good and bad rows, invitations with temporary keys, resend, deactivate, reactivate), admins
and permissions (grant only what you hold, never the last member admin; an admin holding one permission sees only
that part and the API refuses the rest), usage (charts drawn by uPlot, the CSV export byte for byte the CLI's,
a log proof checked in the page) and settings (policies, domains, signature keys, SCIM tokens)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import accountkit
import httpx
import pytest
from conftest import KEY_PASSPHRASE, Person
from dnskit import dns_server
from srvkit import PASSWORD, authed, run_cli, server_config, start_server

ALL = [
    "crud:config-org",
    "crud:encryption-keys-org",
    "crud:groups-org",
    "crud:groups-scim-tokens-org",
    "crud:invitations-org",
    "crud:members-org",
    "crud:recovery-keys-org",
    "crud:signature-keys-org",
    "read:events-org",
]


class World:
    def __init__(self, server: Any, tmp: Any) -> None:
        self.server = server
        self.domain = f"adm{uuid.uuid4().hex[:8]}.example.com"  # verified for this organization only
        self.root = Person(server, "root", tmp)  # CLI logged in (the CSV comparison), a published key
        self.carol = accountkit.signup(server, "carol", login=True)  # made an admin in the page (one permission)
        self.dave = accountkit.signup(server, "dave", login=True)  # an admin holding crud:members-org only
        self.org_name = f"Admin Org {uuid.uuid4().hex[:6]}"
        self.org = accountkit.make_org(
            server, self.root.email, [self.carol.email, self.dave.email], name=self.org_name, domains=[self.domain]
        )
        with accountkit.client(server, self.root.email) as c:
            self.root_token = c.token or ""


@pytest.fixture(scope="module")
def world(web_server, tmp_path_factory) -> World:  # noqa: ANN001
    return World(web_server, tmp_path_factory.mktemp("admin"))


def _open(page, section: str) -> None:  # noqa: ANN001
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name=section, exact=True).click()


def test_members_csv_upload_invitations_deactivate(page, world, log_in, tmp_path, axe, narrow, screenshot):
    log_in(page, world.root.email)
    _open(page, "Members")
    members = page.get_by_role("list", name="Members")
    members.get_by_role("listitem", name=world.carol.email).wait_for(timeout=30_000)
    assert "published key (X-Wing, post-quantum)" in members.get_by_role("listitem", name=world.root.email).inner_text()
    page.get_by_label("Search").fill("carol-")
    assert members.get_by_role("listitem").count() == 1
    page.get_by_label("Search").fill("")

    new = [f"n{i}-{uuid.uuid4().hex[:6]}@{world.domain}" for i in range(3)]
    csv = tmp_path / "staff.csv"
    csv.write_text(f'email,name\n{new[0]},A\n# a comment\nnot-an-address,B\n\n{new[1].upper()};C\n"{new[2]}"\nx@y\n')
    page.get_by_label("Email addresses").fill(f"{new[0]} also-bad")
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("3 to add, 3 bad rows.").wait_for()
    bad = page.get_by_role("list", name="Bad rows").inner_text()
    assert 'typed "also-bad"' in bad and 'staff.csv, line 4: "not-an-address"' in bad and 'line 8: "x@y"' in bad
    assert page.get_by_role("list", name="To add").inner_text().split() == new
    axe(page)
    screenshot(page, "members-preview")
    narrow(page, "members-preview")
    page.get_by_role("button", name="Add 3 members and send invitations").click()
    page.get_by_text("3 added, 0 not added.").wait_for(timeout=30_000)
    assert "invitation sent; temporary key" in page.get_by_role("list", name="Results").inner_text()
    row = members.get_by_role("listitem", name=new[0])
    row.wait_for()
    assert "temporary key (invitation pending)" in row.inner_text()

    row.get_by_role("button", name=f"Resend invitation to {new[0]}").click()
    page.get_by_text(f"{new[0]}: invitation sent again.").wait_for(timeout=30_000)
    row.get_by_role("button", name=f"Deactivate {new[0]}").click()
    page.get_by_text(f"{new[0]}: deactivated.").wait_for(timeout=30_000)
    page.get_by_label("Status").select_option("deactivated")
    assert members.get_by_role("listitem").count() == 1 and "deactivated" in row.inner_text()
    with authed(world.server, world.carol.token) as h:  # carol is no admin yet: the API refuses her
        assert h.get("/api/v1/org/members").status_code == 403
    row.get_by_role("button", name=f"Reactivate {new[0]}").click()
    page.get_by_text(f"{new[0]}: reactivated.").wait_for(timeout=30_000)
    axe(page)
    screenshot(page, "members")
    narrow(page, "members")


def test_admins_grant_what_you_hold_and_one_permission_admin(new_page, world, log_in, axe, narrow, screenshot):
    root = new_page()
    log_in(root, world.root.email)
    _open(root, "Admins")
    me = root.get_by_role("list", name="Admins").get_by_role("listitem", name=world.root.email)
    me.wait_for(timeout=30_000)
    assert "last admin who can manage members" in me.inner_text()
    assert me.get_by_role("button", name="Demote").count() == 0
    # the server refuses removing the last member admin, whatever the page shows
    with authed(world.server, world.root_token) as h:
        r = h.delete("/api/v1/org/admins", params={"email": world.root.email})
    assert r.status_code == 409 and r.json()["type"].endswith("last-admin"), r.text

    # carol: one permission (read:events-org), granted in the page
    root.get_by_label("Member's email").fill(world.carol.email)
    root.get_by_label("read:events-org").check()
    axe(root)
    root.get_by_role("button", name="Make admin").click()
    root.get_by_text(f"{world.carol.email} is an admin now.").wait_for(timeout=30_000)
    # dave: crud:members-org only
    root.get_by_label("Member's email").fill(world.dave.email)
    root.get_by_label("crud:members-org").check()
    root.get_by_role("button", name="Make admin").click()
    root.get_by_text(f"{world.dave.email} is an admin now.").wait_for(timeout=30_000)
    screenshot(root, "admins")
    narrow(root, "admins")

    carol = new_page()
    log_in(carol, world.carol.email)
    carol.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    sub = carol.get_by_role("navigation", name="Admin")
    sub.get_by_role("link", name="Usage").wait_for(timeout=30_000)
    assert [x.strip() for x in sub.inner_text().split("\n") if x.strip()] == ["Overview", "Usage"]
    carol.goto("/admin/members")  # a reload logs out (memory-only session): the page asks for a login
    carol.get_by_text("The admin console opens after you").wait_for()
    with authed(world.server, world.carol.token) as h:
        assert h.get("/api/v1/org/events").status_code == 200
        for method, path, body in [
            ("GET", "/api/v1/org/members", None),
            ("POST", "/api/v1/org/members", {"emails": [f"z@{world.domain}"]}),
            ("PUT", "/api/v1/org/policies", {"require_online": True}),
            ("GET", "/api/v1/org/scim-tokens", None),
            ("GET", "/api/v1/org/signature-keys", None),
            ("PUT", "/api/v1/org/admins", {"email": world.carol.email, "permissions": ["read:events-org"]}),
        ]:
            r = h.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["type"].endswith("missing-permission"), (path, r.text)

    dave = new_page()
    log_in(dave, world.dave.email)
    _open(dave, "Admins")
    form = dave.get_by_role("form", name="Designate an admin")
    form.wait_for(timeout=30_000)
    assert form.get_by_label("crud:members-org").is_enabled()
    assert form.get_by_label("read:events-org").count() == 0  # not held: not offered
    assert "8 other permissions are not offered" in form.inner_text()
    r0 = dave.get_by_role("list", name="Admins").get_by_role("listitem", name=world.root.email)
    assert "Holds permissions you do not" in r0.inner_text() and r0.get_by_role("button").count() == 0
    axe(dave)
    screenshot(dave, "admins-dave")
    with authed(world.server, world.dave.token) as h:  # the server refuses it anyway
        r = h.put("/api/v1/org/admins", json={"email": world.carol.email, "permissions": ["read:events-org"]})
        assert r.status_code == 403 and r.json()["type"].endswith("cannot-grant"), r.text
        assert h.get("/api/v1/org/events").status_code == 403

    # root withdraws carol's permission in the page: Change permissions, then Demote
    item = root.get_by_role("list", name="Admins").get_by_role("listitem", name=world.carol.email)
    item.get_by_role("button", name=f"Demote {world.carol.email}").click()
    root.get_by_text(f"{world.carol.email} is no longer an admin.").wait_for(timeout=30_000)
    with authed(world.server, world.carol.token) as h:
        assert h.get("/api/v1/org/events").status_code == 403


def test_usage_charts_csv_like_the_cli_and_log_proof(page, world, log_in, tmp_path, axe, narrow, screenshot):
    today = datetime.now(UTC).date()
    # an admin change of root's own, so the test does not lean on the tests before it (xdist may run it alone)
    with authed(world.server, world.root_token) as h:
        r = h.post(
            "/api/v1/org/encryption-policies",
            json={"name": f"usage-{uuid.uuid4().hex[:8]}", "emails": [world.root.email]},
        )
    assert r.status_code == 201, r.text
    log_in(page, world.root.email)
    _open(page, "Usage")
    page.get_by_label("Person (email)").fill(world.root.email)
    page.get_by_label("Action").select_option("admin")
    page.get_by_label("From (UTC day)").fill((today - timedelta(days=89)).isoformat())
    page.get_by_label("To (UTC day, included)").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    status = page.locator("[data-chart-ms]")
    status.wait_for(timeout=30_000)  # uPlot drew the chart
    assert page.locator(".chart canvas").count() == 2  # per day, most active people
    events = page.get_by_role("list", name="Events").get_by_role("listitem")
    n = events.count()
    # the world's set-up (and, on the same xdist worker, the tests before) made admin changes: at least one
    assert n >= 1 and f"{n} events from" in status.inner_text()
    assert world.root.email in page.get_by_role("list", name="Most active people").inner_text()
    page.get_by_text("Events per day as a table").click()
    assert today.isoformat() in page.locator("table.data").inner_text()
    axe(page)
    screenshot(page, "usage")
    narrow(page, "usage")

    first = events.first
    first.get_by_role("button", name="Check the log proof").click()
    first.get_by_text("is in the log (checkpoint of").wait_for(timeout=30_000)

    page.get_by_role("button", name="Prepare the CSV export").click()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Save c11-events.csv").click()
    got = tmp_path / "page.csv"
    dl.value.save_as(str(got))
    cli = tmp_path / "cli.csv"
    since, until = (today - timedelta(days=89)).isoformat(), today.isoformat()
    args = ["org", "events", "--csv", "-o", str(cli), "--user", world.root.email, "--action", "admin"]
    r = world.root.cli(*args, "--since", since, "--until", until)
    assert r.returncode == 0, r.stderr
    assert got.read_bytes() == cli.read_bytes() and got.read_bytes().count(b"\r\n") == n + 1


def test_settings_policies_scim_signature_keys_domains(page, world, log_in, axe, narrow, screenshot):
    log_in(page, world.root.email)
    _open(page, "Settings")
    page.get_by_label("allow_member_listing", exact=False).check()
    page.get_by_label("Default expiry of documents (days; empty: none)").fill("90")
    page.get_by_role("button", name="Save policies").click()
    page.get_by_text("Policies saved").wait_for(timeout=30_000)
    with authed(world.server, world.root_token) as h:
        pol = h.get("/api/v1/org").json()["policies"]
        assert pol["allow_member_listing"] is True and pol["default_expiry_days"] == 90

    assert page.locator("[data-scim-endpoint]").inner_text() == f"{world.server.url}/scim/v2"  # before any token
    page.get_by_label("Token name").fill("entra-provisioning")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("[data-scim-token]")
    token.wait_for(timeout=30_000)
    assert page.locator("[data-scim-url]").inner_text().endswith("/scim/v2")
    secret = token.inner_text()
    with httpx.Client(base_url=world.server.url, headers={"authorization": f"Bearer {secret}"}) as h:
        assert h.get("/scim/v2/Users").status_code == 200  # the token provisions
    scim = page.get_by_role("list", name="SCIM tokens")
    assert "entra-provisioning · active" in scim.inner_text()
    screenshot(page, "settings")
    narrow(page, "settings")
    scim.get_by_role("button", name="Revoke the SCIM token entra-provisioning").click()
    scim.get_by_text("entra-provisioning · revoked").wait_for(timeout=30_000)
    with httpx.Client(base_url=world.server.url, headers={"authorization": f"Bearer {secret}"}) as h:
        assert h.get("/scim/v2/Users").status_code == 401

    keys = page.get_by_role("list", name="Signature keys")
    assert "signing key" in keys.get_by_role("listitem").filter(has_text=world.root.email).inner_text()

    other = f"d{uuid.uuid4().hex[:8]}.example.org"
    page.get_by_label("Domain", exact=True).fill(other)
    page.get_by_label("Prove it by").select_option("postmaster")
    page.get_by_role("button", name="Add domain").click()
    page.get_by_text(f"A confirmation link was mailed to postmaster@{other}").wait_for(timeout=30_000)
    assert f"{other} · pending" in page.get_by_role("list", name="Domains").inner_text()
    axe(page)
    screenshot(page, "settings-after")


#: Per permission: the Admin sections shown and the parts of Settings shown (every other one absent).
SECTIONS = ["Members", "Admins", "Usage", "Groups", "Recovery keys", "Encryption policies", "Settings"]
SETTINGS_PARTS = ["Organization policies", "Domains", "Signature keys", "SCIM provisioning tokens"]
SHOWN = {
    "crud:config-org": (["Encryption policies", "Settings"], ["Organization policies", "Domains"]),
    "crud:encryption-keys-org": ([], []),  # pre-loading members also needs crud:members-org: nothing alone
    "crud:groups-org": (["Groups"], []),
    "crud:groups-scim-tokens-org": (["Settings"], ["SCIM provisioning tokens"]),
    "crud:invitations-org": (["Members"], []),  # the invitations and their Resend, not the member list
    "crud:members-org": (["Members", "Admins"], []),
    "crud:recovery-keys-org": (["Recovery keys"], []),
    "crud:signature-keys-org": (["Settings"], ["Signature keys"]),
    "read:events-org": (["Usage"], []),
    "all": (SECTIONS, SETTINGS_PARTS),
}
#: One call per permission (bodies invalid on purpose: a holder gets 422, nothing changes); 403
#: missing-permission for any admin without it. Pre-loading needs crud:members-org and crud:encryption-keys-org.
PROBES = {
    "crud:config-org": ("GET", "/api/v1/org/domains", None),
    "crud:encryption-keys-org": ("POST", "/api/v1/org/members/preload", {}),
    "crud:groups-org": ("POST", "/api/v1/org/groups", {}),
    "crud:groups-scim-tokens-org": ("GET", "/api/v1/org/scim-tokens", None),
    "crud:invitations-org": ("GET", "/api/v1/org/invitations", None),
    "crud:members-org": ("GET", "/api/v1/org/members", None),
    "crud:recovery-keys-org": ("POST", "/api/v1/org/recovery-keys", {}),
    "crud:signature-keys-org": ("GET", "/api/v1/org/signature-keys", None),
    "read:events-org": ("GET", "/api/v1/org/events", None),
}


@pytest.fixture(scope="module")
def single(world) -> dict[str, Any]:  # noqa: ANN001
    """An admin of the world's organization per permission, holding only that one ("all": every permission)."""
    out: dict[str, Any] = {}
    for perm in ALL:
        account = accountkit.signup(world.server, perm.split(":")[1][:10], login=True)
        accountkit.add_member(world.server, world.org, account.email, admin_permissions=perm)
        out[perm] = account
    out["all"] = accountkit.signup(world.server, "all-perms", login=True)
    accountkit.add_member(world.server, world.org, out["all"].email, admin_permissions=" ".join(ALL))
    out["invited"] = f"inv-{uuid.uuid4().hex[:8]}@{world.domain}"  # no account: an invitation, temporary key
    with authed(world.server, world.root_token) as h:
        assert h.post("/api/v1/org/members", json={"emails": [out["invited"]]}).status_code == 200
    return out


@pytest.mark.parametrize("perm", [*ALL, "all"])
def test_each_permission_shows_its_controls_only_and_the_api_refuses_the_rest(
    perm, page, world, single, log_in, axe, screenshot
):  # noqa: ANN001
    account = single[perm]
    sections, parts = SHOWN[perm]
    with authed(world.server, account.token) as h:
        for p, (method, path, body) in PROBES.items():
            r = h.request(method, path, json=body)
            held = perm == "all" or (p == perm and p != "crud:encryption-keys-org")
            if held:
                assert r.status_code != 403, (perm, path, r.text)
            else:
                assert r.status_code == 403 and r.json()["type"].endswith("missing-permission"), (perm, path, r.text)
    log_in(page, account.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    nav = page.get_by_role("navigation", name="Admin")
    nav.get_by_role("link", name="Overview").wait_for(timeout=30_000)
    shown = [x.strip() for x in nav.inner_text().split("\n") if x.strip()]
    assert shown == ["Overview", *[x for x in SECTIONS if x in sections]], (perm, shown)
    listed = page.get_by_role("main").inner_text()
    assert (perm if perm != "all" else ALL[0]) in listed  # the overview lists what they hold
    if "Settings" in sections:
        nav.get_by_role("link", name="Settings").click()
        page.get_by_role("heading", name=f"Settings of {world.org_name}").wait_for()
        page.get_by_role("heading", name=parts[0]).wait_for(timeout=30_000)
        for part in SETTINGS_PARTS:
            assert page.get_by_role("heading", name=part, exact=True).count() == (part in parts), (perm, part)
    if perm == "crud:invitations-org":  # the invitations, with Resend, but no member list and no adding
        nav.get_by_role("link", name="Members").click()
        page.get_by_role("heading", name=f"Invitations of {world.org_name}").wait_for(timeout=30_000)
        row = page.get_by_role("list", name="Invitations").get_by_role("listitem", name=single["invited"])
        assert "pending" in row.inner_text()
        assert page.get_by_role("list", name="Members").count() == 0
        assert page.get_by_role("button", name="Preview").count() == 0
        axe(page)
        row.get_by_role("button", name=f"Resend invitation to {single['invited']}").click()
        page.get_by_text(f"{single['invited']}: invitation sent again.").wait_for(timeout=30_000)
        assert "sent 2 times" in row.inner_text()
        screenshot(page, "invitations")
    if perm == "crud:encryption-keys-org":
        axe(page)
        screenshot(page, "overview-keys-only")


def test_domain_proven_by_a_dns_txt_record(chromium, pg_schemas, tmp_path, axe, narrow, screenshot):
    """Settings > Domains by DNS: the page shows the TXT record; "Check now" before it is published says what to
    do; once a real DNS server on loopback (the server's dns_resolvers) answers it, the domain is verified."""
    with dns_server() as zone:
        server = start_server(
            server_config(tmp_path / "data", pg_schemas.new(), dns_resolvers=zone.resolvers), "postgresql"
        )
        context = chromium.new_context(base_url=server.url)
        try:
            email = accountkit.signup(server, "dns-admin").email
            accountkit.make_org(server, email, [])
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Email", exact=True).fill(email)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_text(f"Logged in as {email}").wait_for(timeout=30_000)
            _open(page, "Settings")
            domain = f"d{uuid.uuid4().hex[:8]}.example.net"
            page.get_by_label("Domain", exact=True).fill(domain)
            assert page.get_by_label("Prove it by").input_value() == "dns"  # the default
            page.get_by_role("button", name="Add domain").click()
            page.get_by_text(f"{domain} is pending: publish its DNS record").wait_for(timeout=30_000)
            name = page.locator("[data-dns-name]").inner_text()
            value = page.locator("[data-dns-value]").inner_text()
            assert name == f"_c11-verification.{domain}" and value.startswith("c11-domain-verification=")
            check = page.get_by_role("button", name=f"Check now the DNS record of {domain}")
            check.click()
            page.get_by_role("alert").get_by_text(f"No TXT record at {name}").wait_for(timeout=30_000)
            axe(page)
            screenshot(page, "dns-pending")
            narrow(page, "dns-pending")
            zone.records[name] = [value]
            check.click()
            page.get_by_text(f"{domain} is verified").wait_for(timeout=30_000)
            assert f"{domain} · verified" in page.get_by_role("list", name="Domains").inner_text()
            assert page.locator("[data-dns-name]").count() == 0 and name in zone.queries
            axe(page)
            screenshot(page, "dns-verified")
        finally:
            context.close()
            server.stop()


REC_PASS = "recovery key passphrase"


def _make_recovery(page, name: str, tmp_path) -> Any:  # noqa: ANN001 - made in the page, saved, confirmed, uploaded
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Passphrase for the key file").fill(REC_PASS)
    page.get_by_label("The same passphrase again").fill(REC_PASS)
    page.get_by_role("button", name="Make the key in this browser").click()
    save = page.get_by_role("link", name="Save c11_recovery_")
    save.wait_for(timeout=60_000)
    upload = page.get_by_role("button", name="Upload the public key")
    assert upload.is_disabled() and page.get_by_label("I saved the recovery key file").is_disabled()
    with page.expect_download() as dl:
        save.click()
    key = tmp_path / dl.value.suggested_filename
    dl.value.save_as(str(key))
    assert upload.is_disabled()  # not before the admin confirms saving it
    page.get_by_label("I saved the recovery key file").check()
    upload.click()
    page.get_by_text(f"Recovery key {name} uploaded").wait_for(timeout=30_000)
    return key


def test_recovery_key_made_in_the_browser_opens_a_members_file(page, world, log_in, tmp_path, axe, narrow, screenshot):
    log_in(page, world.root.email)
    _open(page, "Recovery keys")
    page.get_by_text("No recovery keys yet.").wait_for(timeout=30_000)
    axe(page)
    key = _make_recovery(page, "vault", tmp_path)
    keys = page.get_by_role("list", name="Recovery keys")
    assert "vault · current" in keys.inner_text()
    screenshot(page, "recovery")
    narrow(page, "recovery")

    plain = tmp_path / "minutes.txt"
    plain.write_text("a member's file")
    made = tmp_path / "minutes.txt.c11"
    r = world.root.cli("encrypt", "-r", world.root.email, "-o", str(made), str(plain))  # the org rules add the key
    assert r.returncode == 0, r.stderr
    out = tmp_path / "recovered.txt"
    r = run_cli(
        ["decrypt", "-i", str(key), "-o", str(out), str(made)], tmp_path / "rec-cfg", {"C11_PASSPHRASE": REC_PASS}
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "a member's file"

    keys.get_by_role("button", name="Rotate vault").click()
    _make_recovery(page, "vault", tmp_path / "rotated")
    with authed(world.server, world.root_token) as h:
        listed = h.get("/api/v1/org/recovery-keys").json()["recovery_keys"]
    assert sorted(k["status"] for k in listed) == ["current", "retired"]
    page.once("dialog", lambda d: d.accept())
    keys.get_by_role("listitem").filter(has_text="· current").get_by_role("button", name="Remove vault").click()
    page.get_by_text("Recovery key vault removed.").wait_for(timeout=30_000)
    with authed(world.server, world.root_token) as h:
        assert [k["status"] for k in h.get("/api/v1/org/recovery-keys").json()["recovery_keys"]] == ["retired"]
    axe(page)


def test_group_key_made_in_the_browser_opens_files_for_members_in_the_cli(
    page, world, log_in, tmp_path, axe, narrow, screenshot
):
    erin, frank = Person(world.server, "erin", tmp_path), Person(world.server, "frank", tmp_path)
    mallory = Person(world.server, "mallory", tmp_path)  # a published key the admin never sees listed
    for p in (erin, frank, mallory):
        accountkit.add_member(world.server, world.org, p.email)
    log_in(page, world.root.email)
    _open(page, "Groups")
    page.get_by_text("No groups yet.").wait_for(timeout=30_000)
    page.get_by_label("Group name").fill("team")
    page.get_by_label("Members (emails)").fill(erin.email)
    page.locator("#group-new-key").set_input_files(str(world.root.key))
    page.locator("#group-new-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Create the group and its key").click()
    page.get_by_text("Group team created").wait_for(timeout=60_000)
    group = page.get_by_role("listitem", name="Group team")
    group.get_by_text(f"{erin.email} · has the key").wait_for(timeout=30_000)
    assert "key version 1" in group.inner_text()
    axe(page)
    screenshot(page, "groups")
    narrow(page, "groups")

    plain = tmp_path / "plan.txt"
    plain.write_text("the team's plan")
    made = tmp_path / "plan.txt.c11"
    r = world.root.cli("encrypt", "-r", "group:team", "-o", str(made), str(plain))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "erin.txt"
    r = erin.cli("decrypt", "-i", str(erin.key), "-o", str(out), str(made))  # the wrap made in the browser
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "the team's plan"

    group.get_by_label("Add a member to team").fill(frank.email)
    group.get_by_role("button", name="Add member").click()
    page.get_by_text(f"{frank.email} added to team").wait_for(timeout=30_000)
    group = page.get_by_role("listitem", name="Group team")
    group.get_by_text(f"{frank.email} · waiting for a wrap").wait_for(timeout=30_000)
    out = tmp_path / "frank.txt"
    assert frank.cli("decrypt", "-i", str(frank.key), "-o", str(out), str(made)).returncode != 0
    group.get_by_text("Wrap the key (with your key file)").click()
    group.get_by_label("Your key file (.key)").set_input_files(str(world.root.key))
    group.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    # the server (or another admin) adds mallory after the page listed the members: the click wraps only frank
    with authed(world.server, world.root_token) as h:
        assert h.post("/api/v1/org/groups/team/members", json={"emails": [mallory.email]}).status_code < 300
    group.get_by_role("button", name="Complete pending wraps").click()
    page.get_by_text("1 pending wraps of team completed.").wait_for(timeout=60_000)
    done = page.get_by_text("1 pending wraps of team completed.").inner_text()
    assert done.endswith(f"check them in the member list, then complete again): {mallory.email}.")
    screenshot(page, "groups-unseen")
    r = frank.cli("decrypt", "-i", str(frank.key), "-o", str(out), str(made))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "the team's plan"
    with authed(world.server, world.root_token) as h:
        waiting = [w["email"] for w in h.get("/api/v1/org/group-pending").json()["wraps"] if w["group"] == "team"]
    assert waiting == [mallory.email]
    assert mallory.cli("decrypt", "-i", str(mallory.key), "-o", str(out), str(made)).returncode != 0
    # the same at a rotation: nina, added after the page listed the members, is not wrapped to
    nina = Person(world.server, "nina", tmp_path)
    accountkit.add_member(world.server, world.org, nina.email)
    group = page.get_by_role("listitem", name="Group team")
    group.get_by_text(f"{mallory.email} · waiting for a wrap").wait_for(timeout=30_000)
    group.get_by_text("Wrap the key (with your key file)").click()
    group.get_by_label("Your key file (.key)").set_input_files(str(world.root.key))
    group.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    with authed(world.server, world.root_token) as h:
        assert h.post("/api/v1/org/groups/team/members", json={"emails": [nina.email]}).status_code < 300
    group.get_by_role("button", name="Rotate the key").click()
    rotated = page.get_by_text("New key of team made in this browser: version 2.")
    rotated.wait_for(timeout=60_000)
    assert rotated.inner_text().endswith(f"then complete the pending wraps): {nina.email}.")
    with authed(world.server, world.root_token) as h:
        pending = h.get("/api/v1/org/group-pending").json()["wraps"]
    waiting = {w["email"] for w in pending if w["group"] == "team" and w["version"] == 2}
    assert nina.email in waiting and mallory.email not in waiting and frank.email not in waiting

    group = page.get_by_role("listitem", name="Group team")
    group.get_by_role("button", name=f"Remove {frank.email} from team").click()
    page.get_by_text(f"{frank.email} removed from team").wait_for(timeout=30_000)
    assert frank.email not in page.get_by_role("list", name="Members of team").inner_text()
    axe(page)


def test_sqlite_smoke_usage_chart_and_members(chromium, web_dist, tmp_path):
    """The admin console's one flow on SQLite (the rest run on PostgreSQL): the per-day and per-person
    aggregates (SQL GROUP BY) chart the admin's own events; the member list shows the admin."""
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}"))
    context = chromium.new_context(base_url=server.url)
    try:
        email = accountkit.signup(server, "sqlite-admin").email
        org = accountkit.make_org(server, email, [])
        accountkit.add_member(server, org, f"m-{uuid.uuid4().hex[:6]}@example.com")  # no events of its own
        with accountkit.client(server, email) as c:
            c.org.set_policies({"allow_member_listing": True})  # an admin event today
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text(f"Logged in as {email}").wait_for(timeout=30_000)
        _open(page, "Usage")
        page.get_by_role("button", name="Show", exact=True).click()
        page.locator("[data-chart-ms]").wait_for(timeout=30_000)
        assert f"{email}: 1 events" in page.get_by_role("list", name="Most active people").inner_text()
        _open(page, "Members")
        page.get_by_role("list", name="Members").get_by_role("listitem", name=email).wait_for(timeout=30_000)
    finally:
        context.close()
        server.stop()
