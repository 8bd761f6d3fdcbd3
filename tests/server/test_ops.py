"""Operations endpoints (c11.server.ops, docs/server.md "Operations"): /readyz and the Prometheus /metrics."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from srvkit import anon, authed

from c11 import online
from c11.client import Client
from c11.keys.identity import Identity


def _samples(client: httpx.Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(r.text)
        for s in f.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_readyz_and_metrics(server, user, tmp_path):
    with anon(server) as h:
        r = h.get("/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "log_key": "ok"}}
        before = _samples(h)
    doc = uuid.uuid4()
    with authed(server, user["token"]) as h:  # a route with a parameter: counted under its template
        assert h.get(f"/api/v1/documents/{doc}").status_code == 404
    with Client(server.url, user["token"]) as c:  # one allowed key release
        c.state_dir = tmp_path
        me = Identity.generate(user["email"])
        c.keyserver.release(online.prepare(c, me, []).stanza, me)
    with anon(server) as h:
        after = _samples(h)
    route = "/api/v1/documents/{doc_id}"
    key = {"method": "GET", "route": route, "status": "404"}
    assert _value(after, "c11_http_requests_total", **key) - _value(before, "c11_http_requests_total", **key) == 1
    assert not any(str(doc) in dict(labels).get("route", "") for _, labels in after)  # never a raw path
    lat = "c11_http_request_duration_seconds_count"
    assert _value(after, lat, method="GET", route=route) >= 1
    released = "c11_keyserver_releases_total"
    assert _value(after, released, result="allowed") - _value(before, released, result="allowed") == 1
    assert _value(after, "c11_log_size") > _value(before, "c11_log_size")
    assert _value(after, "c11_log_frozen") == 0 and _value(after, "c11_log_disagreeing_reports") == 0
    for status in ("queued", "sending", "sent", "dead"):
        assert ("c11_outbox_messages", (("status", status),)) in after
    assert (
        _value(after, "c11_outbox_messages", status="sent") + _value(after, "c11_outbox_messages", status="queued") >= 1
    )  # the sign-up's verification email


def test_metrics_token_and_proxies(fresh_server):
    srv = fresh_server(metrics_token="scrape-" + uuid.uuid4().hex)
    with anon(srv) as h:
        refused = h.get("/metrics")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:c11:problem:metrics-forbidden"
        assert h.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 403
        assert _samples(h, authorization=f"Bearer {srv.config.metrics_token}")
    open_srv = fresh_server()  # no token: loopback clients, but not through a proxy
    with anon(open_srv) as h:
        assert h.get("/metrics").status_code == 200
        assert h.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"}).status_code == 403


def test_readyz_not_ready_when_the_schema_is_behind(fresh_server):
    srv = fresh_server()
    engine = sa.create_engine(srv.config.database_url)
    try:
        with engine.begin() as c:  # as if an older release's database were put under this build
            head = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            c.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        with anon(srv) as h:
            r = h.get("/readyz")
            assert h.get("/healthz").status_code == 200  # alive, not ready
    finally:
        engine.dispose()
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:c11:problem:not-ready"
    assert problem["checks"] == {"database": "ok", "migrations": f"at 0001, this server needs {head}", "log_key": "ok"}
