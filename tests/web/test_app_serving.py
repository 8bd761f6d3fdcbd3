"""`c11 serve` serves the browser app: web/dist at /, app routes fall back to its page, the API and /docs
stay where they were, and every app response carries the security headers (strict CSP, no referrer, nosniff)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from srvkit import server_config, start_server

from c11.server.webapp import APP_ROUTES

CSP_PARTS = (
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
)


def _assert_secure(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    for part in CSP_PARTS:
        assert part in csp, (part, csp)
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp and "*" not in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_app_page_assets_and_headers(web_server):
    with httpx.Client(base_url=web_server.url) as h:
        index = h.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert '<div id="app">' in index.text
        _assert_secure(index)
        assert index.headers["cache-control"] == "no-cache"
        # the built page has no inline script or style: everything it loads is a file of its own origin
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index.text), index.text
        assert "<style" not in index.text and " style=" not in index.text
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.text)
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
        for path in assets:
            r = h.get(path)
            assert r.status_code == 200, path
            _assert_secure(r)
            assert r.headers["content-type"].startswith("text/javascript" if path.endswith(".js") else "text/css")
            assert "immutable" in r.headers["cache-control"]


@pytest.mark.parametrize("path", APP_ROUTES)
def test_app_routes_answer_the_app_page(web_server, path):
    with httpx.Client(base_url=web_server.url) as h:
        r = h.get(path)
        assert r.status_code == 200 and '<div id="app">' in r.text
        _assert_secure(r)


def test_api_docs_and_unknown_paths_stay_as_they_were(web_server):
    with httpx.Client(base_url=web_server.url) as h:
        assert h.get("/healthz").json()["status"] == "ok"
        assert h.get("/docs").status_code == 200  # Swagger UI: its own page, not the app's
        assert "/api/v1/accounts" in h.get("/openapi.json").json()["paths"]
        for path in (
            "/no/such/page",
            "/assets/no-such.js",
            "/assets/../../pyproject.toml",
            "/assets/%2e%2e/%2e%2e/pyproject.toml",
            "/api/v1/no-such-route",
        ):
            r = h.get(path)
            assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", path
        assert h.post("/", content=b"x").status_code == 405


def test_without_a_build_the_start_page_says_how_to_build(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("C11_WEB_DIST", str(tmp_path / "no-dist"))
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}"))
    try:
        r = httpx.get(server.url + "/")
        assert r.status_code == 503 and "npm run build" in r.text and "dev.py setup" in r.text
        assert "/docs" in r.text and str(tmp_path) not in r.text
        _assert_secure(r)
    finally:
        server.stop()


def test_the_shell_loads_under_the_csp(page, axe, narrow, screenshot):
    page.goto("/")
    page.get_by_role("heading", level=1).wait_for()
    assert page.title().startswith("c11")
    axe(page)
    screenshot(page, "home")
    narrow(page, "home")


def test_server_html_pages_carry_the_security_headers(web_server):
    """The server's own pages (the old-style verification link, the reset link's page) are as locked down as the app's."""
    from srvkit import http_signup, new_email, outbox_message, verification_link

    with httpx.Client(base_url=web_server.url) as h:
        addr = new_email("hdr")
        assert http_signup(h, addr).status_code == 201
        token = verification_link(outbox_message(web_server.data_dir, addr)).split("#token=", 1)[1]
        good = h.get("/api/v1/accounts/verify", params={"token": token})
        bad = h.get("/api/v1/accounts/verify", params={"token": "c11v_not-a-token"})
        reset = h.get("/api/v1/accounts/password-reset")
        assert good.status_code == 200 and addr in good.text
        assert bad.status_code >= 400 and reset.status_code == 200
        for page in (good, bad, reset):
            assert page.headers["content-type"].startswith("text/html")
            _assert_secure(page)
            assert page.headers["x-frame-options"] == "DENY"
