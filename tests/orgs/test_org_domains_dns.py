"""Domains proven by a DNS TXT record (docs/organizations.md#domains): a real DNS server on loopback (dnslib's,
answering TXT from a table the test fills), the c11 server's resolver pointed at it by its `dns_resolvers`
setting, never the network. Abuse: a record of another organization's claim, or of another domain's claim,
proves nothing; an admin without crud:config-org can neither claim nor check."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import accountkit
import pytest
import sqlalchemy as sa
from dnskit import Zone, dns_server
from srvkit import E2E_BACKENDS, RunningServer, authed, backend_server


@pytest.fixture(scope="module")
def zone() -> Iterator[Zone]:
    with dns_server() as z:
        yield z


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def c11_server(request: pytest.FixtureRequest, tmp_path_factory: Any, zone: Zone) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "dns", dns_resolvers=zone.resolvers) as running:
        yield running


def _admin(server: RunningServer, permissions: str | None = None) -> tuple[str, str]:
    """A new organization and its admin's bearer token."""
    account = accountkit.signup(server, "dnsadmin", login=True)
    org = accountkit.make_org(server, account.email, admin_permissions=permissions)
    return org, account.token


def _domain(tag: str) -> str:
    return f"{tag}-{time.monotonic_ns()}.test"


def test_txt_record_proves_the_domain(c11_server, zone):
    z = zone
    org, token = _admin(c11_server)
    domain = _domain("acme")
    with authed(c11_server, token) as h:
        claim = h.post(f"/api/v1/org/domains/{domain}/dns")
        assert claim.status_code == 200, claim.text
        record = claim.json()["dns_record"]
        assert record["name"] == f"_c11-verification.{domain}" and record["type"] == "TXT"
        assert record["value"].startswith("c11-domain-verification=") and len(record["value"]) > 60
        # asking again shows the same record; the list shows it too
        assert h.post(f"/api/v1/org/domains/{domain}/dns").json()["dns_record"] == record
        listed = {d["domain"]: d for d in h.get("/api/v1/org/domains").json()}
        assert listed[domain]["status"] == "pending" and listed[domain]["dns_record"] == record

        missing = h.post(f"/api/v1/org/domains/{domain}/dns/check")
        assert missing.status_code == 409 and missing.json()["type"].endswith("dns-record-missing"), missing.text
        assert record["name"] in missing.json()["detail"]
        assert z.queries[-1] == record["name"]  # the server asked our DNS server, for that name

        z.records[record["name"]] = ["v=spf1 -all", record["value"][:-1] + "x"]  # a near miss is no proof
        assert h.post(f"/api/v1/org/domains/{domain}/dns/check").status_code == 409
        z.records[record["name"]] = ["v=spf1 -all", record["value"]]
        done = h.post(f"/api/v1/org/domains/{domain}/dns/check")
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "verified" and done.json()["method"] == "dns"
        assert done.json()["dns_record"] is None
        again = h.post(f"/api/v1/org/domains/{domain}/dns")
        assert again.status_code == 409  # verified already
        assert h.post(f"/api/v1/org/domains/{domain}/dns/check").status_code == 404  # nothing pending
    with accountkit.database(c11_server) as db, db.engine.connect() as c:
        logged = c.execute(
            sa.text("SELECT data FROM log_entries WHERE kind = 'admin' AND data LIKE :d ORDER BY idx"),
            {"d": f"%{domain}%"},
        ).scalars()
        assert [x for x in logged if '"domain.verify"' in x or '"method":"dns"' in x]


def test_another_claims_record_proves_nothing(c11_server, zone):
    """The record of organization B's claim (or of a claim of another domain) does not prove A's claim."""
    z = zone
    _, token_a = _admin(c11_server)
    _, token_b = _admin(c11_server)
    contested, other = _domain("contested"), _domain("other")
    with authed(c11_server, token_a) as a, authed(c11_server, token_b) as b:
        rec_a = a.post(f"/api/v1/org/domains/{contested}/dns").json()["dns_record"]
        rec_a_other = a.post(f"/api/v1/org/domains/{other}/dns").json()["dns_record"]
        rec_b = b.post(f"/api/v1/org/domains/{contested}/dns").json()["dns_record"]
        assert rec_a["name"] == rec_b["name"] and rec_a["value"] != rec_b["value"]
        # B's admin publishes B's value (they control the contested domain): A's claim stays pending
        z.records[rec_b["name"]] = [rec_b["value"], rec_a_other["value"]]
        assert a.post(f"/api/v1/org/domains/{contested}/dns/check").status_code == 409
        assert b.post(f"/api/v1/org/domains/{contested}/dns/check").json()["status"] == "verified"
        # A's value for `other`, published at `contested`, proves neither
        assert a.post(f"/api/v1/org/domains/{other}/dns/check").status_code == 409
        assert a.get("/api/v1/org/domains").json()[0]["status"] == "pending"


def test_without_config_permission_403(c11_server):
    _, token = _admin(c11_server, "read:events-org")
    with authed(c11_server, token) as h:
        for path in ("/api/v1/org/domains/x.test/dns", "/api/v1/org/domains/x.test/dns/check"):
            r = h.post(path)
            assert r.status_code == 403, (path, r.text)


def test_bad_domain_422_and_no_dns_answer_502(c11_server, monkeypatch):
    _, token = _admin(c11_server)
    with authed(c11_server, token) as h:
        assert h.post("/api/v1/org/domains/not_a_domain/dns").status_code == 422
    from c11.server.orgs import dnscheck

    with pytest.raises(Exception) as e:  # nobody answers on the discard port: a problem, not a hang
        monkeypatch.setattr(dnscheck, "TIMEOUT", 0.3)
        dnscheck.txt_values("_c11-verification.example.test", "127.0.0.1:9")
    assert getattr(e.value, "status", None) == 502
    assert dnscheck.parse_resolvers("192.0.2.1, 127.0.0.1:5353, [::1]:53") == [
        ("192.0.2.1", 53),
        ("127.0.0.1", 5353),
        ("::1", 53),
    ]
    with pytest.raises(ValueError):
        dnscheck.parse_resolvers("dns.example.com")


def test_cli_add_dns_then_check(c11_server, zone, tmp_path):
    """`c11 org domains add D --dns` prints the record; `check` fails in one line until it is published."""
    import json

    from orgkit import cli, login_cli, ok

    account = accountkit.signup(c11_server, "dnscli")
    accountkit.make_org(c11_server, account.email)
    cfg = tmp_path / "cfg"
    login_cli(c11_server, account.email, cfg)
    domain = _domain("cli")
    shown = ok(cli(cfg, "org", "domains", "add", domain, "--dns"))
    record = json.loads(ok(cli(cfg, "org", "domains", "add", domain, "--dns", "--json")).stdout)["dns_record"]
    assert f'{record["name"]}.  TXT  "{record["value"]}"' in shown.stdout
    early = cli(cfg, "org", "domains", "check", domain)
    assert early.returncode != 0 and record["name"] in early.stderr and "Traceback" not in early.stderr
    zone.records[record["name"]] = [record["value"]]
    assert f"{domain} is verified" in ok(cli(cfg, "org", "domains", "check", domain)).stderr
    listed = json.loads(ok(cli(cfg, "org", "domains", "list", "--json")).stdout)
    assert [(d["domain"], d["status"], d["method"]) for d in listed] == [(domain, "verified", "dns")]


def test_a_pending_dns_claim_expires_and_checks_are_rate_limited(c11_server, zone):
    """Review finding 10: a DNS claim older than DNS_TTL (30 days) proves nothing, even with its record published
    (410 `claim-expired`; claiming again gives a new token); "check now" is limited per organization."""
    from c11.server.orgs.domain_routes import DNS_CHECKS
    from c11.server.orgs.domains import DNS_TTL
    from c11.server.orgs.models import OrgDomain

    z = zone
    _, token = _admin(c11_server)
    domain = _domain("stale")
    with authed(c11_server, token) as h:
        old = h.post(f"/api/v1/org/domains/{domain}/dns").json()["dns_record"]
        z.records[old["name"]] = [old["value"]]
        with accountkit.database(c11_server) as db, db.session() as s:
            s.execute(
                sa.update(OrgDomain).where(OrgDomain.domain == domain).values(created_at=_days_ago(DNS_TTL.days + 1))
            )
        r = h.post(f"/api/v1/org/domains/{domain}/dns/check")
        assert r.status_code == 410 and r.json()["type"].endswith("claim-expired"), r.text
        listed = {d["domain"]: d for d in h.get("/api/v1/org/domains").json()}
        assert listed[domain]["status"] == "pending" and listed[domain]["dns_record"] is None
        new = h.post(f"/api/v1/org/domains/{domain}/dns").json()["dns_record"]
        assert new["value"] != old["value"]  # the old record stays useless
        assert h.post(f"/api/v1/org/domains/{domain}/dns/check").status_code == 409
        z.records[new["name"]] = [new["value"]]
        assert h.post(f"/api/v1/org/domains/{domain}/dns/check").json()["status"] == "verified"

    _, token = _admin(c11_server)  # another organization: its own budget
    pending = _domain("busy")
    with authed(c11_server, token) as h:
        h.post(f"/api/v1/org/domains/{pending}/dns").raise_for_status()
        codes = [h.post(f"/api/v1/org/domains/{pending}/dns/check").status_code for _ in range(DNS_CHECKS.limit + 1)]
        assert codes[:-1] == [409] * DNS_CHECKS.limit and codes[-1] == 429
        r = h.post(f"/api/v1/org/domains/{pending}/dns/check")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["type"].endswith("rate-limited")


def _days_ago(days: int) -> Any:
    from datetime import timedelta

    from c11.server.db import utcnow

    return utcnow() - timedelta(days=days)
