"""`c11 org scim-tokens create|list|revoke [--json]` through the real CLI against the real server."""

from __future__ import annotations

import json

import httpx
from scimkit import add_admin
from srvkit import PASSWORD, run_cli


def _login(server, cfg, email):
    r = run_cli(["login", "--server", server.url, "--email", email], cfg, {"C11_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stderr


def test_scim_tokens_cli(org, tmp_path):
    cfg = tmp_path / "admin"
    _login(org.server, cfg, org.admin)
    r = run_cli(["org", "scim-tokens", "create", "--name", "entra"], cfg)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("c11scim_") and "will not be shown again" in r.stderr
    assert f"{org.server.url}/scim/v2" in r.stderr and "does not expire" in r.stderr
    users = httpx.get(f"{org.server.url}/scim/v2/Users", headers={"authorization": f"Bearer {token}"})
    assert users.status_code == 200 and users.json()["totalResults"] == 1

    r = run_cli(["org", "scim-tokens", "create", "--name", "okta", "--expires-in", "30", "--json"], cfg)
    assert r.returncode == 0, r.stderr
    okta = json.loads(r.stdout)
    assert okta["token"].startswith("c11scim_") and okta["expires_at"] and okta["scim_url"].endswith("/scim/v2")

    r = run_cli(["org", "scim-tokens", "list", "--json"], cfg)
    listed = {t["name"]: t for t in json.loads(r.stdout)}
    assert set(listed) == {"idp", "entra", "okta"} and "token" not in listed["entra"]
    assert listed["entra"]["last_used_at"] and listed["okta"]["last_used_at"] is None
    assert token not in r.stdout and okta["token"] not in r.stdout
    text = run_cli(["org", "scim-tokens", "list"], cfg).stdout
    assert "entra" in text and "never used" in text and "no expiry" in text

    r = run_cli(["org", "scim-tokens", "revoke", listed["entra"]["id"]], cfg)
    assert r.returncode == 0 and "revoked" in r.stderr
    assert httpx.get(f"{org.server.url}/scim/v2/Users", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in run_cli(["org", "scim-tokens", "list"], cfg).stdout

    r = run_cli(["org", "scim-tokens", "revoke", "0" * 32], cfg)
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_scim_tokens_cli_refuses_without_permission(org, tmp_path):
    member, _ = add_admin(org, {"crud:members-org"})
    cfg = tmp_path / "member"
    _login(org.server, cfg, member)
    r = run_cli(["org", "scim-tokens", "create", "--name", "x"], cfg)
    assert r.returncode != 0 and "crud:groups-scim-tokens-org" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_scim_tokens_cli_help_and_login(tmp_path):
    r = run_cli(["org", "scim-tokens", "--help"], tmp_path / "none")
    assert r.returncode == 0 and "create" in r.stdout and "revoke" in r.stdout
    r = run_cli(["org", "scim-tokens", "list"], tmp_path / "none")
    assert r.returncode != 0 and "c11 login" in r.stderr and "Traceback" not in r.stderr
