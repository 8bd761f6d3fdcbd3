"""Per-address rate limits of the routes anyone can call (c11.server.ratelimits, docs/server.md Limits):
a limit triggers with a 429 problem and Retry-After, resets, counts the address a trusted proxy names (and
only then), holds across two server processes for sign-ups (database), and leaves loopback alone by default."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import event, func, insert, select
from srvkit import server_config, sqlite_from_template, start_server

from c11.errors import ConfigError
from c11.server.accounts.models import LoginAttempt
from c11.server.config import load_config
from c11.server.db import Database, utcnow
from c11.server.ratelimits import RateLimiter, bucket_of, group_of, parse_groups


def test_groups_cover_the_anonymous_routes_and_parse_overrides() -> None:
    assert group_of("POST", "/api/v1/accounts/signup/start") == "signup"
    assert group_of("POST", "/api/v1/accounts") == "signup"
    assert group_of("POST", "/api/v1/accounts/password-reset/complete") == "reset"
    assert group_of("POST", "/api/v1/sessions/opaque/start") == "login"
    assert group_of("GET", "/api/v1/log/checkpoint") == "reads"
    assert group_of("GET", "/api/v1/keyserver/key") == "reads"
    assert group_of("GET", "/api/v1/keys") == "lookups"
    assert group_of("POST", "/api/v1/invitations/claim") == "invitations"
    assert group_of("GET", "/api/v1/request-links/abc") == "links"
    assert group_of("POST", "/api/v1/keyserver/release") is None  # its own per-user limit
    assert group_of("GET", "/healthz") is None
    groups = parse_groups("lookups=5000/60, signup=off")
    assert groups["lookups"].limit == 5000 and "signup" not in groups and groups["reads"].limit == 1200
    assert parse_groups("off") == {}
    for bad in ("lookups=5000", "nosuch=1/1", "reads=1/1;x"):
        with pytest.raises(ConfigError):
            parse_groups(bad)


def test_a_bad_setting_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rate_limits"):
        load_config(env={"C11_DATA_DIR": str(tmp_path), "C11_RATE_LIMITS": "reads=fast"})


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two servers (as two worker processes) on one database, behind a trusted proxy at 127.0.0.1."""
    data = tmp_path_factory.mktemp("rl")
    config = server_config(
        data,
        f"sqlite:///{data / 'c11.db'}",
        trusted_proxies="127.0.0.1/32",
        rate_limits="reads=3/9,signup=2/3600",
    )
    first = start_server(config)
    second = start_server(config)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def _as(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_a_read_limit_triggers_with_retry_after_and_resets(servers) -> None:  # type: ignore[no-untyped-def]
    first, _ = servers
    with httpx.Client(base_url=first.url) as h:
        url = "/api/v1/log/key"
        assert [h.get(url, headers=_as("203.0.113.5")).status_code for _ in range(3)] == [200] * 3
        r = h.get(url, headers=_as("203.0.113.5"))
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "urn:c11:problem:rate-limited" and problem["status"] == 429
        wait = int(r.headers["retry-after"])
        assert 1 <= wait <= 3 and problem["retry_after"] == wait
        assert h.get(url, headers=_as("203.0.113.6")).status_code == 200  # another address: its own budget
        assert h.get(url).status_code == 200  # the proxy itself (loopback, no forwarded address): not limited
        time.sleep(wait + 0.1)
        assert h.get(url, headers=_as("203.0.113.5")).status_code == 200  # refilled


def test_signups_are_counted_across_processes(servers) -> None:  # type: ignore[no-untyped-def]
    first, second = servers
    body = {"email": "rl@example.com", "registration_request": "AAAA"}
    with httpx.Client(base_url=first.url) as a, httpx.Client(base_url=second.url) as b:
        who = _as("198.51.100.7")
        assert a.post("/api/v1/accounts/signup/start", json=body, headers=who).status_code != 429
        assert b.post("/api/v1/accounts/signup/start", json=body, headers=who).status_code != 429
        r = a.post("/api/v1/accounts/signup/start", json=body, headers=who)
        assert r.status_code == 429 and r.json()["type"] == "urn:c11:problem:rate-limited"
        assert int(r.headers["retry-after"]) > 3000  # the oldest of the two leaves the hour's window
        assert b.post("/api/v1/accounts", json=body, headers=who).status_code == 429  # the other process agrees
        assert b.post("/api/v1/accounts/signup/start", json=body, headers=_as("198.51.100.8")).status_code != 429


def test_a_forwarded_address_from_an_untrusted_peer_is_not_believed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="c11.server.ratelimits")
    config = server_config(
        tmp_path, f"sqlite:///{tmp_path / 'c11.db'}", rate_limits="reads=2/60", rate_limit_loopback=True
    )
    server = start_server(config)
    try:
        with httpx.Client(base_url=server.url) as h:
            codes = [h.get("/api/v1/log/key", headers=_as(f"203.0.113.{i}")).status_code for i in range(4)]
        assert codes == [200, 200, 429, 429]  # every request counts for the TCP peer, whatever it claims
        warnings = [r.getMessage() for r in caplog.records if "trusted_proxies is unset" in r.getMessage()]
        assert len(warnings) == 1 and "127.0.0.1" in warnings[0]  # said once per process, naming the proxy
    finally:
        server.stop()


def test_ipv6_clients_count_by_their_64_and_ipv4_by_address() -> None:
    assert bucket_of("2001:db8:1:2:aaaa::1") == bucket_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert bucket_of("2001:db8:1:3::1") != bucket_of("2001:db8:1:2::1")
    assert bucket_of("::ffff:192.0.2.7") == bucket_of("192.0.2.7") == "192.0.2.7"
    assert bucket_of("192.0.2.8") != bucket_of("192.0.2.7") and bucket_of("unknown") == "unknown"
    limiter = RateLimiter(SimpleNamespace(config=SimpleNamespace(rate_limits=None)))  # type: ignore[arg-type]
    login = limiter.groups["login"]
    refused = sum(bool(limiter.take(login, f"2001:db8::{i:x}")) for i in range(1, 201))  # rotating in one /64
    assert refused == 200 - login.limit
    assert limiter.take(login, "2001:db8:0:1::1") == 0  # the next /64 has its own budget


def test_the_shared_limit_purges_expired_rows_at_most_once_a_minute(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rl.db'}"
    sqlite_from_template(url)
    db = Database(url)
    limiter = RateLimiter(SimpleNamespace(db=db, config=SimpleNamespace(rate_limits="signup=3/3600")))  # type: ignore[arg-type]
    signup = limiter.groups["signup"]
    with db.session() as s:  # rows of the window from elsewhere, and an expired one
        s.execute(
            insert(LoginAttempt), [{"scope": "rl-signup", "key": f"addr:x{i}", "at": utcnow()} for i in range(50)]
        )
        s.add(LoginAttempt(scope="rl-signup", key="addr:old", at=utcnow() - timedelta(hours=2)))
    deletes: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: deletes.append(a[2]) if "DELETE" in a[2] else None)
    waits = [limiter.take_shared(signup, f"2001:db8::{i:x}") for i in range(1, 6)]
    assert waits[:3] == [0, 0, 0] and all(w > 3000 for w in waits[3:])  # one /64, counted in the database
    assert len(deletes) == 1  # the first request purged; the next four only counted (index on scope, key, at)
    with db.session() as s:
        assert s.scalar(select(func.count()).where(LoginAttempt.key == "addr:old")) == 0
        assert s.scalar(select(func.count()).where(LoginAttempt.key == "addr:2001:db8::/64")) == 3


def test_a_proxy_in_front_without_trusted_proxies_is_warned_about_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from c11.server.ratelimits import warn_at_start

    caplog.set_level(logging.WARNING, logger="c11.server.ratelimits")

    def config(**env: str):  # type: ignore[no-untyped-def]
        return load_config(env={"C11_DATA_DIR": str(tmp_path), **env})

    behind = {"C11_PUBLIC_URL": "https://c11.example.com"}
    assert warn_at_start(config(**behind))  # listens on 127.0.0.1, reached by name: a local proxy
    assert "trusted_proxies is unset" in caplog.text and "exempt: loopback" in caplog.text
    assert warn_at_start(config(C11_HOST="10.1.2.3", **behind))  # a private address behind a load balancer
    assert not warn_at_start(config(C11_TRUSTED_PROXIES="127.0.0.1/32", **behind))  # told whom to believe
    assert not warn_at_start(config(C11_RATE_LIMITS="off", **behind))  # no limits to get wrong
    assert not warn_at_start(config())  # a development server on loopback, reached there
    assert not warn_at_start(config(C11_PUBLIC_URL="http://127.0.0.1:8080"))
    assert not warn_at_start(config(C11_HOST="1.2.3.4", **behind))  # a public address: clients come directly
